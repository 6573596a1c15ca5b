/**
 * The skill doc's "Step 6: Set Up Triggers" file, verbatim but for the package name and the
 * import path of `_generated` (this module is mounted as `convex/functions.ts` in the test app),
 * plus one mutation written with the `mutation` it exports.
 */
import { createSyncTriggersWithHandlers } from "dink-convex";
import { customMutation } from "convex-helpers/server/customFunctions";
import { mutation as rawMutation, MutationCtx } from "../../convex/_generated/server";

// Create triggers for synced tables
const triggers = createSyncTriggersWithHandlers(["tasks", "projects"]);

// Custom mutation that applies triggers
export const mutation = customMutation(rawMutation, {
  args: {},
  input: async (ctx: MutationCtx, args: any) => {
    return { ctx: triggers.wrapDB(ctx), args };
  },
});

// Use this mutation export in your functions

import { v } from "convex/values";

export const insertTask = mutation({
  args: { id: v.string(), title: v.string() },
  handler: async (ctx, args) =>
    ctx.db.insert("tasks", { id: args.id, title: args.title, completed: false, timestamp: Date.now() }),
});

export const renameTask = mutation({
  args: { id: v.id("tasks"), title: v.string() },
  handler: async (ctx, args) => ctx.db.patch(args.id, { title: args.title }),
});
