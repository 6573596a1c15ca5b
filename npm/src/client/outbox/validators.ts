/**
 * Argument validators of the outbox functions (`createOutboxProcessor`). The argument types the
 * drain code passes around are derived from them, so the two cannot drift.
 */
import type { Infer, ObjectType } from "convex/values";
import { v } from "convex/values";

/** One pushed item's outcome, reported by the drain action. */
export const itemResult = v.object({
  eventId: v.string(),
  delivered: v.boolean(),
  permanent: v.optional(v.boolean()),
  error: v.optional(v.string()),
});
export type ItemResult = Infer<typeof itemResult>;

/** `updateItemStatus` operations (one internal mutation, as the seed exports four functions). */
export const outboxOp = v.union(
  v.literal("claim"),
  v.literal("settle"),
  v.literal("release"),
  v.literal("purge"),
  v.literal("replay"),
  v.literal("discard"),
);
export type OutboxOp = Infer<typeof outboxOp>;

export const updateItemStatusArgs = {
  op: outboxOp,
  drainToken: v.optional(v.string()),
  leaseToken: v.optional(v.string()),
  /** Set by a scheduled wake-up run (see drain.ts). */
  wokeAt: v.optional(v.number()),
  results: v.optional(v.array(itemResult)),
  deadLetterId: v.optional(v.string()),
};
export type UpdateItemStatusArgs = ObjectType<typeof updateItemStatusArgs>;

export const processOutboxBatchArgs = {
  /** Set by the drain's own continuation; a run without it acquires the drain lease. */
  drainToken: v.optional(v.string()),
  /** Run the retention purge instead of a delivery batch (the hourly cron). */
  purge: v.optional(v.boolean()),
  /** Set when the run is the scheduled wake-up for the item due at this time. */
  wokeAt: v.optional(v.number()),
};
export type ProcessOutboxBatchArgs = ObjectType<typeof processOutboxBatchArgs>;

export const queryPendingItemsArgs = { limit: v.optional(v.number()) };
export const scheduleOutboxProcessingArgs = { delayMs: v.optional(v.number()) };
