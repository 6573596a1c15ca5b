/**
 * `createOutboxProcessor`: the four internal functions the seed's `convex/outboxProcessor.ts`
 * exports. They deliver `sync_outbox` rows to dinkd's convex-push:
 *
 * - `processOutboxBatch` (action): one drain step. Takes the drain lease, claims a batch in one
 *   mutation, POSTs it, records the outcomes in one mutation, and schedules its own next step
 *   while work is due (or a wake-up for the earliest backoff). Called by the cron
 *   (`createSyncCrons`), by `scheduleOutboxProcessing` and by itself; with `{ purge: true }` it
 *   runs the retention purge instead.
 * - `updateItemStatus` (mutation): every state change of outbox rows, as one operation per call:
 *   claim, settle, release, purge, and the app-side half of a dead letter's replay / discard.
 * - `queryPendingItems` (query): rows not yet delivered, for dashboards and tests.
 * - `scheduleOutboxProcessing` (mutation): starts a drain unless one is running; triggers call it
 *   after enqueueing.
 *
 * Delivery is at least once: a drain that crashes after pushing leaves its rows leased until
 * the lease lapses, then the next drain pushes them again with the same event ids (dinkd
 * dedupes on them).
 */
import type {
  ActionBuilder,
  GenericActionCtx,
  MutationBuilder,
  QueryBuilder,
  RegisteredAction,
  RegisteredMutation,
  RegisteredQuery,
} from "convex/server";
import { readDinkGatewayConfig } from "../env.js";
import { acquireDrain, claimWake, holdsDrain, releaseDrain } from "./drain.js";
import { countBatch, deadLetterRows, discardDeadLetter, replayDeadLetter } from "./deadLetters.js";
import { resolveOutboxOptions, type OutboxOptions, type ResolvedOutboxOptions } from "./policy.js";
import { purgeDeltaLog } from "../sync/retention.js";
import { pushBatch } from "./push.js";
import { claimBatch, nextWork, purgeSent, settleBatch } from "./store.js";
import {
  processOutboxBatchArgs,
  queryPendingItemsArgs,
  scheduleOutboxProcessingArgs,
  updateItemStatusArgs,
} from "./validators.js";
import {
  emptyResult,
  outboxRefs,
  type OutboxInternalApi,
  type OutboxRefs,
  type PendingItem,
  type ProcessOutboxBatchArgs,
  type ProcessOutboxBatchResult,
  type ScheduleResult,
  type SyncDataModel,
  type SyncMutationCtx,
  type UpdateItemStatusArgs,
  type UpdateItemStatusResult,
} from "./types.js";

/**
 * The app's builders from `./_generated/server`. Typed as "any one-argument function" rather than
 * `MutationBuilder<DataModel, ...>`: a generic factory would make TypeScript check the call's
 * arguments (including `internal`) to type the seed's `export const {...} = createOutboxProcessor(...)`,
 * and the app's `api.ts` derives `internal` from that very module, a circular type. A single
 * non-generic signature with an explicit return type is typed without looking at the arguments.
 */
export interface OutboxProcessorBuilders {
  internalAction: (definition: never) => unknown;
  internalMutation: (definition: never) => unknown;
  internalQuery: (definition: never) => unknown;
  /**
   * The app's generated `internal` (only `internal.outboxProcessor` is used; a missing or renamed
   * module is a type error here). Not circular although the app's `api.d.ts` derives `internal`
   * from these very functions: the factory's single non-generic signature types its result
   * without looking at the arguments, which TypeScript checks afterwards.
   */
  internal: OutboxInternalApi;
}

export interface OutboxProcessor {
  processOutboxBatch: RegisteredAction<"internal", ProcessOutboxBatchArgs, Promise<ProcessOutboxBatchResult>>;
  queryPendingItems: RegisteredQuery<"internal", { limit?: number }, Promise<PendingItem[]>>;
  updateItemStatus: RegisteredMutation<"internal", UpdateItemStatusArgs, Promise<UpdateItemStatusResult>>;
  scheduleOutboxProcessing: RegisteredMutation<"internal", { delayMs?: number }, Promise<ScheduleResult>>;
}

function need<T>(value: T | undefined, op: string, name: string): T {
  if (value === undefined) throw new Error(`updateItemStatus: op "${op}" needs ${name}`);
  return value;
}

/** Unique enough for lease tokens: a claim never reuses the token of the lease it takes over. */
function newToken(): string {
  return crypto.randomUUID();
}

/**
 * After a drain step: continue at once while work is due (keeping the lease), otherwise free
 * the lease and make sure a wake-up is scheduled for the earliest waiting item.
 */
async function continueOrRest(
  ctx: SyncMutationCtx,
  refs: OutboxRefs,
  drainToken: string,
  now: number,
  options: ResolvedOutboxOptions,
): Promise<boolean> {
  if (!(await holdsDrain(ctx, drainToken, now))) return false;
  const { dueNow, wakeAt } = await nextWork(ctx, now);
  if (dueNow) {
    await acquireDrain(ctx, drainToken, now, options.drainLeaseMs);
    await ctx.scheduler.runAfter(0, refs.processOutboxBatch, { drainToken });
    return true;
  }
  await releaseDrain(ctx, drainToken);
  if (wakeAt !== null && (await claimWake(ctx, wakeAt, now))) {
    await ctx.scheduler.runAt(wakeAt, refs.processOutboxBatch, { wokeAt: wakeAt });
  }
  return false;
}

async function updateItemStatusHandler(
  ctx: SyncMutationCtx,
  args: UpdateItemStatusArgs,
  refs: OutboxRefs,
  options: ResolvedOutboxOptions,
): Promise<UpdateItemStatusResult> {
  const now = Date.now();
  const out = emptyResult();
  switch (args.op) {
    case "claim": {
      const drainToken = need(args.drainToken, args.op, "drainToken");
      const leaseToken = need(args.leaseToken, args.op, "leaseToken");
      if (!(await acquireDrain(ctx, drainToken, now, options.drainLeaseMs, args.wokeAt))) {
        out.status = "busy";
        return out;
      }
      const claim = await claimBatch(ctx, leaseToken, now, options);
      out.claimed = claim.claimed;
      out.dead = claim.dead.length;
      await deadLetterRows(ctx, claim.dead, options);
      await countBatch(ctx, { "outbox.dead": out.dead }, options);
      if (claim.claimed.length === 0) {
        out.more = await continueOrRest(ctx, refs, drainToken, now, options);
      }
      return out;
    }
    case "settle": {
      const drainToken = need(args.drainToken, args.op, "drainToken");
      const leaseToken = need(args.leaseToken, args.op, "leaseToken");
      const settled = await settleBatch(ctx, leaseToken, args.results ?? [], now, options);
      await deadLetterRows(ctx, settled.dead, options);
      out.delivered = settled.delivered;
      out.retried = settled.retried;
      out.dead = settled.dead.length;
      out.stale = settled.stale;
      await countBatch(
        ctx,
        {
          "outbox.batches": 1,
          "outbox.delivered": out.delivered,
          "outbox.retried": out.retried,
          "outbox.dead": out.dead,
          "outbox.stale": out.stale,
        },
        options,
      );
      out.more = await continueOrRest(ctx, refs, drainToken, now, options);
      return out;
    }
    case "release": {
      await releaseDrain(ctx, need(args.drainToken, args.op, "drainToken"));
      return out;
    }
    case "purge": {
      const sent = await purgeSent(ctx, now, options);
      const deltas = await purgeDeltaLog(ctx.db, now - options.deltaRetentionMs, options.purgeBatchSize);
      out.purged = sent.purged;
      out.deltasPurged = deltas.purged;
      out.more = sent.more || deltas.more;
      return out;
    }
    case "replay": {
      await replayDeadLetter(ctx, need(args.deadLetterId, args.op, "deadLetterId"), now, options);
      out.replayed = 1;
      await scheduleDrain(ctx, refs, now, options);
      return out;
    }
    case "discard": {
      await discardDeadLetter(ctx, need(args.deadLetterId, args.op, "deadLetterId"), options);
      return out;
    }
  }
}

/** Starts a drain unless one holds the lease (it will see the new work before it rests). */
async function scheduleDrain(
  ctx: SyncMutationCtx,
  refs: OutboxRefs,
  now: number,
  options: ResolvedOutboxOptions,
  delayMs = 0,
): Promise<boolean> {
  const drainToken = newToken();
  // The lease covers the wait for the scheduler too; if the run never starts, it lapses.
  if (!(await acquireDrain(ctx, drainToken, now, options.drainLeaseMs + delayMs))) return false;
  await ctx.scheduler.runAfter(delayMs, refs.processOutboxBatch, { drainToken });
  return true;
}

async function processBatch(
  ctx: GenericActionCtx<SyncDataModel>,
  args: ProcessOutboxBatchArgs,
  refs: OutboxRefs,
  options: ResolvedOutboxOptions,
): Promise<ProcessOutboxBatchResult> {
  const result: ProcessOutboxBatchResult = {
    status: "idle",
    pushed: 0,
    delivered: 0,
    retried: 0,
    dead: 0,
    purged: 0,
    deltasPurged: 0,
  };
  if (args.purge === true) {
    // Bounded loop: each mutation deletes one batch; the next hourly run finishes any rest.
    for (let i = 0; i < 20; i += 1) {
      const step = await ctx.runMutation(refs.updateItemStatus, { op: "purge" });
      result.purged += step.purged;
      result.deltasPurged += step.deltasPurged;
      if (!step.more) break;
    }
    result.status = "purged";
    return result;
  }
  const config = readDinkGatewayConfig();
  const drainToken = args.drainToken ?? newToken();
  if (!config.ok) {
    // Items wait untouched (no claim, no attempt burned) until the variables are set.
    console.error(`dink outbox: ${config.message}`);
    if (args.drainToken !== undefined) {
      await ctx.runMutation(refs.updateItemStatus, { op: "release", drainToken });
    }
    result.status = "not_configured";
    result.message = config.message;
    return result;
  }
  const leaseToken = newToken();
  const claimArgs: UpdateItemStatusArgs = { op: "claim", drainToken, leaseToken };
  if (args.wokeAt !== undefined) claimArgs.wokeAt = args.wokeAt;
  const claim = await ctx.runMutation(refs.updateItemStatus, claimArgs);
  result.dead += claim.dead;
  if (claim.status === "busy") {
    result.status = "busy";
    return result;
  }
  if (claim.claimed.length === 0) return result;
  const results = await pushBatch(claim.claimed, {
    httpUrl: config.httpUrl,
    appSyncKey: config.appSyncKey,
    timeoutMs: options.requestTimeoutMs,
  });
  const settled = await ctx.runMutation(refs.updateItemStatus, {
    op: "settle",
    drainToken,
    leaseToken,
    results,
  });
  result.status = "delivered";
  result.pushed = claim.claimed.length;
  result.delivered = settled.delivered;
  result.retried = settled.retried;
  result.dead += settled.dead;
  return result;
}

export function createOutboxProcessor(builders: OutboxProcessorBuilders, options?: OutboxOptions): OutboxProcessor {
  const resolved = resolveOutboxOptions(options);
  // The handlers only touch the internal sync tables, which `...internalSyncSchema` adds to
  // every app's schema; the app's own DataModel adds nothing they use.
  const internalAction = builders.internalAction as unknown as ActionBuilder<SyncDataModel, "internal">;
  const internalMutation = builders.internalMutation as unknown as MutationBuilder<SyncDataModel, "internal">;
  const internalQuery = builders.internalQuery as unknown as QueryBuilder<SyncDataModel, "internal">;
  // Looked up on use: the app's `internal` is a proxy that resolves any path.
  const refs = () => outboxRefs(builders.internal);

  const processOutboxBatch = internalAction({
    args: processOutboxBatchArgs,
    handler: async (ctx, args): Promise<ProcessOutboxBatchResult> => processBatch(ctx, args, refs(), resolved),
  });

  const updateItemStatus = internalMutation({
    args: updateItemStatusArgs,
    handler: async (ctx, args): Promise<UpdateItemStatusResult> => updateItemStatusHandler(ctx, args, refs(), resolved),
  });

  const queryPendingItems = internalQuery({
    args: queryPendingItemsArgs,
    handler: async (ctx, { limit }): Promise<PendingItem[]> => {
      const take = Math.max(1, Math.min(limit ?? 100, 1000));
      const out: PendingItem[] = [];
      for (const status of ["sending", "pending"] as const) {
        const rows = await ctx.db
          .query("sync_outbox")
          .withIndex("by_status_due", (q) => q.eq("status", status))
          .take(take - out.length);
        for (const row of rows) {
          out.push({
            eventId: row.eventId,
            collection: row.collection,
            docId: row.docId,
            status: row.status,
            attempts: row.attempts,
            nextAttemptAt: row.nextAttemptAt,
            leaseUntil: row.leaseUntil ?? null,
            lastError: row.lastError ?? null,
          });
        }
        if (out.length >= take) break;
      }
      return out;
    },
  });

  const scheduleOutboxProcessing = internalMutation({
    args: scheduleOutboxProcessingArgs,
    handler: async (ctx, { delayMs }): Promise<ScheduleResult> => ({
      scheduled: await scheduleDrain(ctx, refs(), Date.now(), resolved, Math.max(0, delayMs ?? 0)),
    }),
  });

  return {
    processOutboxBatch,
    queryPendingItems,
    updateItemStatus,
    scheduleOutboxProcessing,
  } as unknown as OutboxProcessor;
}
