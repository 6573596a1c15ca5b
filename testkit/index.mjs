// @dink-convex/testkit: one support module for the tests, the demos and the benchmarks.
//   prng.mjs       the seeded PRNG (mulberry32)
//   rows.mjs       yjs row documents: layout, value conversion (the nested-Y-type rule), canonical
//                  forms, edits as v1/v2 updates, random values for property tests
//   reference.mjs  the engine's operations on yjs: the benchmark's comparison and a test oracle
//   edge.mjs       the simulated edge device
// `reference` is a namespace here (its names mirror the engine's); import "@dink-convex/testkit/reference"
// for the bare functions.

export * from "./prng.mjs";
export * from "./rows.mjs";
export * from "./edge.mjs";
export * as reference from "./reference.mjs";
