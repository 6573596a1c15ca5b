/**
 * dink-convex: the app-facing entry point ("dink-convex").
 *
 * For now it re-exports the engine wrapper ("dink-convex/engine"). The component's client
 * factories (createSyncMutations, schema helpers) will be added here next; the component
 * itself will be exposed through the "./convex.config", "./_generated/component.js" and
 * "./test" package exports.
 */
export * from "../engine/index.js";
