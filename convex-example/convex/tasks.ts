// convex/tasks.ts
import { syncMutation } from "./syncSetup";
import { query } from "./_generated/server";
import { v } from "convex/values";
// Create a task - works just like normal mutation
export const create = syncMutation({
args: { title: v.string() },
handler: async (ctx, args) => {
// Normal ctx.db.insert - sync happens automatically!
// You must provide id (unique doc identifier) and timestamp (for sync ordering)
return await ctx.db.insert("tasks", {
id: crypto.randomUUID(),
title: args.title,
completed: false,
timestamp: Date.now(),
});
},
});
// Toggle completion
export const toggle = syncMutation({
args: { id: v.id("tasks") },
handler: async (ctx, args) => {
const task = await ctx.db.get(args.id);
if (!task) throw new Error("Task not found");
await ctx.db.patch(args.id, { completed: !task.completed });
},
});
// Delete a task
export const remove = syncMutation({
args: { id: v.id("tasks") },
handler: async (ctx, args) => {
await ctx.db.delete(args.id);
},
});
// convex/tasks.ts
// List all tasks
export const list = query({
handler: async (ctx) => {
return await ctx.db.query("tasks").collect();
},
});
// Get a single task
export const get = query({
args: { id: v.id("tasks") },
handler: async (ctx, args) => {
return await ctx.db.get(args.id);
},
});
