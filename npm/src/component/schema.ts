/**
 * The component's own tables. The hot-path sync tables live in the app (client/tables.ts); these
 * are written at most once per outbox batch or per operator action.
 */
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

/** Where a dead letter came from. */
export const deadLetterSource = v.union(v.literal("outbox"), v.literal("ingest"));
export const deadLetterStatus = v.union(v.literal("dead"), v.literal("replayed"), v.literal("discarded"));
export const auditKind = v.union(v.literal("kick"), v.literal("revoke"));

/** What is needed to deliver or apply the delta again. */
export const deadLetterFields = {
  source: deadLetterSource,
  /** Outbox event id (source "outbox") or the edge's op id (source "ingest"). */
  eventId: v.string(),
  collection: v.string(),
  docId: v.string(),
  /** Yjs update v2. */
  delta: v.bytes(),
  version: v.optional(v.number()),
  /** The edge that produced the delta, if any. */
  edgeId: v.optional(v.string()),
  /** Why it was given up: the last error (e.g. "HTTP 400: ...", "VALIDATION_ERROR: title"). */
  reason: v.string(),
  attempts: v.number(),
};

export default defineSchema({
  /** Monotonic counters, one row per name (e.g. "outbox.delivered"). */
  metrics: defineTable({
    name: v.string(),
    value: v.number(),
    updatedAt: v.number(),
  }).index("by_name", ["name"]),

  /** Operator actions on edges, with reasons. */
  audit: defineTable({
    kind: auditKind,
    /** The edge id (kick) or key id (revoke). */
    subject: v.string(),
    reason: v.optional(v.string()),
    actor: v.optional(v.string()),
    at: v.number(),
  })
    .index("by_at", ["at"])
    .index("by_kind_at", ["kind", "at"]),

  deadLetters: defineTable({
    ...deadLetterFields,
    status: deadLetterStatus,
    createdAt: v.number(),
    resolvedAt: v.optional(v.number()),
  })
    .index("by_status_created", ["status", "createdAt"])
    .index("by_event", ["eventId"]),
});
