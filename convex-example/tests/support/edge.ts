/**
 * The simulated edge device of the sync-core tests: the shared one from @dink-convex/testkit (a
 * Yjs row document per docId in the row layout, producing `applyDeltaFromEdge` delta objects),
 * under the name these tests use.
 */
export { SimulatedEdge as Edge, buf, keysOf, viewOf } from "@dink-convex/testkit";
