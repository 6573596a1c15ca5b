/**
 * Convergence: an edge delta and a Convex mutation on the same row converge (table, state and the
 * edges' copies agree); two edges editing different fields offline both survive; a delete followed
 * by a late edge edit does not resurrect the row.
 */
import { describe, expect, test } from "vitest";
import { api } from "../convex/_generated/api";
import { makeSyncTest, SYNC_KEY, useSyncTestEnv } from "./support/app";
import { Edge, viewOf } from "./support/edge";

useSyncTestEnv();

type T = ReturnType<typeof makeSyncTest>;
type Delta = ReturnType<Edge["set"]>;

const apply = (t: T, ...deltas: Delta[]) => t.mutation(api.sync.applyDeltaFromEdge, { syncKey: SYNC_KEY, deltas });

async function state(t: T, docId: string) {
  return await t.run(async (ctx) => ({
    task: await ctx.db
      .query("tasks")
      .withIndex("by_doc_id", (q) => q.eq("id", docId))
      .unique(),
    deltas: (
      await ctx.db
        .query("sync_deltas")
        .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", docId))
        .collect()
    ).map((d) => ({ delta: d.delta, origin: d.origin })),
  }));
}

/** Deliver every logged delta an edge did not send itself (what dinkd's fan-out does). */
function deliver(edge: Edge, docId: string, deltas: { delta: ArrayBuffer; origin: string }[]) {
  for (const d of deltas) if (d.origin !== edge.edgeId) edge.receive(docId, d.delta);
}

describe("convergence", () => {
  test("an edge delta and a Convex mutation on the same row converge", async () => {
    const t = makeSyncTest();
    const edge = new Edge("edge-c", 401);
    await apply(t, edge.set("c1", { id: "c1", title: "start", completed: false }));
    // Concurrently: Convex toggles, the edge (offline, not yet seeing the toggle) renames.
    const row = (await state(t, "c1")).task!;
    await t.mutation(api.tasks.toggle, { id: row._id });
    await apply(t, edge.set("c1", { title: "renamed" }));
    const after = await state(t, "c1");
    expect(after.task).toMatchObject({ id: "c1", title: "renamed", completed: true });
    // The edge receives the Convex delta and lands on the same row; so does a fresh edge.
    deliver(edge, "c1", after.deltas);
    expect(edge.fields("c1")).toEqual({ id: "c1", title: "renamed", completed: true });
    expect(viewOf(after.deltas.map((d) => d.delta)).fields).toEqual({ id: "c1", title: "renamed", completed: true });
  });

  test("two edges editing different fields of one row offline both survive", async () => {
    const t = makeSyncTest();
    const a = new Edge("edge-a", 402);
    const b = new Edge("edge-b", 403);
    await apply(t, a.set("c2", { id: "c2", title: "shared", completed: false }));
    deliver(b, "c2", (await state(t, "c2")).deltas);
    // Both offline: a edits title, b edits completed; they sync in either order.
    const fromA = a.set("c2", { title: "by a" });
    const fromB = b.set("c2", { completed: true });
    await apply(t, fromB);
    await apply(t, fromA);
    const after = await state(t, "c2");
    expect(after.task).toMatchObject({ title: "by a", completed: true });
    deliver(a, "c2", after.deltas);
    deliver(b, "c2", after.deltas);
    expect(a.fields("c2")).toEqual({ id: "c2", title: "by a", completed: true });
    expect(b.fields("c2")).toEqual(a.fields("c2"));
  });

  test("a delete followed by a late edge edit does not resurrect the row", async () => {
    const t = makeSyncTest();
    const edge = new Edge("edge-late", 404);
    await apply(t, edge.set("c3", { id: "c3", title: "doomed", completed: false }));
    const row = (await state(t, "c3")).task!;
    await t.mutation(api.tasks.remove, { id: row._id });
    // The edge, offline, still edits the row it has.
    const [late] = await apply(t, edge.set("c3", { title: "late edit" }));
    expect(late!.status).toBe("applied");
    const after = await state(t, "c3");
    expect(after.task).toBeNull();
    const doc = await t.run(async (ctx) =>
      ctx.db
        .query("sync_documents")
        .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", "c3"))
        .unique(),
    );
    expect(doc!.deleted).toBe(true);
    expect(viewOf(after.deltas.map((d) => d.delta)).deleted).toBe(true);
  });
});
