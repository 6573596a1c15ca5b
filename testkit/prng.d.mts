/** mulberry32: a seeded PRNG; the same seed gives the same sequence of floats in [0, 1). */
export declare function prng(seed: number): () => number;
