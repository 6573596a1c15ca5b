/**
 * What one synced write costs the database, counted in the sandbox (convex-test running the
 * example app; not a Convex backend): documents written per synced write, and where the delta's
 * bytes are stored (once: the delta log; the outbox names the change and the drain reads the log).
 * The same counts are reported by bench/convex-bench.mjs in bench/results/convex.md.
 */
import { describe, expect, test } from "vitest";
import { validateConvexPushBody } from "dink-convex/protocol";
import { api, components } from "../convex/_generated/api";
import { makeTest } from "./harness";
import { fast, makeOutboxTest, outboxRows, settled, waitUntil, type OutboxTest } from "./support/outboxApp";
import { withSinkEnv, type Sink } from "./support/sink";
import { purgeDeltaLog } from "../../npm/src/client/sync/retention";
import { syncWriter } from "../../npm/src/client/sync/rows";

/** The app tables a synced write can touch. */
const TABLES = ["tasks", "sync_documents", "sync_deltas", "sync_feed_shards", "sync_outbox", "sync_sessions"] as const;

type Snapshot = Map<string, string>;

/** Every document of the app tables and the scheduler, by id, as JSON (bytes as hex). */
async function snapshot(t: OutboxTest): Promise<Snapshot> {
  const entries = await t.run(async (ctx) => {
    const out: Array<[string, string]> = [];
    const json = (doc: object) =>
      JSON.stringify(doc, (_k, v: unknown) => (v instanceof ArrayBuffer ? Buffer.from(v).toString("hex") : v));
    for (const table of TABLES) {
      for (const doc of await ctx.db.query(table).collect()) out.push([`${table}/${doc._id}`, json(doc)]);
    }
    for (const job of await ctx.db.system.query("_scheduled_functions").collect()) {
      out.push([`_scheduled_functions/${job._id}`, json({ name: job.name })]);
    }
    return out;
  });
  return new Map(entries);
}

/** Documents inserted or changed between two snapshots, counted per table. */
function written(before: Snapshot, after: Snapshot): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [key, value] of after) {
    if (before.get(key) === value) continue;
    const table = key.slice(0, key.indexOf("/"));
    counts[table] = (counts[table] ?? 0) + 1;
  }
  return counts;
}

/** How many documents of `after` hold `hex` (a delta's bytes) anywhere in them. */
function copiesOf(after: Snapshot, hex: string): string[] {
  return [...after].filter(([, json]) => json.includes(hex)).map(([key]) => key.slice(0, key.indexOf("/")));
}

/** The user row, 4 sync documents and one scheduled drain. */
const PER_SYNCED_WRITE = {
  tasks: 1,
  sync_documents: 1,
  sync_deltas: 1,
  sync_feed_shards: 1,
  sync_outbox: 1,
  _scheduled_functions: 1,
};

describe("writes per synced write (sandbox: convex-test, not a Convex backend)", () => {
  test("a synced create and update each write 4 sync documents and schedule one drain; the delta is stored once", async () => {
    const t = makeTest() as unknown as OutboxTest;
    // The first write of a shard inserts its counter; later writes patch it: count a later one.
    await t.mutation(api.tasks.create, { title: "warm-up" });
    const before = await snapshot(t);
    const id = await t.mutation(api.tasks.create, { title: "counted" });
    const afterCreate = await snapshot(t);
    expect(written(before, afterCreate)).toEqual(PER_SYNCED_WRITE);
    await t.mutation(api.tasks.toggle, { id });
    const afterToggle = await snapshot(t);
    expect(written(afterCreate, afterToggle)).toEqual(PER_SYNCED_WRITE);

    // Each change's bytes live in exactly one document: its delta log row.
    const deltas = await t.run(async (ctx) => await ctx.db.query("sync_deltas").collect());
    expect(deltas).toHaveLength(3);
    // (A document's first delta is its whole state, so those bytes also are the state.)
    for (const row of deltas) {
      const copies = copiesOf(afterToggle, Buffer.from(row.delta).toString("hex"));
      expect(copies.filter((table) => table !== "sync_documents")).toEqual(["sync_deltas"]);
    }
    const update = deltas.find((d) => d.version === 2)!;
    expect(copiesOf(afterToggle, Buffer.from(update.delta).toString("hex"))).toEqual(["sync_deltas"]);
    expect((await outboxRows(t)).every((r) => r.delta === undefined)).toBe(true);
    await t.finishInProgressScheduledFunctions();
  });
});

describe("the drain reads the bytes from the log", () => {
  let sink: Sink;
  withSinkEnv((s) => (sink = s));

  /** Every pushed event as [event id, base64 delta], in order, repeats included. */
  function pushed(): Array<[string, string]> {
    return sink.requests.flatMap((r) =>
      validateConvexPushBody(r.body as never).events.map((e): [string, string] => [e.event_id, e.delta]),
    );
  }

  test("a synced write's push carries its log row's delta", async () => {
    const t = makeOutboxTest();
    await t.mutation(api.tasks.create, { title: "pushed" });
    expect(await t.action(fast.processOutboxBatch, {})).toMatchObject({ delivered: 1 });
    const [row] = await t.run(async (ctx) => await ctx.db.query("sync_deltas").collect());
    const [[eventId, delta]] = pushed() as [[string, string]];
    expect(eventId).toBe(`tasks:${row!.docId}:1`);
    expect(delta).toBe(Buffer.from(row!.delta).toString("base64"));
  });

  test("purging an undelivered change's log row moves its bytes to the outbox row: still delivered, stored once", async () => {
    const t = makeOutboxTest();
    await t.mutation(api.tasks.create, { title: "outlives its log row" });
    const [logged] = await t.run(async (ctx) => await ctx.db.query("sync_deltas").collect());
    const bytes = Buffer.from(logged!.delta).toString("base64");
    const purge = await t.run(async (ctx) => purgeDeltaLog(syncWriter(ctx.db), Date.now() + 1, 100));
    expect(purge).toEqual({ purged: 1, more: false });
    expect(await t.run(async (ctx) => await ctx.db.query("sync_deltas").collect())).toEqual([]);
    const [item] = await outboxRows(t);
    expect(item!.status).toBe("pending");
    expect(Buffer.from(item!.delta!).toString("base64")).toBe(bytes);
    expect(await t.action(fast.processOutboxBatch, {})).toMatchObject({ delivered: 1 });
    expect(pushed().map(([, d]) => d)).toEqual([bytes]);
  });

  test("a delivered change's log row is purged without a copy", async () => {
    const t = makeOutboxTest();
    await t.mutation(api.tasks.create, { title: "delivered first" });
    expect(await t.action(fast.processOutboxBatch, {})).toMatchObject({ delivered: 1 });
    await t.run(async (ctx) => purgeDeltaLog(syncWriter(ctx.db), Date.now() + 1, 100));
    const [item] = await outboxRows(t);
    expect(item).toMatchObject({ status: "sent" });
    expect(item!.delta).toBeUndefined();
  });

  test("a change that goes dead keeps a copy of its bytes, so a replay after the purge still delivers it", async () => {
    const t = makeOutboxTest();
    await t.mutation(api.tasks.create, { title: "refused, then replayed" });
    const [logged] = await t.run(async (ctx) => await ctx.db.query("sync_deltas").collect());
    const bytes = Buffer.from(logged!.delta).toString("base64");
    sink.reply = () => ({ status: 400 });
    expect(await t.action(fast.processOutboxBatch, {})).toMatchObject({ dead: 1 });
    const [dead] = await outboxRows(t);
    expect(dead).toMatchObject({ status: "dead" });
    expect(Buffer.from(dead!.delta!).toString("base64")).toBe(bytes);
    await t.run(async (ctx) => purgeDeltaLog(syncWriter(ctx.db), Date.now() + 1, 100));
    sink.reply = () => ({ status: 200 });
    const [letter] = await t.query(components.dink.deadLetters.list, { source: "outbox" });
    expect(Buffer.from(letter!.delta).toString("base64")).toBe(bytes);
    await t.mutation(fast.updateItemStatus, { op: "replay", deadLetterId: letter!.id });
    // The replay schedules a drain of its own; wait for it.
    await waitUntil(t, () => settled(t));
    expect((await outboxRows(t))[0]).toMatchObject({ status: "sent" });
    expect(pushed().map(([, d]) => d)).toEqual([bytes, bytes]);
  });
});
