export * from "./prng.mjs";
export * from "./rows.mjs";
export * from "./edge.mjs";
export * as reference from "./reference.mjs";
