/**
 * Outbox delivery against a real HTTP server on 127.0.0.1 standing in for dinkd's convex-push
 * (docs/protocol.md). Real timers throughout: the recipe warns that fake timers fire the HTTP
 * client's timeouts behind an action's back. Timings come from `support/outboxFast.ts`
 * (4 attempts, 20-80 ms backoff, 1 s lease, 300 ms request timeout).
 */
import { describe, expect, test, vi } from "vitest";
import { validateConvexPushBody } from "dink-convex/protocol";
import { components, internal } from "../convex/_generated/api";
import { makeTest } from "./harness";
import {
  enqueue,
  fast,
  makeOutboxTest,
  outboxRows,
  settled,
  sleep,
  waitUntil,
  type OutboxTest,
} from "./support/outboxApp";
import { withSinkEnv, type Reply, type Sink } from "./support/sink";
import { prng } from "@dink-convex/testkit";

let sink: Sink;
withSinkEnv((s) => (sink = s));

async function metric(t: OutboxTest, name: string): Promise<number> {
  const [row] = await t.query(components.dink.metrics.read, { names: [name] });
  return row?.value ?? 0;
}

describe("delivery", () => {
  test("the seed's processOutboxBatch pushes a batch with the bearer key and the documented body", async () => {
    const t = makeTest();
    const ids = await enqueue(t as unknown as OutboxTest, 3);
    const result = await t.action(internal.outboxProcessor.processOutboxBatch, {});
    expect(result).toMatchObject({ status: "delivered", pushed: 3, delivered: 3 });
    expect(sink.requests).toHaveLength(1);
    const [req] = sink.requests;
    expect(req?.path).toBe("/api/sync/convex-push");
    expect(req?.authorization).toBe("Bearer test-sync-key");
    const body = validateConvexPushBody(req?.body as never);
    expect(body.events.map((e) => e.event_id)).toEqual(ids);
    expect(body.events[0]).toMatchObject({
      collection: "tasks",
      doc_id: "task-0",
      format: 2,
      version: 1,
      origin_edge_id: "edge-a",
    });
    expect(body.events[1]?.origin_edge_id).toBeUndefined();
    expect(atob(body.events[0]!.delta)).toBe(String.fromCharCode(0, 0, 1, 0, 7));
    const rows = await t.run(async (ctx) => await ctx.db.query("sync_outbox").collect());
    expect(rows.map((r) => r.status)).toEqual(["sent", "sent", "sent"]);
    expect(rows.every((r) => r.leaseToken === null && typeof r.finishedAt === "number")).toBe(true);
    const [delivered] = await t.query(components.dink.metrics.read, { names: ["outbox.delivered"] });
    expect(delivered?.value).toBe(3);
    await t.finishInProgressScheduledFunctions();
  });

  test("DINK_URL is the alias of DINK_HTTP_URL", async () => {
    vi.stubEnv("DINK_HTTP_URL", "");
    vi.stubEnv("DINK_URL", `${sink.url}/`);
    const t = makeOutboxTest();
    await enqueue(t, 1);
    expect(await t.action(fast.processOutboxBatch, {})).toMatchObject({ status: "delivered", delivered: 1 });
    expect(sink.requests[0]?.path).toBe("/api/sync/convex-push");
  });

  for (const missing of ["DINK_APP_SYNC_KEY", "DINK_HTTP_URL"]) {
    test(`without ${missing} items wait: nothing claimed, no attempt burned`, async () => {
      vi.stubEnv(missing, "");
      const t = makeOutboxTest();
      await enqueue(t, 2);
      const result = await t.action(fast.processOutboxBatch, {});
      expect(result.status).toBe("not_configured");
      expect(result.message).toBe(`${missing} environment variable is not configured`);
      expect(sink.requests).toHaveLength(0);
      const rows = await outboxRows(t);
      expect(rows.map((r) => [r.status, r.attempts])).toEqual([
        ["pending", 0],
        ["pending", 0],
      ]);
      // Once configured, the same items go out.
      vi.stubEnv(missing, missing === "DINK_HTTP_URL" ? sink.url : "test-sync-key");
      expect(await t.action(fast.processOutboxBatch, {})).toMatchObject({ delivered: 2 });
    });
  }
});

describe("retries and dead letters", () => {
  test("5xx is retried with backoff and then delivered with the same event id", async () => {
    const t = makeOutboxTest();
    const [id] = await enqueue(t, 1);
    sink.reply = (r) => ({ status: r.index === 0 ? 503 : 200 });
    const before = Date.now();
    const first = await t.action(fast.processOutboxBatch, {});
    expect(first).toMatchObject({ pushed: 1, retried: 1, delivered: 0 });
    const [row] = await outboxRows(t);
    expect(row).toMatchObject({ status: "pending", attempts: 1 });
    expect(row?.lastError).toMatch(/^HTTP 503/);
    // Backoff of attempt 1 is within [0, baseDelayMs = 20 ms].
    expect(row!.nextAttemptAt).toBeGreaterThanOrEqual(before);
    expect(row!.nextAttemptAt).toBeLessThanOrEqual(Date.now() + 20);
    // The drain scheduled its own wake-up for the retry.
    await waitUntil(t, () => settled(t));
    expect(sink.requests.map((r) => r.body.events[0]?.event_id)).toEqual([id, id]);
    expect((await outboxRows(t))[0]).toMatchObject({ status: "sent", attempts: 2 });
    expect(await metric(t, "outbox.retried")).toBe(1);
    expect(await metric(t, "outbox.delivered")).toBe(1);
  });

  test("a timeout counts as a transient failure and is retried", async () => {
    const t = makeOutboxTest();
    await enqueue(t, 2);
    sink.reply = (r) => (r.index === 0 ? "hang" : { status: 200 });
    const started = Date.now();
    const first = await t.action(fast.processOutboxBatch, {});
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(first).toMatchObject({ pushed: 2, retried: 2 });
    expect((await outboxRows(t))[0]?.lastError).toBe("timeout after 300 ms");
    await waitUntil(t, () => settled(t));
    expect((await outboxRows(t)).map((r) => r.status)).toEqual(["sent", "sent"]);
    expect(sink.delivered.sort()).toEqual(["evt-0000", "evt-0001"]);
  });

  test("a 4xx is permanent: dead at once, with a dead letter carrying the reason and payload", async () => {
    const t = makeOutboxTest();
    const [id] = await enqueue(t, 1);
    sink.reply = () => ({ status: 400 });
    const result = await t.action(fast.processOutboxBatch, {});
    expect(result).toMatchObject({ pushed: 1, dead: 1, retried: 0 });
    expect((await outboxRows(t))[0]).toMatchObject({ status: "dead", attempts: 1 });
    const letters = await t.query(components.dink.deadLetters.list, {});
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      source: "outbox",
      eventId: id,
      collection: "tasks",
      docId: "task-0",
      status: "dead",
      attempts: 1,
      edgeId: "edge-a",
    });
    expect(letters[0]?.reason).toBe("HTTP 400: TEST: status 400");
    expect([...new Uint8Array(letters[0]!.delta)]).toEqual([0, 0, 1, 0, 7]);
    expect(await metric(t, "outbox.dead")).toBe(1);
    await t.finishInProgressScheduledFunctions();
  });

  test("408 and 429 are transient, not permanent", async () => {
    const t = makeOutboxTest();
    await enqueue(t, 1);
    sink.reply = (r) => ({ status: [408, 429][r.index] ?? 200 });
    await t.action(fast.processOutboxBatch, {});
    expect((await outboxRows(t))[0]?.status).toBe("pending");
    await waitUntil(t, () => settled(t));
    expect((await outboxRows(t))[0]).toMatchObject({ status: "sent", attempts: 3 });
  });

  test("exhausted attempts go dead with a dead letter", async () => {
    const t = makeOutboxTest();
    const [id] = await enqueue(t, 1);
    sink.reply = () => ({ status: 502 });
    await t.action(fast.processOutboxBatch, {});
    await waitUntil(t, () => settled(t));
    expect(sink.requests).toHaveLength(4);
    expect(new Set(sink.requests.map((r) => r.body.events[0]?.event_id))).toEqual(new Set([id]));
    expect((await outboxRows(t))[0]).toMatchObject({ status: "dead", attempts: 4 });
    const letters = await t.query(components.dink.deadLetters.list, { source: "outbox" });
    expect(letters.map((l) => [l.eventId, l.attempts, l.reason.slice(0, 8)])).toEqual([[id, 4, "HTTP 502"]]);
  });
});

describe("leases and drains", () => {
  test("a crashed action's lease expires and the item is delivered again with the same event id", async () => {
    const t = makeOutboxTest();
    const [id] = await enqueue(t, 1);
    // A drain claims the item (and pushes it, as dinkd may have received it) and then dies.
    const crashed = await t.mutation(fast.updateItemStatus, {
      op: "claim",
      drainToken: "crashed-drain",
      leaseToken: "crashed-lease",
    });
    expect(crashed.claimed.map((c) => c.eventId)).toEqual([id]);
    // While its leases run, nobody else may drain or claim.
    expect(await t.action(fast.processOutboxBatch, {})).toMatchObject({ status: "busy" });
    await sleep(1_050);
    const retry = await t.action(fast.processOutboxBatch, {});
    expect(retry).toMatchObject({ status: "delivered", delivered: 1 });
    expect(sink.requests.map((r) => r.body.events.map((e) => e.event_id))).toEqual([[id]]);
    const [row] = await outboxRows(t);
    expect(row).toMatchObject({ status: "sent", attempts: 2 });
    // The crashed drain's late report is refused by the state machine and changes nothing.
    const late = await t.mutation(fast.updateItemStatus, {
      op: "settle",
      drainToken: "crashed-drain",
      leaseToken: "crashed-lease",
      results: [{ eventId: id!, delivered: false, error: "late" }],
    });
    expect(late).toMatchObject({ stale: 1, retried: 0, delivered: 0 });
    expect((await outboxRows(t))[0]).toMatchObject({ status: "sent", attempts: 2 });
    await t.finishInProgressScheduledFunctions();
  });

  test("the cron and the self-scheduling drain never process an item twice at once", async () => {
    const t = makeOutboxTest();
    const ids = await enqueue(t, 300);
    sink.reply = () => ({ status: 200, delayMs: 30 });
    // A trigger starts the self-scheduling drain...
    expect(await t.mutation(fast.scheduleOutboxProcessing, {})).toEqual({ scheduled: true });
    // ...a second trigger finds it running...
    expect(await t.mutation(fast.scheduleOutboxProcessing, {})).toEqual({ scheduled: false });
    // ...and the safety-net cron fires over and over while it runs.
    const cronResults: string[] = [];
    await waitUntil(t, async () => {
      cronResults.push((await t.action(fast.processOutboxBatch, {})).status);
      return await settled(t);
    });
    expect(cronResults).toContain("busy");
    // Never two pushes at once, never one event in two pushes at once...
    expect(sink.maxInFlight).toBe(1);
    expect(sink.maxEventInFlight).toBe(1);
    // ...and every item delivered. On a loaded machine a batch can outlive this test's 1 s
    // lease and be delivered again (at-least-once, same event id), so exact counts are only
    // lower bounds: 300 items in batches of 50.
    expect([...new Set(sink.delivered)].sort()).toEqual(ids);
    expect(sink.requests.length).toBeGreaterThanOrEqual(6);
  });
});

test("1,000 items under seeded random failures: none lost, none sent twice at once", async () => {
  const t = makeOutboxTest();
  const ids = await enqueue(t, 1000);
  // A seeded generator (@dink-convex/testkit prng), so a failure here replays exactly.
  const random = prng(0xd1c0);
  // The first requests go through every kind of failure; then the seeded draws take over.
  const opening: Reply[] = [{ status: 503 }, "hang", { status: 500 }, { status: 422 }];
  sink.reply = (request) => {
    const scripted = opening[request.index];
    if (scripted !== undefined) return scripted;
    const r = random();
    if (r < 0.4) return { status: 503 };
    if (r < 0.45) return { status: 500, delayMs: 10 };
    if (r < 0.48) return "hang";
    if (r < 0.55) return { status: 422 };
    return { status: 200, delayMs: Math.floor(random() * 5) };
  };
  await t.mutation(fast.scheduleOutboxProcessing, {});
  await waitUntil(
    t,
    async () => {
      // The cron keeps firing too.
      await t.action(fast.processOutboxBatch, {});
      return await settled(t);
    },
    120_000,
  );
  const rows = await outboxRows(t);
  expect(rows).toHaveLength(1000);
  const sent = rows.filter((r) => r.status === "sent").map((r) => r.eventId);
  const dead = rows.filter((r) => r.status === "dead").map((r) => r.eventId);
  expect(sent.length + dead.length).toBe(1000);
  const delivered = new Set(sink.delivered);
  for (const id of sent) expect(delivered.has(id)).toBe(true);
  const letters = await t.query(components.dink.deadLetters.list, { limit: 1000 });
  expect(new Set(letters.map((l) => l.eventId))).toEqual(new Set(dead));
  expect(letters).toHaveLength(dead.length);
  // Every event id was pushed at least once, and never in two requests at once.
  const pushed = new Set(sink.requests.flatMap((r) => r.body.events.map((e) => e.event_id)));
  expect([...pushed].sort()).toEqual(ids);
  expect(sink.maxEventInFlight).toBe(1);
  expect(sink.maxInFlight).toBe(1);
  expect(dead.length).toBeGreaterThan(0);
  expect(await metric(t, "outbox.delivered")).toBe(sent.length);
  expect(await metric(t, "outbox.dead")).toBe(dead.length);
}, 180_000);
