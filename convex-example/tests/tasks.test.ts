/**
 * The seed's tasks.ts, verbatim, in convex-test: create/toggle/remove/list/get behave like plain
 * Convex functions, and every write through `syncMutation` also leaves exactly one CRDT delta and
 * one outbox row for the edges, in the same transaction.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import * as Y from "yjs";
import { api } from "../convex/_generated/api";
import type { Id } from "../convex/_generated/dataModel";
import { makeTest } from "./harness";

// The trigger schedules the outbox drain; fake timers keep it from running (no gateway here), so
// the outbox rows stay pending where the test can look at them.
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

type T = ReturnType<typeof makeTest>;

async function syncRows(t: T, docId: string) {
  return t.run(async (ctx) => ({
    deltas: await ctx.db
      .query("sync_deltas")
      .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", docId))
      .collect(),
    outbox: (await ctx.db.query("sync_outbox").collect()).filter((o) => o.docId === docId),
    document: await ctx.db
      .query("sync_documents")
      .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", docId))
      .unique(),
  }));
}

/** What an edge that received every delta of the row, in order, would see. */
function edgeView(deltas: { delta: ArrayBuffer }[]) {
  const doc = new Y.Doc();
  for (const d of deltas) Y.applyUpdateV2(doc, new Uint8Array(d.delta));
  return { fields: doc.getMap("fields").toJSON(), deleted: doc.getMap("_meta").get("_deleted") === true };
}

describe("tasks", () => {
  test("create inserts a row with id and timestamp, list and get return it", async () => {
    const t = makeTest();
    const before = Date.now();
    const _id = await t.mutation(api.tasks.create, { title: "buy milk" });
    const row = await t.query(api.tasks.get, { id: _id });
    expect(row).toMatchObject({ _id, title: "buy milk", completed: false });
    expect(row?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row?.timestamp).toBeGreaterThanOrEqual(before);
    expect(await t.query(api.tasks.list, {})).toEqual([row]);
  });

  test("toggle flips completed, remove deletes, toggle of a removed task throws", async () => {
    const t = makeTest();
    const a = await t.mutation(api.tasks.create, { title: "a" });
    const b = await t.mutation(api.tasks.create, { title: "b" });
    await t.mutation(api.tasks.toggle, { id: a });
    expect((await t.query(api.tasks.get, { id: a }))?.completed).toBe(true);
    await t.mutation(api.tasks.toggle, { id: a });
    expect((await t.query(api.tasks.get, { id: a }))?.completed).toBe(false);
    await t.mutation(api.tasks.remove, { id: b });
    expect(await t.query(api.tasks.get, { id: b })).toBeNull();
    expect((await t.query(api.tasks.list, {})).map((r) => r.title)).toEqual(["a"]);
    await expect(t.mutation(api.tasks.toggle, { id: b })).rejects.toThrow("Task not found");
  });

  test("every write leaves one delta and one outbox row; the deltas rebuild the row on an edge", async () => {
    const t = makeTest();
    const _id: Id<"tasks"> = await t.mutation(api.tasks.create, { title: "sync me" });
    const docId = (await t.query(api.tasks.get, { id: _id }))!.id;

    let s = await syncRows(t, docId);
    expect(s.deltas).toHaveLength(1);
    expect(s.outbox).toHaveLength(1);
    expect(s.deltas[0]).toMatchObject({ origin: "convex", version: 1 });
    expect(s.outbox[0]).toMatchObject({ collection: "tasks", status: "pending", version: 1 });
    expect(s.outbox[0]?.originEdgeId).toBeUndefined();
    expect(edgeView(s.deltas)).toEqual({ fields: { id: docId, title: "sync me", completed: false }, deleted: false });

    await t.mutation(api.tasks.toggle, { id: _id });
    s = await syncRows(t, docId);
    expect(s.deltas.map((d) => d.version)).toEqual([1, 2]);
    expect(s.outbox).toHaveLength(2);
    expect(edgeView(s.deltas).fields).toEqual({ id: docId, title: "sync me", completed: true });
    // Only the changed field travels: the toggle's delta is smaller than the insert's.
    expect(s.deltas[1]!.delta.byteLength).toBeLessThan(s.deltas[0]!.delta.byteLength);

    await t.mutation(api.tasks.remove, { id: _id });
    s = await syncRows(t, docId);
    expect(s.deltas).toHaveLength(3);
    expect(s.outbox).toHaveLength(3);
    expect(s.document?.deleted).toBe(true);
    expect(edgeView(s.deltas).deleted).toBe(true);
    expect(new Set(s.outbox.map((o) => o.eventId)).size).toBe(3);
  });

  test("reads and a failed write leave no delta", async () => {
    const t = makeTest();
    const _id = await t.mutation(api.tasks.create, { title: "x" });
    await t.mutation(api.tasks.remove, { id: _id });
    const count = () => t.run(async (ctx) => (await ctx.db.query("sync_deltas").collect()).length);
    const before = await count();
    await t.query(api.tasks.list, {});
    await expect(t.mutation(api.tasks.toggle, { id: _id })).rejects.toThrow("Task not found");
    expect(await count()).toBe(before);
  });
});
