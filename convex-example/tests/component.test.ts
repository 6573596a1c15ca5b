/** The dink component: metrics, the audit log, dead letters (list/get/replay/discard), and the
 * app-side half of an outbox dead letter's replay and discard. */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { components } from "../convex/_generated/api";
import { enqueue, fast, makeOutboxTest, outboxRows, settled, waitUntil } from "./support/outboxApp";
import { startSink, type Sink } from "./support/sink";

const letter = (eventId: string, source: "outbox" | "ingest" = "outbox") => ({
  source,
  eventId,
  collection: "tasks",
  docId: "task-1",
  delta: new Uint8Array([1, 2, 3]).buffer,
  version: 2,
  reason: "HTTP 400: bad body",
  attempts: 1,
});

test("metrics: increments add up per name, reads of unknown names are 0", async () => {
  const t = makeOutboxTest();
  await t.mutation(components.dink.metrics.increment, {
    counts: [
      { name: "a", delta: 2 },
      { name: "b", delta: 1 },
    ],
  });
  await t.mutation(components.dink.metrics.increment, {
    counts: [
      { name: "a", delta: 3 },
      { name: "c", delta: 0 },
    ],
  });
  const read = await t.query(components.dink.metrics.read, { names: ["a", "b", "c"] });
  expect(read.map((m) => [m.name, m.value])).toEqual([
    ["a", 5],
    ["b", 1],
    ["c", 0],
  ]);
  const all = await t.query(components.dink.metrics.read, {});
  expect(all.map((m) => m.name)).toEqual(["a", "b"]);
});

test("audit: kick and revoke with reasons, newest first, filtered by kind", async () => {
  const t = makeOutboxTest();
  await t.mutation(components.dink.audit.record, { kind: "kick", subject: "edge-1", reason: "maintenance" });
  await t.mutation(components.dink.audit.record, {
    kind: "revoke",
    subject: "key-9",
    reason: "compromised",
    actor: "ops",
  });
  await t.mutation(components.dink.audit.record, { kind: "kick", subject: "edge-2" });
  const all = await t.query(components.dink.audit.list, {});
  expect(all.map((a) => [a.kind, a.subject])).toEqual([
    ["kick", "edge-2"],
    ["revoke", "key-9"],
    ["kick", "edge-1"],
  ]);
  const revokes = await t.query(components.dink.audit.list, { kind: "revoke" });
  expect(revokes).toHaveLength(1);
  expect(revokes[0]).toMatchObject({ subject: "key-9", reason: "compromised", actor: "ops" });
  await expect(t.mutation(components.dink.audit.record, { kind: "reboot" as never, subject: "x" })).rejects.toThrow();
  expect(await t.query(components.dink.audit.list, {})).toHaveLength(3);
});

describe("dead letters", () => {
  test("record, list (by status and source), get, replay and discard", async () => {
    const t = makeOutboxTest();
    const a = await t.mutation(components.dink.deadLetters.record, letter("evt-a"));
    const b = await t.mutation(components.dink.deadLetters.record, letter("op-b", "ingest"));
    expect((await t.query(components.dink.deadLetters.list, {})).map((l) => l.eventId)).toEqual(["op-b", "evt-a"]);
    expect((await t.query(components.dink.deadLetters.list, { source: "ingest" })).map((l) => l.id)).toEqual([b]);
    const got = await t.query(components.dink.deadLetters.get, { id: a });
    expect(got).toMatchObject({ id: a, status: "dead", reason: "HTTP 400: bad body", version: 2 });
    expect([...new Uint8Array(got!.delta)]).toEqual([1, 2, 3]);
    expect(await t.query(components.dink.deadLetters.get, { id: "not-an-id" })).toBeNull();

    const replayed = await t.mutation(components.dink.deadLetters.replay, { id: b });
    expect(replayed).toMatchObject({ eventId: "op-b", source: "ingest", status: "replayed" });
    await t.mutation(components.dink.deadLetters.discard, { id: a });
    expect(await t.query(components.dink.deadLetters.list, {})).toEqual([]);
    expect((await t.query(components.dink.deadLetters.list, { status: "discarded" })).map((l) => l.id)).toEqual([a]);
    // A resolved letter cannot be resolved again; nothing changes.
    await expect(t.mutation(components.dink.deadLetters.replay, { id: a })).rejects.toThrow(/already discarded/);
    await expect(t.mutation(components.dink.deadLetters.discard, { id: "nope" })).rejects.toThrow(/does not exist/);
    expect((await t.query(components.dink.deadLetters.get, { id: a }))?.status).toBe("discarded");
  });
});

describe("outbox dead letters, app side", () => {
  let sink: Sink;
  beforeEach(async () => {
    sink = await startSink(() => ({ status: 400 }));
    vi.stubEnv("DINK_HTTP_URL", sink.url);
    vi.stubEnv("DINK_APP_SYNC_KEY", "k");
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await sink.close();
  });

  test("replay puts the app's row back to pending (same event id, attempts 0) and it is delivered", async () => {
    const t = makeOutboxTest();
    const [id] = await enqueue(t, 1);
    await t.action(fast.processOutboxBatch, {});
    const [dead] = await t.query(components.dink.deadLetters.list, {});
    expect(dead?.eventId).toBe(id);
    sink.reply = () => ({ status: 200 });
    const res = await t.mutation(fast.updateItemStatus, { op: "replay", deadLetterId: dead!.id });
    expect(res.replayed).toBe(1);
    expect((await outboxRows(t))[0]).toMatchObject({ eventId: id, status: "pending", attempts: 0 });
    // The replay started a drain.
    await waitUntil(t, () => settled(t));
    expect((await outboxRows(t))[0]?.status).toBe("sent");
    expect(sink.delivered).toEqual([id]);
    expect((await t.query(components.dink.deadLetters.get, { id: dead!.id }))?.status).toBe("replayed");
    // Replaying twice is refused and changes nothing.
    await expect(t.mutation(fast.updateItemStatus, { op: "replay", deadLetterId: dead!.id })).rejects.toThrow(
      /already replayed/,
    );
  });

  test("replay re-enqueues from the letter's payload if the row is gone", async () => {
    const t = makeOutboxTest();
    const id = await t.mutation(components.dink.deadLetters.record, { ...letter("evt-gone"), edgeId: "edge-z" });
    await t.mutation(fast.updateItemStatus, { op: "replay", deadLetterId: id });
    expect((await outboxRows(t))[0]).toMatchObject({
      eventId: "evt-gone",
      status: "pending",
      attempts: 0,
      originEdgeId: "edge-z",
      version: 2,
    });
    await t.finishInProgressScheduledFunctions();
  });

  test("an ingest letter cannot be replayed through the outbox, and the refusal changes nothing", async () => {
    const t = makeOutboxTest();
    const id = await t.mutation(components.dink.deadLetters.record, letter("op-1", "ingest"));
    await expect(t.mutation(fast.updateItemStatus, { op: "replay", deadLetterId: id })).rejects.toThrow(
      /applyDeltaFromEdge/,
    );
    expect((await t.query(components.dink.deadLetters.get, { id }))?.status).toBe("dead");
    expect(await outboxRows(t)).toEqual([]);
  });

  test("discard deletes the app's dead row and keeps the letter as discarded", async () => {
    const t = makeOutboxTest();
    await enqueue(t, 2);
    await t.action(fast.processOutboxBatch, {});
    const letters = await t.query(components.dink.deadLetters.list, {});
    expect(letters).toHaveLength(2);
    await t.mutation(fast.updateItemStatus, { op: "discard", deadLetterId: letters[0]!.id });
    expect((await outboxRows(t)).map((r) => r.eventId)).toEqual([letters[1]!.eventId]);
    expect(await t.query(components.dink.deadLetters.list, {})).toHaveLength(1);
    await expect(t.mutation(fast.updateItemStatus, { op: "claim" })).rejects.toThrow(/needs drainToken/);
  });
});
