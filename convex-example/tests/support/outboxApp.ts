/**
 * The example app under convex-test with the dink component and the `outboxFast` test module,
 * plus helpers to enqueue outbox rows directly and to wait in real time.
 */
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import { register } from "dink-convex/test";
import type {
  PendingItem,
  ProcessOutboxBatchArgs,
  ProcessOutboxBatchResult,
  ScheduleResult,
  UpdateItemStatusArgs,
  UpdateItemStatusResult,
} from "dink-convex";
import schema from "../../convex/schema";
import { modules } from "../harness";

export function makeOutboxTest() {
  const t = convexTest(schema, {
    ...modules,
    "../convex/outboxFast.ts": () => import("./outboxFast"),
  });
  register(t);
  return t;
}
export type OutboxTest = ReturnType<typeof makeOutboxTest>;

export const fast = {
  processOutboxBatch: makeFunctionReference<"action", ProcessOutboxBatchArgs, ProcessOutboxBatchResult>(
    "outboxFast:processOutboxBatch",
  ),
  updateItemStatus: makeFunctionReference<"mutation", UpdateItemStatusArgs, UpdateItemStatusResult>(
    "outboxFast:updateItemStatus",
  ),
  queryPendingItems: makeFunctionReference<"query", { limit?: number }, PendingItem[]>("outboxFast:queryPendingItems"),
  scheduleOutboxProcessing: makeFunctionReference<"mutation", { delayMs?: number }, ScheduleResult>(
    "outboxFast:scheduleOutboxProcessing",
  ),
};

/** Inserts `n` due outbox rows (as the sync core's enqueue does) and returns their event ids. */
export async function enqueue(t: OutboxTest, n: number, prefix = "evt"): Promise<string[]> {
  return await t.run(async (ctx) => {
    const ids: string[] = [];
    const now = Date.now();
    for (let i = 0; i < n; i += 1) {
      const eventId = `${prefix}-${String(i).padStart(4, "0")}`;
      await ctx.db.insert("sync_outbox", {
        eventId,
        collection: "tasks",
        docId: `task-${i % 37}`,
        delta: new Uint8Array([0, 0, 1, i % 251, 7]).buffer,
        version: i + 1,
        ...(i % 3 === 0 ? { originEdgeId: "edge-a" } : {}),
        status: "pending",
        attempts: 0,
        nextAttemptAt: now,
        createdAt: now,
      });
      ids.push(eventId);
    }
    return ids;
  });
}

export async function outboxRows(t: OutboxTest) {
  return await t.run(async (ctx) => await ctx.db.query("sync_outbox").collect());
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `done()` holds (real time), then lets running scheduled functions finish. */
export async function waitUntil(t: OutboxTest, done: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error("waitUntil: timed out");
    await sleep(25);
  }
  await t.finishInProgressScheduledFunctions();
}

/** True when no row is pending or sending. */
export async function settled(t: OutboxTest): Promise<boolean> {
  const rows = await outboxRows(t);
  return rows.every((r) => r.status === "sent" || r.status === "dead");
}
