/**
 * applyDeltaFromEdge: edge deltas (built with the real `yjs`) materialize into `tasks` with `id`
 * and `timestamp`; idempotent on opId; a delta adding nothing is a noop that writes nothing; each
 * rejection writes nothing at all (full table dumps compared before/after).
 */
import { describe, expect, test, vi } from "vitest";
import * as Y from "yjs";
import { api } from "../convex/_generated/api";
import { fns, makeSyncTest, SYNC_KEY, useSyncTestEnv } from "./support/app";
import { dumpAll } from "./support/dump";
import { Edge, keysOf } from "./support/edge";

useSyncTestEnv();

type T = ReturnType<typeof makeSyncTest>;
type Delta = ReturnType<Edge["set"]>;

async function apply(t: T, ...deltas: Delta[]) {
  return await t.mutation(api.sync.applyDeltaFromEdge, { syncKey: SYNC_KEY, deltas });
}

async function rowsOf(t: T, docId: string) {
  return await t.run(async (ctx) => ({
    task: await ctx.db
      .query("tasks")
      .withIndex("by_doc_id", (q) => q.eq("id", docId))
      .unique(),
    document: await ctx.db
      .query("sync_documents")
      .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", docId))
      .unique(),
    deltas: await ctx.db
      .query("sync_deltas")
      .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", docId))
      .collect(),
    outbox: (await ctx.db.query("sync_outbox").collect()).filter((o) => o.docId === docId),
    sessions: await ctx.db.query("sync_sessions").collect(),
  }));
}

describe("edge deltas materialize", () => {
  test("insert, update and delete reach the tasks table with id and timestamp", async () => {
    const t = makeSyncTest();
    const edge = new Edge("edge-a", 101);
    vi.setSystemTime(1_000);
    const [inserted] = await apply(t, edge.set("doc-1", { id: "doc-1", title: "buy milk", completed: false }));
    expect(inserted).toMatchObject({ status: "applied", version: 1 });
    let rows = await rowsOf(t, "doc-1");
    expect(rows.task).toMatchObject({ id: "doc-1", title: "buy milk", completed: false, timestamp: 1_000 });
    expect(rows.document).toMatchObject({ version: 1, deleted: false });
    expect(rows.deltas).toHaveLength(1);
    expect(rows.deltas[0]).toMatchObject({ origin: "edge-a", version: 1 });
    expect(rows.deltas[0]!.opId).toBe(inserted!.opId);
    // Fanned out to the other edges, naming the origin so dinkd skips it.
    expect(rows.outbox).toHaveLength(1);
    expect(rows.outbox[0]).toMatchObject({
      eventId: "tasks:doc-1:1",
      originEdgeId: "edge-a",
      status: "pending",
      attempts: 0,
      nextAttemptAt: 1_000,
      version: 1,
    });
    // The bytes are stored once, in the log; the outbox names the change and the drain reads them.
    expect(rows.outbox[0]!.delta).toBeUndefined();
    expect(keysOf(rows.deltas[0]!.delta).fields).toEqual(["completed", "id", "title"]);
    expect(rows.sessions).toEqual([
      expect.objectContaining({ edgeId: "edge-a", applied: 1, lastOpId: inserted!.opId }),
    ]);

    vi.setSystemTime(2_000);
    const [updated] = await apply(t, edge.set("doc-1", { completed: true }));
    expect(updated).toMatchObject({ status: "applied", version: 2 });
    rows = await rowsOf(t, "doc-1");
    expect(rows.task).toMatchObject({ id: "doc-1", title: "buy milk", completed: true, timestamp: 2_000 });
    // The logged delta holds only what the edge changed.
    expect(keysOf(rows.deltas[1]!.delta, [rows.deltas[0]!.delta]).fields).toEqual(["completed"]);

    const [deleted] = await apply(t, edge.remove("doc-1"));
    expect(deleted).toMatchObject({ status: "applied", version: 3 });
    rows = await rowsOf(t, "doc-1");
    expect(rows.task).toBeNull();
    expect(keysOf(rows.deltas[2]!.delta, [rows.deltas[0]!.delta, rows.deltas[1]!.delta])).toEqual({
      fields: [],
      meta: ["_deleted", "_deletedAt"],
    });
    expect(rows.document).toMatchObject({ deleted: true, version: 3 });
    expect(rows.outbox.map((o) => o.eventId)).toEqual(["tasks:doc-1:1", "tasks:doc-1:2", "tasks:doc-1:3"]);
  });

  test("a v1 update is accepted and stored as v2", async () => {
    const t = makeSyncTest();
    const edge = new Edge("edge-v1", 102);
    const [r] = await apply(t, edge.set("doc-v1", { id: "doc-v1", title: "v1", completed: true }, 1));
    expect(r!.status).toBe("applied");
    const rows = await rowsOf(t, "doc-v1");
    expect(rows.task).toMatchObject({ title: "v1", completed: true });
    const check = new Y.Doc();
    Y.applyUpdateV2(check, new Uint8Array(rows.document!.state));
    expect(check.getMap("fields").toJSON()).toEqual({ id: "doc-v1", title: "v1", completed: true });
  });

  test("idempotent on opId: a retried delta is a duplicate and writes nothing", async () => {
    const t = makeSyncTest();
    const edge = new Edge("edge-a", 103);
    const delta = edge.set("doc-2", { id: "doc-2", title: "once", completed: false });
    await apply(t, delta);
    const before = await dumpAll(t);
    const [again] = await apply(t, delta);
    expect(again).toEqual({ opId: delta.opId, status: "duplicate", version: 1 });
    expect(await dumpAll(t)).toEqual(before);
    // Within one batch too.
    const next = edge.set("doc-2", { title: "twice" });
    const results = await apply(t, next, next);
    expect(results.map((r) => r.status)).toEqual(["applied", "duplicate"]);
  });

  test("opIds are scoped to their edge: another edge's op with the same id is applied", async () => {
    const t = makeSyncTest();
    const a = new Edge("edge-a", 105);
    const b = new Edge("edge-b", 106);
    // Both edges number their operations from 1.
    const fromA = { ...a.set("doc-s", { id: "doc-s", title: "from a", completed: false }), opId: "op-1" };
    const fromB = { ...b.set("doc-s", { completed: true }), opId: "op-1" };
    expect(await apply(t, fromA)).toEqual([{ opId: "op-1", status: "applied", version: 1 }]);
    expect(await apply(t, fromB)).toEqual([{ opId: "op-1", status: "applied", version: 2 }]);
    expect(await apply(t, fromB)).toEqual([{ opId: "op-1", status: "duplicate", version: 2 }]);
    const rows = await dumpAll(t);
    expect(rows.tasks).toEqual([expect.objectContaining({ id: "doc-s", title: "from a", completed: true })]);
  });

  test("a delta that adds nothing is a noop: nothing written, nothing enqueued", async () => {
    const t = makeSyncTest();
    const edge = new Edge("edge-a", 104);
    const delta = edge.set("doc-3", { id: "doc-3", title: "same", completed: false });
    await apply(t, delta);
    const before = await dumpAll(t);
    // Same bytes under a new opId (e.g. relayed twice by different gateways).
    const [noop] = await apply(t, { ...delta, opId: "other-op" });
    expect(noop).toEqual({ opId: "other-op", status: "noop" });
    // An empty update (nothing at all) is a noop too.
    const empty = new Y.Doc();
    const [empty2] = await apply(t, edge.delta("doc-3", Y.encodeStateAsUpdateV2(empty)));
    expect(empty2!.status).toBe("noop");
    expect(await dumpAll(t)).toEqual(before);
  });

  test("a call that applied something schedules one outbox drain; one that applied nothing, none", async () => {
    const t = makeSyncTest();
    const drains = async () =>
      (await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())).filter(
        (job) => job.name === "outboxProcessor:scheduleOutboxProcessing",
      ).length;
    const edge = new Edge("edge-a", 105);
    const first = edge.set("doc-4", { id: "doc-4", title: "a", completed: false });
    const second = edge.set("doc-5", { id: "doc-5", title: "b", completed: true });
    await apply(t, first, second);
    // The fan-out to other edges starts now, not at the next cron tick: once per call.
    expect(await drains()).toBe(1);
    await apply(t, first); // a duplicate
    await apply(t, edge.delta("doc-4", new Uint8Array([1, 2, 3]))); // a rejection
    expect(await drains()).toBe(1);
  });
});

describe("rejections write nothing at all", () => {
  async function rejected(t: T, delta: Delta) {
    const before = await dumpAll(t);
    const results = await apply(t, delta);
    expect(results).toHaveLength(1);
    expect(results[0]!.status).toBe("rejected");
    expect(await dumpAll(t)).toEqual(before);
    return results[0]!.error!;
  }

  async function seeded() {
    const t = makeSyncTest();
    const edge = new Edge("edge-seed", 200);
    await apply(t, edge.set("seed", { id: "seed", title: "seed", completed: false }));
    return t;
  }

  test("unknown collection", async () => {
    const t = await seeded();
    const edge = new Edge("edge-x", 201, "notATable");
    expect(await rejected(t, edge.set("d", { id: "d" }))).toMatchObject({ code: "UNKNOWN_COLLECTION" });
    // Internal tables are never synced collections, even though they exist.
    for (const name of ["sync_documents", "sync_outbox", "_scheduled_functions", ""]) {
      const e = new Edge("edge-x", 202, name);
      expect(await rejected(t, e.set("d", { id: "d" }))).toMatchObject({ code: "UNKNOWN_COLLECTION" });
    }
  });

  test("invalid delta", async () => {
    const t = await seeded();
    const edge = new Edge("edge-x", 203);
    const error = await rejected(t, edge.delta("seed", new Uint8Array([0xff, 0x13, 0x37, 0x00, 0x42])));
    expect(error.code).toBe("INVALID_DELTA");
    expect(error.message).toEqual(expect.any(String));
  });

  test("validation error names the field", async () => {
    const t = await seeded();
    const edge = new Edge("edge-x", 204);
    // A new row without the required `completed`.
    const missing = await rejected(t, edge.set("new-1", { id: "new-1", title: "no completed" }));
    expect(missing).toMatchObject({ code: "VALIDATION_ERROR", field: "completed" });
    // A field the table does not have.
    const extra = await rejected(
      t,
      new Edge("edge-y", 205).set("new-2", { id: "new-2", title: "t", completed: true, priority: 3 }),
    );
    expect(extra).toMatchObject({ code: "VALIDATION_ERROR", field: "priority" });
    // `id` must be the document id: a fault of the row document's layout, refused by the engine
    // as INVALID_DELTA before any validation (issue 7).
    const wrongId = await rejected(
      t,
      new Edge("edge-z", 206).set("new-3", { id: "other", title: "t", completed: true }),
    );
    expect(wrongId.code).toBe("INVALID_DELTA");
    expect(wrongId.message).toMatch(/fields\.id is "other" but the document id is "new-3"/);
    // A wrong type on an existing row (the seed row stays as it was).
    const wrongType = await rejected(t, new Edge("edge-w", 207).set("seed", { completed: "yes" }));
    expect(wrongType.code).toBe("VALIDATION_ERROR");
  });

  test("with the app schema, the engine validates first and names the field of a wrong type", async () => {
    const t = await seeded();
    const before = await dumpAll(t);
    const delta = new Edge("edge-w", 208).set("seed", { completed: "yes" });
    const results = await t.mutation(fns.strictApply!, { syncKey: SYNC_KEY, deltas: [delta] });
    expect(results[0]).toMatchObject({ status: "rejected", error: { code: "VALIDATION_ERROR", field: "completed" } });
    expect(await dumpAll(t)).toEqual(before);
    const ok = await t.mutation(fns.strictApply!, {
      syncKey: SYNC_KEY,
      deltas: [new Edge("edge-v", 209).set("fine", { id: "fine", title: "ok", completed: false })],
    });
    expect(ok[0]).toMatchObject({ status: "applied" });
  });

  test("too large", async () => {
    const t = await seeded();
    const edge = new Edge("edge-x", 210);
    const error = await rejected(t, edge.set("big", { id: "big", title: "x".repeat(1_100_000), completed: false }));
    expect(error.code).toBe("TOO_LARGE");
  });

  test("missing dependencies answers the server's state vector", async () => {
    const t = await seeded();
    const edge = new Edge("edge-x", 211);
    edge.set("gap", { id: "gap", title: "first", completed: false }); // never sent
    const second = edge.set("gap", { title: "second" });
    const error = await rejected(t, second);
    expect(error.code).toBe("MISSING_DEPENDENCIES");
    expect(error.stateVector).toBeInstanceOf(ArrayBuffer);
    // The server has nothing of this document: an empty state vector.
    expect(Y.decodeStateVector(new Uint8Array(error.stateVector!)).size).toBe(0);
    // The edge resends what the server lacks; both land.
    const full = edge.delta("gap", Y.encodeStateAsUpdateV2(edge.doc("gap"), new Uint8Array(error.stateVector!)));
    expect((await apply(t, full))[0]!.status).toBe("applied");
    const task = await t.run(async (ctx) =>
      ctx.db
        .query("tasks")
        .withIndex("by_doc_id", (q) => q.eq("id", "gap"))
        .unique(),
    );
    expect(task).toMatchObject({ title: "second", completed: false });
  });

  test("unauthorized: no key or a wrong key is refused and writes nothing", async () => {
    const t = await seeded();
    const before = await dumpAll(t);
    const deltas = [new Edge("edge-x", 212).set("u", { id: "u", title: "u", completed: false })];
    await expect(t.mutation(api.sync.applyDeltaFromEdge, { deltas })).rejects.toThrow(/sync key/);
    await expect(t.mutation(api.sync.applyDeltaFromEdge, { syncKey: "wrong", deltas })).rejects.toThrow(
      /invalid sync key/,
    );
    expect(await dumpAll(t)).toEqual(before);
  });

  test("in a mixed batch only the good deltas land", async () => {
    const t = await seeded();
    const good = new Edge("edge-g", 213).set("good", { id: "good", title: "g", completed: true });
    const bad = new Edge("edge-b", 214).set("bad", { id: "bad", title: "b" });
    const results = await apply(t, bad, good);
    expect(results.map((r) => r.status)).toEqual(["rejected", "applied"]);
    const dump = await dumpAll(t);
    expect((dump.tasks as { id: string }[]).map((r) => r.id).sort()).toEqual(["good", "seed"]);
    expect((dump.sync_documents as { docId: string }[]).map((r) => r.docId).sort()).toEqual(["good", "seed"]);
    expect((dump.sync_sessions as { edgeId: string }[]).map((r) => r.edgeId).sort()).toEqual(["edge-g", "edge-seed"]);
  });
});
