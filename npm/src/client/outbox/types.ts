/**
 * Types shared by the outbox modules: the app data model of the internal sync tables, and the
 * references to the outbox functions the app exports (`internal.outboxProcessor.*`).
 */
import type { AnyApi, FunctionReference, GenericMutationCtx, GenericQueryCtx } from "convex/server";
import { OUTBOX_MODULE, OUTBOX_MODULE_HINT } from "./schedule.js";
import type { SyncDataModel } from "../schema/tables.js";

export type { SyncDataModel };
export type SyncMutationCtx = GenericMutationCtx<SyncDataModel>;
export type SyncQueryCtx = GenericQueryCtx<SyncDataModel>;

import type { ProcessOutboxBatchArgs, UpdateItemStatusArgs } from "./validators.js";
export type { ItemResult, OutboxOp, ProcessOutboxBatchArgs, UpdateItemStatusArgs } from "./validators.js";

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
  processOutboxBatch: FunctionReference<"action", "internal", ProcessOutboxBatchArgs, ProcessOutboxBatchResult>;
  updateItemStatus: FunctionReference<"mutation", "internal", UpdateItemStatusArgs, UpdateItemStatusResult>;
  queryPendingItems: FunctionReference<"query", "internal", { limit?: number }, PendingItem[]>;
  scheduleOutboxProcessing: FunctionReference<"mutation", "internal", { delayMs?: number }, ScheduleResult>;
}

/**
 * The app's generated `internal` as the outbox factories need it: the seed's module
 * `convex/outboxProcessor.ts` with its four functions. A renamed or missing module is a type error
 * where `internal` is passed. `AnyApi` is the untyped stub `npx convex dev --once` writes before
 * a deployment exists.
 *
 * Only the factories whose result is typed without looking at their arguments may take it (a
 * single non-generic signature: `const crons = createSyncCrons({ internal })`); TypeScript then
 * checks the argument after the app's api types are known, so it is not circular.
 */
export type OutboxInternalApi = { outboxProcessor: OutboxRefs } | AnyApi;

/** Reads `internal.outboxProcessor` from the `internal` the app passes. */
export function outboxRefs(internal: OutboxInternalApi | object): OutboxRefs {
  const refs = (internal as { outboxProcessor?: OutboxRefs }).outboxProcessor;
  if (refs === undefined) {
    throw new Error(`dink-convex: \`internal.${OUTBOX_MODULE}\` is missing; ${OUTBOX_MODULE_HINT}`);
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
