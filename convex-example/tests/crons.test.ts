/** The seed's crons: the outbox safety net and the retention purge (convex-test ignores crons,
 * so the jobs' definitions are checked and their targets called directly). */
import { expect, test } from "vitest";
import { getFunctionName } from "convex/server";
import { createSyncCrons } from "dink-convex";
import crons from "../convex/crons";
import { internal } from "../convex/_generated/api";
import { enqueue, fast, makeOutboxTest, outboxRows } from "./support/outboxApp";
import { withSinkEnv, type Sink } from "./support/sink";

let sink: Sink;
withSinkEnv((s) => (sink = s), "k");

test("the seed's crons.ts defines the drain every 30 s and an hourly purge", () => {
  const jobs = Object.values(crons.crons);
  expect(jobs.map((j) => [j.name, j.schedule, j.args])).toEqual([
    ["outboxProcessor:processOutboxBatch", { type: "interval", seconds: 30 }, [{}]],
    ["outboxProcessor:processOutboxBatch", { type: "interval", hours: 1 }, [{ purge: true }]],
  ]);
  expect(Object.keys(crons.crons)).toEqual(["dink outbox drain", "dink outbox retention purge"]);
  expect(getFunctionName(internal.outboxProcessor.processOutboxBatch)).toBe("outboxProcessor:processOutboxBatch");
});

test("createSyncCrons refuses an `internal` without the outbox functions", () => {
  expect(() => createSyncCrons({ internal: {} })).toThrow(/internal\.outboxProcessor\.processOutboxBatch/);
});

test("the drain job's target delivers due items", async () => {
  const t = makeOutboxTest();
  await enqueue(t, 4);
  expect(await t.action(fast.processOutboxBatch, {})).toMatchObject({ status: "delivered", delivered: 4 });
  expect(sink.delivered).toHaveLength(4);
  await t.finishInProgressScheduledFunctions();
});

test("the purge job deletes sent items older than the retention window, and nothing else", async () => {
  const t = makeOutboxTest();
  await enqueue(t, 6);
  // Retention in outboxFast is 60 s: two old sent, one recent sent, one old dead, two pending.
  const old = Date.now() - 120_000;
  await t.run(async (ctx) => {
    const rows = await ctx.db.query("sync_outbox").collect();
    const set = (i: number, status: "sent" | "dead", finishedAt: number) =>
      ctx.db.patch(rows[i]!._id, { status, finishedAt });
    await set(0, "sent", old);
    await set(1, "sent", old + 1);
    await set(2, "sent", Date.now());
    await set(3, "dead", old);
  });
  const result = await t.action(fast.processOutboxBatch, { purge: true });
  expect(result).toMatchObject({ status: "purged", purged: 2, pushed: 0 });
  const left = await outboxRows(t);
  expect(left.map((r) => [r.eventId, r.status])).toEqual([
    ["evt-0002", "sent"],
    ["evt-0003", "dead"],
    ["evt-0004", "pending"],
    ["evt-0005", "pending"],
  ]);
  expect(sink.requests).toHaveLength(0);
});
