/**
 * Test-only Convex functions, registered beside the app's modules under `convex/dinkTestFns`:
 * syncMutation writes the seed's tasks.ts does not make (patch of several fields, replace,
 * a write then a throw, an untracked write) and createSyncMutations with options (schema
 * validation, an authorize hook).
 */
import { v } from "convex/values";
import { createSyncMutation, createSyncMutations } from "dink-convex";
import { mutation, query } from "../../convex/_generated/server";
import schema from "../../convex/schema";
import { syncMutation } from "../../convex/syncSetup";

/** A wrapper whose `internal` lacks the outbox module (as after renaming convex/outboxProcessor.ts). */
const withoutOutbox = createSyncMutation(mutation, ["tasks"], { getInternal: () => ({ dinkOutbox: {} }) });
export const insertTaskWithoutOutbox = withoutOutbox({
  args: { id: v.string() },
  handler: async (ctx, { id }) => ctx.db.insert("tasks", { id, title: "t", completed: false, timestamp: 1 }),
});

export const insertTask = syncMutation({
  args: { id: v.string(), title: v.string(), completed: v.boolean() },
  handler: async (ctx, args) => ctx.db.insert("tasks", { ...args, timestamp: Date.now() }),
});

export const patchTask = syncMutation({
  args: {
    id: v.id("tasks"),
    title: v.optional(v.string()),
    completed: v.optional(v.boolean()),
    timestamp: v.optional(v.number()),
  },
  handler: async (ctx, { id, ...patch }) => {
    await ctx.db.patch(id, patch);
  },
});

export const replaceTask = syncMutation({
  args: { id: v.id("tasks"), title: v.string(), completed: v.boolean() },
  handler: async (ctx, { id, ...rest }) => {
    const row = await ctx.db.get(id);
    if (!row) throw new Error("no row");
    await ctx.db.replace(id, { id: row.id, ...rest, timestamp: Date.now() });
  },
});

export const deleteTask = syncMutation({
  args: { id: v.id("tasks") },
  handler: async (ctx, { id }) => {
    await ctx.db.delete(id);
  },
});

export const insertThenThrow = syncMutation({
  args: { id: v.string() },
  handler: async (ctx, args) => {
    await ctx.db.insert("tasks", { id: args.id, title: "doomed", completed: false, timestamp: Date.now() });
    throw new Error("boom after the write");
  },
});

export const twoRows = syncMutation({
  args: { a: v.string(), b: v.string() },
  handler: async (ctx, { a, b }) => {
    await ctx.db.insert("tasks", { id: a, title: a, completed: false, timestamp: Date.now() });
    await ctx.db.insert("tasks", { id: b, title: b, completed: false, timestamp: Date.now() });
  },
});

/** A plain (untracked) mutation: Convex writes outside syncMutation make no delta. */
export const plainInsert = mutation({
  args: { id: v.string() },
  handler: async (ctx, args) => ctx.db.insert("tasks", { id: args.id, title: "plain", completed: false, timestamp: 1 }),
});

/** With the app's schema: rows are validated by the engine and errors name the field. */
export const strict = createSyncMutations({ mutation, query }, { schema });

/** An app rule for callers without the key: allowed when the args carry collection "tasks" and
 * the caller is signed in as "sync-admin". */
export const hooked = createSyncMutations(
  { mutation, query },
  {
    authorize: async (ctx, { args }) => {
      const identity = await ctx.auth.getUserIdentity();
      return identity?.subject === "sync-admin" && args.collection !== "forbidden";
    },
  },
);

export const strictApply = strict.applyDeltaFromEdge;
export const hookedApply = hooked.applyDeltaFromEdge;
export const hookedGetState = hooked.getDocumentState;
export const hookedList = hooked.listDocuments;
export const hookedPaginated = hooked.listDocumentsPaginated;
