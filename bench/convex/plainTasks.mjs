// The baseline for the trigger path: the example app's tasks.create and tasks.toggle written with
// a plain `mutation` (no syncMutation, no triggers, no CRDT). Same arguments, same handler bodies.
import { mutationGeneric } from "convex/server";
import { v } from "convex/values";

export const create = mutationGeneric({
  args: { title: v.string() },
  handler: async (ctx, args) => {
    return await ctx.db.insert("tasks", {
      id: crypto.randomUUID(),
      title: args.title,
      completed: false,
      timestamp: Date.now(),
    });
  },
});

export const toggle = mutationGeneric({
  args: { id: v.id("tasks") },
  handler: async (ctx, args) => {
    const task = await ctx.db.get(args.id);
    if (!task) throw new Error("Task not found");
    await ctx.db.patch(args.id, { completed: !task.completed });
  },
});
