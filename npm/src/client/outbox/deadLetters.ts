/**
 * Outbox <-> component glue: dead-lettering rows that went dead, per-batch metrics, and the
 * app-side half of a dead letter's replay or discard (the component cannot write app tables).
 */
import type { ResolvedOutboxOptions } from "./policy.js";
import { byEvent, deltaOf, transitionRow, type OutboxDoc } from "./store.js";
import type { SyncMutationCtx } from "./types.js";
import { dinkComponent } from "../component.js";

/**
 * Records one dead letter per row, with the row's last error as the reason. The row keeps a copy
 * of its delta from now on, so the delta log's purge (which only waits for undelivered items) can
 * go on, and a later replay still has the bytes.
 */
export async function deadLetterRows(
  ctx: SyncMutationCtx,
  rows: readonly OutboxDoc[],
  options: ResolvedOutboxOptions,
): Promise<void> {
  const dink = dinkComponent(options.componentName);
  for (const row of rows) {
    const delta = (await deltaOf(ctx, row)) ?? new ArrayBuffer(0);
    if (row.delta === undefined) await ctx.db.patch(row._id, { delta });
    const letter: {
      source: "outbox";
      eventId: string;
      collection: string;
      docId: string;
      delta: ArrayBuffer;
      version: number;
      reason: string;
      attempts: number;
      edgeId?: string;
    } = {
      source: "outbox",
      eventId: row.eventId,
      collection: row.collection,
      docId: row.docId,
      delta,
      version: row.version,
      reason: row.lastError ?? "unspecified error",
      attempts: row.attempts,
    };
    if (row.originEdgeId !== undefined) letter.edgeId = row.originEdgeId;
    await ctx.runMutation(dink.deadLetters.record, letter);
  }
}

/** One component call per batch with all of its counters (zeros are skipped there). */
export async function countBatch(
  ctx: SyncMutationCtx,
  counts: Record<string, number>,
  options: ResolvedOutboxOptions,
): Promise<void> {
  const list = Object.entries(counts)
    .filter(([, delta]) => delta !== 0)
    .map(([name, delta]) => ({ name, delta }));
  if (list.length === 0) return;
  await ctx.runMutation(dinkComponent(options.componentName).metrics.increment, { counts: list });
}

/**
 * Replays an outbox dead letter: marks it replayed in the component and puts the app's row back
 * to pending through the state machine (`replay`: attempts 0, due now, same event id, so dinkd
 * still dedupes). If the row was deleted meanwhile, it is re-inserted from the letter's payload.
 */
export async function replayDeadLetter(
  ctx: SyncMutationCtx,
  deadLetterId: string,
  now: number,
  options: ResolvedOutboxOptions,
): Promise<void> {
  const letter = await ctx.runMutation(dinkComponent(options.componentName).deadLetters.replay, {
    id: deadLetterId,
  });
  if (letter.source !== "outbox") {
    throw new Error(`dead letter ${deadLetterId} came from ingest; re-submit its delta to applyDeltaFromEdge`);
  }
  const row = await byEvent(ctx, letter.eventId);
  if (row === null) {
    const fresh: Omit<OutboxDoc, "_id" | "_creationTime"> = {
      eventId: letter.eventId,
      collection: letter.collection,
      docId: letter.docId,
      delta: letter.delta,
      version: letter.version ?? 0,
      status: "pending",
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
    };
    if (letter.edgeId !== undefined) fresh.originEdgeId = letter.edgeId;
    await ctx.db.insert("sync_outbox", fresh);
    return;
  }
  if (row.status === "dead" && (await transitionRow(ctx, row, { type: "replay", now }, options))) {
    return;
  }
  throw new Error(`outbox item ${letter.eventId} is ${row.status}, not dead; nothing to replay`);
}

/** Discards a dead letter and deletes the app's dead row (it will never be delivered). */
export async function discardDeadLetter(
  ctx: SyncMutationCtx,
  deadLetterId: string,
  options: ResolvedOutboxOptions,
): Promise<void> {
  const letter = await ctx.runMutation(dinkComponent(options.componentName).deadLetters.discard, {
    id: deadLetterId,
  });
  if (letter.source !== "outbox") return;
  const row = await byEvent(ctx, letter.eventId);
  if (row !== null && row.status === "dead") await ctx.db.delete(row._id);
}
