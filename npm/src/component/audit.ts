/** The audit log of operator actions on edges (kick, key revocation), each with its reason. */
import { v } from "convex/values";
import { mutation, query } from "./_generated/server.js";
import { auditKind } from "./schema.js";

const auditEntry = v.object({
  id: v.string(),
  kind: auditKind,
  subject: v.string(),
  reason: v.optional(v.string()),
  actor: v.optional(v.string()),
  at: v.number(),
});

export const record = mutation({
  args: {
    kind: auditKind,
    subject: v.string(),
    reason: v.optional(v.string()),
    actor: v.optional(v.string()),
  },
  returns: v.string(),
  handler: async (ctx, args) => {
    return await ctx.db.insert("audit", { ...args, at: Date.now() });
  },
});

/** Newest first, optionally one kind only. */
export const list = query({
  args: { kind: v.optional(auditKind), limit: v.optional(v.number()) },
  returns: v.array(auditEntry),
  handler: async (ctx, { kind, limit }) => {
    const take = Math.max(1, Math.min(limit ?? 100, 1000));
    const rows =
      kind === undefined
        ? await ctx.db.query("audit").withIndex("by_at").order("desc").take(take)
        : await ctx.db
            .query("audit")
            .withIndex("by_kind_at", (q) => q.eq("kind", kind))
            .order("desc")
            .take(take);
    return rows.map(({ _id, _creationTime, ...rest }) => ({ id: _id, ...rest }));
  },
});
