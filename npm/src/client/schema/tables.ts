/**
 * Tables the sync engine keeps in the app's own namespace (`...internalSyncSchema`).
 *
 * They live beside the user tables, not in the component, because they are written in the same
 * transaction as the user write on every sync (the hot path): a component call per write would
 * add a cross-namespace function call to every mutation. The component (`app.use(dink)`) keeps
 * the control plane instead: metrics, the audit log and dead letters.
 */
import { defineTable, type DataModelFromSchemaDefinition, type SchemaDefinition } from "convex/server";
import { v } from "convex/values";

/** Number of catch-up feed shards. A collection's writes are spread over this many counter
 * rows (by document id), so concurrent writers to different documents rarely contend, while
 * each shard's sequence still commits in order (the counter read serialises its writers). */
export const FEED_SHARDS = 16;

/** Outbox item statuses, as the engine's state machine names them. */
export const outboxStatus = v.union(v.literal("pending"), v.literal("sending"), v.literal("sent"), v.literal("dead"));

/** A configuration value: a scalar or a flat record of scalars (typed, unlike `v.any()`, so
 * no `any` reaches the app's data model). */
const configScalar = v.union(v.string(), v.number(), v.boolean(), v.null());
export const configValue = v.union(configScalar, v.record(v.string(), configScalar));

export const internalSyncTables = {
  /** One row per synced document: its CRDT state (Yjs update v2) and bookkeeping. */
  sync_documents: defineTable({
    collection: v.string(),
    docId: v.string(),
    state: v.bytes(),
    stateVector: v.bytes(),
    deleted: v.boolean(),
    /** Per-document version, +1 on every change (applied delta or Convex write). */
    version: v.number(),
    updatedAt: v.number(),
  })
    .index("by_doc", ["collection", "docId"])
    .index("by_collection_updated", ["collection", "updatedAt"]),

  /** The delta log: every change as the normalized v2 delta, in per-shard commit order. */
  sync_deltas: defineTable({
    collection: v.string(),
    docId: v.string(),
    delta: v.bytes(),
    /** Feed shard (hash of docId) and its sequence number within the collection. */
    shard: v.number(),
    seq: v.number(),
    /** Document version after this delta. */
    version: v.number(),
    /** "convex" for Convex-side writes, else the edge id that sent it. */
    origin: v.string(),
    /** The edge's operation id (idempotency key); absent for Convex-side writes. */
    opId: v.optional(v.string()),
    createdAt: v.number(),
  })
    .index("by_feed", ["collection", "shard", "seq"])
    .index("by_doc", ["collection", "docId", "version"])
    // Idempotency is per edge: two edges may well number their operations alike.
    .index("by_op", ["origin", "opId"])
    .index("by_created", ["createdAt"]),

  /** Feed shard counters: the last sequence number given out per (collection, shard). */
  sync_feed_shards: defineTable({
    collection: v.string(),
    shard: v.number(),
    /** Last sequence number given out in this shard. */
    seq: v.number(),
    /** Compaction floor: last sequence number the retention purge deleted (absent = none). */
    floor: v.optional(v.number()),
  }).index("by_shard", ["collection", "shard"]),

  /** The transactional outbox: one row per delta to push to dinkd. */
  sync_outbox: defineTable({
    /** Stable event id (dinkd/NATS dedupe key, `Nats-Msg-Id`); never changes on retry. */
    eventId: v.string(),
    collection: v.string(),
    docId: v.string(),
    /**
     * The delta's bytes, only on rows that went dead, were re-queued from a dead letter, or
     * outlived their log row (the purge moves the bytes here). Otherwise the bytes live once, in
     * `sync_deltas` (same collection, docId and version), and the drain reads them from there.
     */
    delta: v.optional(v.bytes()),
    version: v.number(),
    /** Edge that produced the delta (not sent back to it); absent for Convex writes. */
    originEdgeId: v.optional(v.string()),
    status: outboxStatus,
    attempts: v.number(),
    nextAttemptAt: v.number(),
    leaseToken: v.optional(v.union(v.string(), v.null())),
    leaseUntil: v.optional(v.union(v.number(), v.null())),
    lastError: v.optional(v.union(v.string(), v.null())),
    finishedAt: v.optional(v.union(v.number(), v.null())),
    createdAt: v.number(),
  })
    .index("by_status_due", ["status", "nextAttemptAt"])
    .index("by_status_finished", ["status", "finishedAt"])
    .index("by_event", ["eventId"]),

  /** Edge sessions seen by the ingest path (last contact, last op). */
  sync_sessions: defineTable({
    edgeId: v.string(),
    lastSeenAt: v.number(),
    lastOpId: v.optional(v.string()),
    applied: v.number(),
    rejected: v.number(),
  }).index("by_edge", ["edgeId"]),

  /** Small key/value configuration and coordination rows (e.g. the outbox drain lease). */
  sync_config: defineTable({
    key: v.string(),
    value: configValue,
  }).index("by_key", ["key"]),
};

/** The data model of the sync tables alone (what the package code reads and writes). */
export type SyncDataModel = DataModelFromSchemaDefinition<SchemaDefinition<typeof internalSyncTables, true>>;
