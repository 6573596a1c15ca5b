/** mulberry32: a tiny seeded PRNG (see prng.mjs). */
export declare function prng(seed: number): () => number;
