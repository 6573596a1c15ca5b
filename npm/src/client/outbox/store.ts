/**
 * The outbox's database side: every status change of a `sync_outbox` row is one step of the
 * engine's state machine (`outboxTransition`), so the rules (leases, backoff, attempts, dead
 * letters) live in one tested place (crates/dink-core/src/outbox) and this file only loads,
 * applies and stores. Runs inside the `updateItemStatus` mutation.
 */
import type { DocumentByName } from "convex/server";
import { isEngineError, outboxTransition, type OutboxJson } from "../../engine/index.js";
import type { ResolvedOutboxOptions } from "./policy.js";
import type { ClaimedItem, ItemResult, SyncDataModel, SyncMutationCtx } from "./types.js";

export type OutboxDoc = DocumentByName<SyncDataModel, "sync_outbox">;

/** The state machine's view of a row (crates/dink-core/src/outbox/mod.rs, "Item"). */
export function itemJson(doc: OutboxDoc): OutboxJson {
  return {
    id: doc.eventId,
    status: doc.status,
    attempts: doc.attempts,
    nextAttemptAt: doc.nextAttemptAt,
    leaseToken: doc.leaseToken ?? null,
    leaseUntil: doc.leaseUntil ?? null,
    lastError: doc.lastError ?? null,
    finishedAt: doc.finishedAt ?? null,
  };
}

type OutboxPatch = Pick<
  OutboxDoc,
  "status" | "attempts" | "nextAttemptAt" | "leaseToken" | "leaseUntil" | "lastError" | "finishedAt"
>;

function patchOf(next: OutboxJson): OutboxPatch {
  const status = next.status;
  if (status !== "pending" && status !== "sending" && status !== "sent" && status !== "dead") {
    throw new Error(`outbox state machine returned an unknown status ${String(status)}`);
  }
  const num = (x: unknown) => (typeof x === "number" ? x : null);
  const str = (x: unknown) => (typeof x === "string" ? x : null);
  return {
    status,
    attempts: typeof next.attempts === "number" ? next.attempts : 0,
    nextAttemptAt: typeof next.nextAttemptAt === "number" ? next.nextAttemptAt : 0,
    leaseToken: str(next.leaseToken),
    leaseUntil: num(next.leaseUntil),
    lastError: str(next.lastError),
    finishedAt: num(next.finishedAt),
  };
}

/** A refusal means "someone else got there first": the row is left as it was. */
function isRefusal(error: unknown): boolean {
  return isEngineError(error, "INVALID_ARGUMENT") && error.message.includes("illegal outbox transition");
}

/**
 * Applies one event to a row and stores the result. Returns the new row, or null when the state
 * machine refused the transition (e.g. a stale lease token).
 */
export async function transitionRow(
  ctx: SyncMutationCtx,
  doc: OutboxDoc,
  event: OutboxJson,
  options: ResolvedOutboxOptions,
): Promise<OutboxDoc | null> {
  let next: OutboxJson;
  try {
    next = outboxTransition(itemJson(doc), event, options.policy as unknown as OutboxJson);
  } catch (error) {
    if (isRefusal(error)) return null;
    throw error;
  }
  const patch = patchOf(next);
  await ctx.db.patch(doc._id, patch);
  return { ...doc, ...patch };
}

/** Due pending rows first by due time, then sending rows whose lease ran out (crashed drains). */
async function claimCandidates(ctx: SyncMutationCtx, now: number, limit: number): Promise<OutboxDoc[]> {
  const expired: OutboxDoc[] = [];
  // Sending rows are few (at most a batch per live or crashed drain), so a bounded scan is cheap.
  for await (const doc of ctx.db.query("sync_outbox").withIndex("by_status_due", (q) => q.eq("status", "sending"))) {
    if (typeof doc.leaseUntil === "number" && doc.leaseUntil <= now) expired.push(doc);
    if (expired.length >= limit) break;
  }
  const pending = await ctx.db
    .query("sync_outbox")
    .withIndex("by_status_due", (q) => q.eq("status", "pending").lte("nextAttemptAt", now))
    .take(Math.max(0, limit - expired.length));
  return [...expired, ...pending];
}

/**
 * The item's delta: its own bytes (dead, re-queued, or moved here by the log purge), else the delta
 * log row of the same change. Null only if both are gone, which the purge prevents.
 */
export async function deltaOf(ctx: SyncMutationCtx, doc: OutboxDoc): Promise<ArrayBuffer | null> {
  if (doc.delta !== undefined) return doc.delta;
  const logged = await ctx.db
    .query("sync_deltas")
    .withIndex("by_doc", (q) => q.eq("collection", doc.collection).eq("docId", doc.docId).eq("version", doc.version))
    .unique();
  return logged?.delta ?? null;
}

/** The error of an item whose delta can no longer be found (it goes dead at once). */
export const MISSING_DELTA = "the delta of this change is no longer in sync_deltas (purged)";

export interface ClaimOutcome {
  claimed: ClaimedItem[];
  /** Rows that went dead at claim time (attempts used up), to dead-letter. */
  dead: OutboxDoc[];
}

/** Claims up to a batch of due rows under `leaseToken`. */
export async function claimBatch(
  ctx: SyncMutationCtx,
  leaseToken: string,
  now: number,
  options: ResolvedOutboxOptions,
): Promise<ClaimOutcome> {
  const out: ClaimOutcome = { claimed: [], dead: [] };
  for (const doc of await claimCandidates(ctx, now, options.batchSize)) {
    // An item with no attempts left cannot be claimed; `expire` dead-letters it.
    const exhausted = doc.attempts >= options.policy.maxAttempts;
    const event = exhausted ? { type: "expire", now } : { type: "claim", now, leaseToken };
    const next = await transitionRow(ctx, doc, event, options);
    if (next === null) continue;
    if (next.status === "dead") out.dead.push(next);
    else if (next.status === "sending") {
      const delta = await deltaOf(ctx, next);
      if (delta === null) {
        const failed = { type: "failed", now, leaseToken, permanent: true, error: MISSING_DELTA };
        const dead = await transitionRow(ctx, next, failed, options);
        if (dead?.status === "dead") out.dead.push(dead);
        continue;
      }
      const item: ClaimedItem = {
        eventId: next.eventId,
        collection: next.collection,
        docId: next.docId,
        delta,
        version: next.version,
        attempts: next.attempts,
      };
      if (next.originEdgeId !== undefined) item.originEdgeId = next.originEdgeId;
      out.claimed.push(item);
    }
  }
  return out;
}

export interface SettleOutcome {
  delivered: number;
  retried: number;
  stale: number;
  dead: OutboxDoc[];
}

async function byEvent(ctx: SyncMutationCtx, eventId: string): Promise<OutboxDoc | null> {
  return await ctx.db
    .query("sync_outbox")
    .withIndex("by_event", (q) => q.eq("eventId", eventId))
    .first();
}

/** Records each pushed item's outcome under the lease it was claimed with. */
export async function settleBatch(
  ctx: SyncMutationCtx,
  leaseToken: string,
  results: readonly ItemResult[],
  now: number,
  options: ResolvedOutboxOptions,
): Promise<SettleOutcome> {
  const out: SettleOutcome = { delivered: 0, retried: 0, stale: 0, dead: [] };
  for (const result of results) {
    const doc = await byEvent(ctx, result.eventId);
    if (doc === null) {
      out.stale += 1;
      continue;
    }
    const event = result.delivered
      ? { type: "delivered", now, leaseToken }
      : {
          type: "failed",
          now,
          leaseToken,
          permanent: result.permanent === true,
          error: result.error ?? "unspecified error",
        };
    const next = await transitionRow(ctx, doc, event, options);
    if (next === null) out.stale += 1;
    else if (next.status === "sent") out.delivered += 1;
    else if (next.status === "dead") out.dead.push(next);
    else out.retried += 1;
  }
  return out;
}

/** Whether a claim now would find work, and when the earliest waiting item comes due. */
export async function nextWork(ctx: SyncMutationCtx, now: number): Promise<{ dueNow: boolean; wakeAt: number | null }> {
  const firstPending = await ctx.db
    .query("sync_outbox")
    .withIndex("by_status_due", (q) => q.eq("status", "pending"))
    .first();
  let wakeAt = firstPending?.nextAttemptAt ?? null;
  for await (const doc of ctx.db.query("sync_outbox").withIndex("by_status_due", (q) => q.eq("status", "sending"))) {
    if (typeof doc.leaseUntil === "number" && (wakeAt === null || doc.leaseUntil < wakeAt)) {
      wakeAt = doc.leaseUntil;
    }
  }
  return { dueNow: wakeAt !== null && wakeAt <= now, wakeAt };
}

/** Deletes up to a batch of sent rows finished before the retention window. */
export async function purgeSent(
  ctx: SyncMutationCtx,
  now: number,
  options: ResolvedOutboxOptions,
): Promise<{ purged: number; more: boolean }> {
  const cutoff = now - options.retentionMs;
  const rows = await ctx.db
    .query("sync_outbox")
    .withIndex("by_status_finished", (q) => q.eq("status", "sent").lt("finishedAt", cutoff))
    .take(options.purgeBatchSize + 1);
  let purged = 0;
  for (const doc of rows.slice(0, options.purgeBatchSize)) {
    await ctx.db.delete(doc._id);
    purged += 1;
  }
  return { purged, more: rows.length > options.purgeBatchSize };
}

export { byEvent };
