/**
 * Types shared by the outbox modules: the app data model of the internal sync tables, and the
 * references to the outbox functions the app exports (`internal.outboxProcessor.*`).
 */
import type {
  DataModelFromSchemaDefinition,
  FunctionReference,
  GenericMutationCtx,
  GenericQueryCtx,
  SchemaDefinition,
} from "convex/server";
import type { internalSyncTables } from "./tables.js";

export type SyncDataModel = DataModelFromSchemaDefinition<
  SchemaDefinition<typeof internalSyncTables, true>
>;
export type SyncMutationCtx = GenericMutationCtx<SyncDataModel>;
export type SyncQueryCtx = GenericQueryCtx<SyncDataModel>;

/** `updateItemStatus` operations (one internal mutation, as the seed exports four functions). */
export type OutboxOp = "claim" | "settle" | "release" | "purge" | "replay" | "discard";

/** One pushed item's outcome, reported by the drain action. */
export type ItemResult = {
  eventId: string;
  delivered: boolean;
  permanent?: boolean;
  error?: string;
};

export type UpdateItemStatusArgs = {
  op: OutboxOp;
  drainToken?: string;
  leaseToken?: string;
  /** Set by a scheduled wake-up run (see outboxDrain.ts). */
  wokeAt?: number;
  results?: ItemResult[];
  deadLetterId?: string;
};

/** A claimed item with its payload, as the action pushes it. */
export interface ClaimedItem {
  eventId: string;
  collection: string;
  docId: string;
  delta: ArrayBuffer;
  version: number;
  originEdgeId?: string;
  attempts: number;
}

export interface UpdateItemStatusResult {
  /** "busy": another drain holds the drain lease; nothing was claimed. */
  status: "ok" | "busy";
  claimed: ClaimedItem[];
  delivered: number;
  retried: number;
  dead: number;
  /** Outcomes refused by the state machine (the lease was taken over meanwhile). */
  stale: number;
  /** Sent outbox items deleted by a purge. */
  purged: number;
  /** Delta-log rows deleted by a purge (see feedRetention.ts). */
  deltasPurged: number;
  /** More work is due now (the drain continues) or, for purge, more old items remain. */
  more: boolean;
  replayed: number;
}

export type ProcessOutboxBatchArgs = {
  /** Set by the drain's own continuation; a run without it acquires the drain lease. */
  drainToken?: string;
  /** Run the retention purge instead of a delivery batch (the hourly cron). */
  purge?: boolean;
  /** Set when the run is the scheduled wake-up for the item due at this time. */
  wokeAt?: number;
};

export interface ProcessOutboxBatchResult {
  status: "delivered" | "idle" | "busy" | "not_configured" | "purged";
  pushed: number;
  delivered: number;
  retried: number;
  dead: number;
  /** Sent outbox items deleted by a purge run. */
  purged: number;
  /** Delta-log rows deleted by a purge run (changes past `deltaRetentionMs`). */
  deltasPurged: number;
  /** The configuration problem, when status is "not_configured". */
  message?: string;
}

export interface PendingItem {
  eventId: string;
  collection: string;
  docId: string;
  status: "pending" | "sending" | "sent" | "dead";
  attempts: number;
  nextAttemptAt: number;
  leaseUntil: number | null;
  lastError: string | null;
}

export interface ScheduleResult {
  scheduled: boolean;
}

/** The outbox functions as the app's `internal.outboxProcessor` names them. */
export interface OutboxRefs {
  processOutboxBatch: FunctionReference<
    "action",
    "internal",
    ProcessOutboxBatchArgs,
    ProcessOutboxBatchResult
  >;
  updateItemStatus: FunctionReference<
    "mutation",
    "internal",
    UpdateItemStatusArgs,
    UpdateItemStatusResult
  >;
  queryPendingItems: FunctionReference<"query", "internal", { limit?: number }, PendingItem[]>;
  scheduleOutboxProcessing: FunctionReference<
    "mutation",
    "internal",
    { delayMs?: number },
    ScheduleResult
  >;
}

/** Reads `internal.outboxProcessor` from the loosely typed `internal` the app passes. */
export function outboxRefs(internal: object): OutboxRefs {
  const refs = (internal as { outboxProcessor?: OutboxRefs }).outboxProcessor;
  if (refs === undefined) {
    throw new Error(
      "createOutboxProcessor: `internal.outboxProcessor` is missing; export the outbox functions from convex/outboxProcessor.ts",
    );
  }
  return refs;
}

export function emptyResult(): UpdateItemStatusResult {
  return {
    status: "ok",
    claimed: [],
    delivered: 0,
    retried: 0,
    dead: 0,
    stale: 0,
    purged: 0,
    deltasPurged: 0,
    more: false,
    replayed: 0,
  };
}
