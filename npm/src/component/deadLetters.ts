/**
 * Dead letters: outbox items that dinkd refused or that ran out of attempts (source "outbox"),
 * and edge deltas the ingest path rejected (source "ingest"). Each keeps the delta, so it can be
 * delivered or applied again after the cause is fixed.
 *
 * Replay: the component cannot write the app's tables, so `replay` only marks the letter
 * replayed and returns its payload. For an outbox letter, call the app's
 * `internal.outboxProcessor.updateItemStatus({ op: "replay", deadLetterId })`, which calls this
 * and puts the app's outbox item back to pending (same event id, attempts 0). For an ingest
 * letter, re-submit the returned delta to `applyDeltaFromEdge`.
 */
import { ConvexError, v, type Infer } from "convex/values";
import type { Doc } from "./_generated/dataModel.js";
import { mutation, query, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import { deadLetterFields, deadLetterSource, deadLetterStatus } from "./schema.js";

export const deadLetter = v.object({
  id: v.string(),
  ...deadLetterFields,
  status: deadLetterStatus,
  createdAt: v.number(),
  resolvedAt: v.optional(v.number()),
});
export type DeadLetter = Infer<typeof deadLetter>;

function toDeadLetter({ _id, _creationTime, ...rest }: Doc<"deadLetters">): DeadLetter {
  return { id: _id, ...rest };
}

async function load(ctx: QueryCtx | MutationCtx, id: string): Promise<Doc<"deadLetters">> {
  const docId = ctx.db.normalizeId("deadLetters", id);
  const row = docId === null ? null : await ctx.db.get(docId);
  if (row === null) {
    throw new ConvexError({ code: "NOT_FOUND", message: `dead letter ${id} does not exist` });
  }
  return row;
}

export const record = mutation({
  args: deadLetterFields,
  returns: v.string(),
  handler: async (ctx, args) => {
    return await ctx.db.insert("deadLetters", { ...args, status: "dead", createdAt: Date.now() });
  },
});

/** Newest first; by default the unresolved ("dead") ones. */
export const list = query({
  args: {
    status: v.optional(deadLetterStatus),
    source: v.optional(deadLetterSource),
    limit: v.optional(v.number()),
  },
  returns: v.array(deadLetter),
  handler: async (ctx, { status, source, limit }) => {
    const take = Math.max(1, Math.min(limit ?? 100, 1000));
    const out: DeadLetter[] = [];
    const rows = ctx.db
      .query("deadLetters")
      .withIndex("by_status_created", (q) => q.eq("status", status ?? "dead"))
      .order("desc");
    for await (const row of rows) {
      if (source !== undefined && row.source !== source) continue;
      out.push(toDeadLetter(row));
      if (out.length >= take) break;
    }
    return out;
  },
});

export const get = query({
  args: { id: v.string() },
  returns: v.union(deadLetter, v.null()),
  handler: async (ctx, { id }) => {
    const docId = ctx.db.normalizeId("deadLetters", id);
    const row = docId === null ? null : await ctx.db.get(docId);
    return row === null ? null : toDeadLetter(row);
  },
});

async function resolve(ctx: MutationCtx, id: string, status: "replayed" | "discarded"): Promise<DeadLetter> {
  const row = await load(ctx, id);
  if (row.status !== "dead") {
    throw new ConvexError({
      code: "CONFLICT",
      message: `dead letter ${id} is already ${row.status}`,
    });
  }
  const resolvedAt = Date.now();
  await ctx.db.patch(row._id, { status, resolvedAt });
  return toDeadLetter({ ...row, status, resolvedAt });
}

/** Marks the letter replayed and returns its payload for the app to deliver or apply again. */
export const replay = mutation({
  args: { id: v.string() },
  returns: deadLetter,
  handler: async (ctx, { id }) => resolve(ctx, id, "replayed"),
});

/** Gives up on the letter for good (it stays listed under status "discarded"). */
export const discard = mutation({
  args: { id: v.string() },
  returns: deadLetter,
  handler: async (ctx, { id }) => resolve(ctx, id, "discarded"),
});
