/**
 * syncMutation: every insert/patch/replace/delete on `tasks` makes exactly one delta per changed
 * row holding only the changed fields, in the mutation's transaction; a throwing mutation leaves
 * nothing; edge writes do not re-trigger but are fanned out with the origin edge id.
 */
import { describe, expect, test } from "vitest";
import { api } from "../convex/_generated/api";
import { fns, makeSyncTest, SYNC_KEY, useSyncTestEnv } from "./support/app";
import { dumpAll } from "./support/dump";
import { Edge, keysOf, viewOf } from "./support/edge";

// The drain the trigger schedules stays queued (no gateway here): fake timers.
useSyncTestEnv();

type T = ReturnType<typeof makeSyncTest>;

async function logOf(t: T, docId: string) {
  return await t.run(async (ctx) => ({
    deltas: await ctx.db
      .query("sync_deltas")
      .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", docId))
      .collect(),
    outbox: (await ctx.db.query("sync_outbox").collect()).filter((o) => o.docId === docId),
    scheduled: await ctx.db.system.query("_scheduled_functions").collect(),
  }));
}

describe("syncMutation writes become deltas", () => {
  test("insert, patch, replace and delete: one delta each, holding only the changed fields", async () => {
    const t = makeSyncTest();
    const rowId = await t.mutation(fns.insertTask!, { id: "r1", title: "a", completed: false });
    let log = await logOf(t, "r1");
    expect(log.deltas).toHaveLength(1);
    expect(keysOf(log.deltas[0]!.delta).fields).toEqual(["completed", "id", "title"]);
    expect(log.deltas[0]).toMatchObject({ origin: "convex", version: 1 });
    expect(log.deltas[0]!.opId).toBeUndefined();
    expect(log.outbox).toHaveLength(1);
    expect(log.outbox[0]!.originEdgeId).toBeUndefined();

    await t.mutation(fns.patchTask!, { id: rowId, completed: true });
    log = await logOf(t, "r1");
    expect(log.deltas).toHaveLength(2);
    expect(keysOf(log.deltas[1]!.delta, [log.deltas[0]!.delta]).fields).toEqual(["completed"]);

    // A patch of the server-managed timestamp alone changes no synced field: no delta.
    await t.mutation(fns.patchTask!, { id: rowId, timestamp: 12345 });
    // A patch that writes the same values: no delta.
    await t.mutation(fns.patchTask!, { id: rowId, title: "a", completed: true });
    expect((await logOf(t, "r1")).deltas).toHaveLength(2);

    await t.mutation(fns.replaceTask!, { id: rowId, title: "b", completed: true });
    log = await logOf(t, "r1");
    expect(log.deltas).toHaveLength(3);
    expect(
      keysOf(
        log.deltas[2]!.delta,
        log.deltas.slice(0, 2).map((d) => d.delta),
      ).fields,
    ).toEqual(["title"]);

    await t.mutation(fns.deleteTask!, { id: rowId });
    log = await logOf(t, "r1");
    expect(log.deltas).toHaveLength(4);
    expect(
      keysOf(
        log.deltas[3]!.delta,
        log.deltas.slice(0, 3).map((d) => d.delta),
      ),
    ).toEqual({
      fields: [],
      meta: ["_deleted", "_deletedAt"],
    });
    expect(log.outbox.map((o) => o.version)).toEqual([1, 2, 3, 4]);
    expect(viewOf(log.deltas.map((d) => d.delta))).toEqual({
      fields: { id: "r1", title: "b", completed: true },
      deleted: true,
    });
    const doc = await t.run(async (ctx) => ctx.db.query("sync_documents").collect());
    expect(doc).toEqual([expect.objectContaining({ docId: "r1", deleted: true, version: 4 })]);
  });

  test("a write to two rows makes one delta per row and schedules the drain once", async () => {
    const t = makeSyncTest();
    await t.mutation(fns.twoRows!, { a: "x1", b: "x2" });
    const [a, b] = [await logOf(t, "x1"), await logOf(t, "x2")];
    expect(a.deltas).toHaveLength(1);
    expect(b.deltas).toHaveLength(1);
    const drains = a.scheduled.filter((s) => s.name.includes("scheduleOutboxProcessing"));
    expect(drains).toHaveLength(1);
  });

  test("a mutation that throws leaves no row, no delta, no outbox item, no scheduled drain", async () => {
    const t = makeSyncTest();
    await t.mutation(fns.insertTask!, { id: "keep", title: "k", completed: false });
    const before = await dumpAll(t);
    const scheduledBefore = (await logOf(t, "keep")).scheduled.length;
    await expect(t.mutation(fns.insertThenThrow!, { id: "doomed" })).rejects.toThrow(/boom/);
    expect(await dumpAll(t)).toEqual(before);
    expect((await logOf(t, "doomed")).scheduled).toHaveLength(scheduledBefore);
  });

  test("writes outside syncMutation are not tracked", async () => {
    const t = makeSyncTest();
    await t.mutation(fns.plainInsert!, { id: "plain" });
    const log = await logOf(t, "plain");
    expect(log.deltas).toHaveLength(0);
    expect(log.outbox).toHaveLength(0);
  });

  test("re-inserting a deleted id clears the tombstone", async () => {
    const t = makeSyncTest();
    const id = await t.mutation(fns.insertTask!, { id: "again", title: "1", completed: false });
    await t.mutation(fns.deleteTask!, { id });
    await t.mutation(fns.insertTask!, { id: "again", title: "2", completed: false });
    const log = await logOf(t, "again");
    expect(viewOf(log.deltas.map((d) => d.delta))).toEqual({
      fields: { id: "again", title: "2", completed: false },
      deleted: false,
    });
    // A second live row with the same id is refused.
    await expect(t.mutation(fns.insertTask!, { id: "again", title: "3", completed: false })).rejects.toThrow(
      /already exists/,
    );
  });
});

describe("no echo", () => {
  test("edge writes do not re-trigger, and are fanned out with the origin edge id", async () => {
    const t = makeSyncTest();
    const edge = new Edge("edge-echo", 301);
    await t.mutation(api.sync.applyDeltaFromEdge, {
      syncKey: SYNC_KEY,
      deltas: [edge.set("e1", { id: "e1", title: "from edge", completed: false }), edge.set("e1", { completed: true })],
    });
    const log = await logOf(t, "e1");
    // Exactly the two edge deltas: no "convex" delta made from the edge's own write.
    expect(log.deltas.map((d) => d.origin)).toEqual(["edge-echo", "edge-echo"]);
    expect(log.outbox.map((o) => o.originEdgeId)).toEqual(["edge-echo", "edge-echo"]);

    // A Convex write to the same row afterwards is a "convex" delta again.
    const task = await t.run(async (ctx) =>
      ctx.db
        .query("tasks")
        .withIndex("by_doc_id", (q) => q.eq("id", "e1"))
        .unique(),
    );
    await t.mutation(api.tasks.toggle, { id: task!._id });
    const after = await logOf(t, "e1");
    expect(after.deltas.map((d) => d.origin)).toEqual(["edge-echo", "edge-echo", "convex"]);
    expect(
      keysOf(
        after.deltas[2]!.delta,
        log.deltas.map((d) => d.delta),
      ).fields,
    ).toEqual(["completed"]);
  });
});
