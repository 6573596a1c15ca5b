/**
 * Counters (delivered, retried, dead, batches, ...). Written once per outbox batch with all of
 * the batch's increments, so a busy outbox costs one component call per batch, not per item.
 */
import { v } from "convex/values";
import { mutation, query } from "./_generated/server.js";

const metricRow = v.object({ name: v.string(), value: v.number(), updatedAt: v.number() });

export const increment = mutation({
  args: { counts: v.array(v.object({ name: v.string(), delta: v.number() })) },
  returns: v.null(),
  handler: async (ctx, { counts }) => {
    const now = Date.now();
    for (const { name, delta } of counts) {
      if (delta === 0) continue;
      const row = await ctx.db
        .query("metrics")
        .withIndex("by_name", (q) => q.eq("name", name))
        .unique();
      if (row === null) await ctx.db.insert("metrics", { name, value: delta, updatedAt: now });
      else await ctx.db.patch(row._id, { value: row.value + delta, updatedAt: now });
    }
    return null;
  },
});

/** The named counters (all of them when `names` is omitted); missing names read as 0. */
export const read = query({
  args: { names: v.optional(v.array(v.string())) },
  returns: v.array(metricRow),
  handler: async (ctx, { names }) => {
    if (names === undefined) {
      const rows = await ctx.db.query("metrics").withIndex("by_name").collect();
      return rows.map(({ name, value, updatedAt }) => ({ name, value, updatedAt }));
    }
    const out = [];
    for (const name of names) {
      const row = await ctx.db
        .query("metrics")
        .withIndex("by_name", (q) => q.eq("name", name))
        .unique();
      out.push({ name, value: row?.value ?? 0, updatedAt: row?.updatedAt ?? 0 });
    }
    return out;
  },
});
