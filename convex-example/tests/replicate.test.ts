/**
 * The Replicate bridge against the real `@trestleinc/replicate` 2.0.0-preview.0 component,
 * registered beside dink (support/replicateApp.ts): rows written by an edge (applyDeltaFromEdge)
 * and by a syncMutation (tasks.ts) reach what Replicate serves its clients (its `delta` query in
 * stream and recovery modes, and the component's `stream`/`recovery`), and those bytes rebuild
 * the Convex row in a yjs document. `tasks.ts` never imports `sync.ts` (where the seed registers
 * Replicate), so its calls run as in their own module graph: the registry is reset before them
 * and `DINK_REPLICATE_COMPONENT` names the component.
 */
import { componentsGeneric } from "convex/server";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import * as Y from "yjs";
import { api } from "../convex/_generated/api";
import {
  DINK_REPLICATE_COMPONENT,
  forwardToReplicate,
  getReplicateComponent,
  hasReplicateComponent,
  registerReplicateComponent,
  type ReplicateCtx,
} from "dink-convex";
import { makeSyncTest, SYNC_KEY } from "./support/app";
import { dumpAll } from "./support/dump";
import { Edge } from "./support/edge";
import { makeReplicateTest, replicateTasks } from "./support/replicateApp";

type T = ReturnType<typeof makeReplicateTest>;
interface StreamChange {
  document: string;
  bytes: ArrayBuffer;
  seq: number;
  type: string;
  exists?: boolean;
}

beforeEach(() => {
  vi.useFakeTimers(); // scheduled outbox drains do not run behind the tests' backs
  vi.stubEnv("DINK_APP_SYNC_KEY", SYNC_KEY);
  registerReplicateComponent(null);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
  registerReplicateComponent(null);
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const replicateComponent = () => (componentsGeneric() as any).replicate;

/** A call in a module graph that did not import sync.ts: nothing registered in this context. */
async function inFreshGraph<R>(fn: () => Promise<R>): Promise<R> {
  registerReplicateComponent(null);
  return await fn();
}

/** Replicate's client stream (its app-level `delta` query), all pages from seq 0. */
async function streamAll(t: T): Promise<StreamChange[]> {
  const out: StreamChange[] = [];
  let seq = 0;
  for (;;) {
    const page = (await t.query(replicateTasks.delta!, { seq, limit: 2 })) as {
      mode: string;
      changes: StreamChange[];
      seq: number;
      more: boolean;
    };
    expect(page.mode).toBe("stream");
    out.push(...page.changes);
    if (!page.more || page.changes.length === 0) return out;
    seq = page.seq;
  }
}

/** A Replicate-style client document: the V2 updates applied, `fields` read back. */
function rebuild(updates: ArrayBuffer[]): { fields: Record<string, unknown>; meta: Record<string, unknown> } {
  const doc = new Y.Doc();
  for (const u of updates) Y.applyUpdateV2(doc, new Uint8Array(u));
  return { fields: doc.getMap("fields").toJSON(), meta: doc.getMap("_meta").toJSON() };
}

async function taskRow(t: T, id: string) {
  return await t.run(async (ctx) =>
    ctx.db
      .query("tasks")
      .withIndex("by_doc_id", (q) => q.eq("id", id))
      .unique(),
  );
}

function userFields(row: Record<string, unknown>): Record<string, unknown> {
  const { _id, _creationTime, timestamp, ...rest } = row;
  void _id;
  void _creationTime;
  void timestamp;
  return rest;
}

/** Replicate's recovery for a client holding nothing: the whole document as one V2 diff. */
async function recover(t: T, id: string): Promise<ArrayBuffer | undefined> {
  const vector = Y.encodeStateVector(new Y.Doc());
  const viaApp = (await t.query(replicateTasks.delta!, { document: id, vector: vector.buffer })) as {
    mode: string;
    diff?: ArrayBuffer;
  };
  expect(viaApp.mode).toBe("recovery");
  const viaComponent = (await t.run(async (ctx) =>
    ctx.runQuery(replicateComponent().mutations.recovery, { collection: "tasks", document: id, vector: vector.buffer }),
  )) as { diff?: ArrayBuffer };
  expect(new Uint8Array(viaComponent.diff!)).toEqual(new Uint8Array(viaApp.diff!));
  return viaApp.diff;
}

describe("deltas reach Replicate's clients", () => {
  test("an edge write (applyDeltaFromEdge, registered in sync.ts) is served by delta/stream/recovery", async () => {
    const t = makeReplicateTest();
    const edge = new Edge("edge-a", 101);
    const [applied] = await t.mutation(api.sync.applyDeltaFromEdge, {
      syncKey: SYNC_KEY,
      deltas: [edge.set("doc-e", { id: "doc-e", title: "from the edge", completed: false })],
    });
    expect(applied).toMatchObject({ status: "applied" });
    expect(hasReplicateComponent()).toBe(true); // sync.ts's module-level registration ran
    await t.mutation(api.sync.applyDeltaFromEdge, {
      syncKey: SYNC_KEY,
      deltas: [edge.set("doc-e", { completed: true })],
    });

    const changes = await streamAll(t);
    expect(changes.map((c) => [c.document, c.type, c.exists])).toEqual([
      ["doc-e", "delta", true],
      ["doc-e", "delta", true],
    ]);
    expect(changes[1]!.seq).toBeGreaterThan(changes[0]!.seq);
    const row = (await taskRow(t, "doc-e"))!;
    expect(row).toMatchObject({ id: "doc-e", title: "from the edge", completed: true });
    expect(rebuild(changes.map((c) => c.bytes)).fields).toEqual(userFields(row));
    expect(rebuild([(await recover(t, "doc-e"))!]).fields).toEqual(userFields(row));

    // The component's own stream serves the same bytes.
    const raw = (await t.run(async (ctx) =>
      ctx.runQuery(replicateComponent().mutations.stream, { collection: "tasks", seq: 0 }),
    )) as { changes: StreamChange[] };
    expect(raw.changes.map((c) => new Uint8Array(c.bytes))).toEqual(changes.map((c) => new Uint8Array(c.bytes)));
    // And they are the deltas dink logged for the edges.
    const logged = await t.run(async (ctx) => ctx.db.query("sync_deltas").collect());
    expect(logged.map((d) => new Uint8Array(d.delta))).toEqual(changes.map((c) => new Uint8Array(c.bytes)));
  });

  test("syncMutation writes (tasks.ts, own module graph) via DINK_REPLICATE_COMPONENT: create, toggle, remove", async () => {
    const t = makeReplicateTest();
    vi.stubEnv(DINK_REPLICATE_COMPONENT, "replicate");
    const id = await inFreshGraph(() => t.mutation(api.tasks.create, { title: "from Convex" }));
    await inFreshGraph(() => t.mutation(api.tasks.toggle, { id }));
    const row = (await t.run(async (ctx) => ctx.db.get(id)))!;
    expect(row).toMatchObject({ title: "from Convex", completed: true });

    let changes = await streamAll(t);
    expect(changes.map((c) => [c.document, c.exists])).toEqual([
      [row.id, true],
      [row.id, true],
    ]);
    expect(rebuild(changes.map((c) => c.bytes)).fields).toEqual(userFields(row));
    expect(rebuild([(await recover(t, row.id))!]).fields).toEqual(userFields(row));

    await inFreshGraph(() => t.mutation(api.tasks.remove, { id }));
    changes = await streamAll(t);
    expect(changes).toHaveLength(3);
    // Replicate's clients drop a document whose host row is gone (exists: false) ...
    expect(changes.map((c) => c.exists)).toEqual([false, false, false]);
    // ... and the bytes carry the tombstone in `_meta`, as Replicate's own deletes do.
    expect(rebuild(changes.map((c) => c.bytes)).meta).toMatchObject({ _deleted: true });
  });

  test("an edge write and a syncMutation write interleave in one collection stream", async () => {
    const t = makeReplicateTest();
    vi.stubEnv(DINK_REPLICATE_COMPONENT, "true");
    const edge = new Edge("edge-b", 202);
    await t.mutation(api.sync.applyDeltaFromEdge, {
      syncKey: SYNC_KEY,
      deltas: [edge.set("doc-1", { id: "doc-1", title: "edge", completed: false })],
    });
    const id = await inFreshGraph(() => t.mutation(api.tasks.create, { title: "convex" }));
    const convexRow = (await t.run(async (ctx) => ctx.db.get(id)))!;
    const changes = await streamAll(t);
    expect(changes.map((c) => c.document)).toEqual(["doc-1", convexRow.id]);
    expect(rebuild([changes[0]!.bytes]).fields).toEqual(userFields((await taskRow(t, "doc-1"))!));
    expect(rebuild([changes[1]!.bytes]).fields).toEqual(userFields(convexRow));
  });
});

describe("fresh module graphs and failures", () => {
  test("without the environment variable, tasks.ts's own graph has no component: nothing forwarded", async () => {
    const t = makeReplicateTest();
    const id = await inFreshGraph(() => t.mutation(api.tasks.create, { title: "not forwarded" }));
    expect(hasReplicateComponent()).toBe(false);
    const row = (await t.run(async (ctx) => ctx.db.get(id)))!;
    const state = await t.run(async (ctx) =>
      ctx.runQuery(replicateComponent().mutations.getDocumentState, { collection: "tasks", document: row.id }),
    );
    expect(state).toBeNull();
    const logged = await t.run(async (ctx) => ctx.db.query("sync_deltas").collect());
    expect(logged).toHaveLength(1); // dink itself is unaffected
  });

  test("a forwarding failure aborts the whole write (syncMutation and applyDeltaFromEdge)", async () => {
    const t = makeReplicateTest();
    vi.stubEnv(DINK_REPLICATE_COMPONENT, "noSuchReplicate");
    const before = await dumpAll(t);
    await expect(inFreshGraph(() => t.mutation(api.tasks.create, { title: "doomed" }))).rejects.toThrow(
      /forwarding tasks\/.* to Replicate failed/,
    );
    await expect(
      inFreshGraph(() =>
        t.mutation(api.sync.applyDeltaFromEdge, {
          syncKey: SYNC_KEY,
          deltas: [new Edge("edge-c", 303).set("doc-x", { id: "doc-x", title: "x", completed: false })],
        }),
      ),
    ).rejects.toThrow(/to Replicate failed/);
    expect(await dumpAll(t)).toEqual(before);
  });

  test("registry API: register, get, has, unregister; forwardToReplicate by hand", async () => {
    expect(getReplicateComponent()).toBeNull();
    expect(hasReplicateComponent()).toBe(false);
    const noCtx = {} as ReplicateCtx;
    expect(await forwardToReplicate(noCtx, { collection: "tasks", document: "d", bytes: new Uint8Array() })).toBeNull();
    expect(() => registerReplicateComponent(42)).toThrow(/components.replicate/);

    const t = makeReplicateTest();
    const doc = new Y.Doc();
    doc.getMap("fields").set("id", "manual");
    doc.getMap("fields").set("title", "by hand");
    const bytes = Y.encodeStateAsUpdateV2(doc);
    const result = await t.run(async (ctx) => {
      const component = replicateComponent();
      registerReplicateComponent(component);
      expect(hasReplicateComponent()).toBe(true);
      expect(getReplicateComponent() === component).toBe(true);
      await expect(
        forwardToReplicate(ctx, { collection: "tasks", document: "manual", bytes: Y.encodeStateAsUpdate(doc) }),
      ).rejects.toThrow(/to Replicate failed/); // V1 bytes are refused before Replicate stores them
      return await forwardToReplicate(ctx, { collection: "tasks", document: "manual", bytes, operation: "insert" });
    });
    expect(result).toMatchObject({ success: true });
    registerReplicateComponent(null);
    expect(hasReplicateComponent()).toBe(false);
    const state = (await t.run(async (ctx) =>
      ctx.runQuery(replicateComponent().mutations.getDocumentState, { collection: "tasks", document: "manual" }),
    )) as { bytes: ArrayBuffer };
    expect(rebuild([state.bytes]).fields).toEqual({ id: "manual", title: "by hand" });
  });
});

describe("with nothing registered", () => {
  test("every path behaves as before (no Replicate component in the app at all)", async () => {
    const t = makeSyncTest();
    const id = await t.mutation(api.tasks.create, { title: "plain" });
    await t.mutation(api.tasks.toggle, { id });
    const [applied] = await t.mutation(api.sync.applyDeltaFromEdge, {
      syncKey: SYNC_KEY,
      deltas: [new Edge("edge-d", 404).set("doc-p", { id: "doc-p", title: "p", completed: false })],
    });
    expect(applied).toMatchObject({ status: "applied", version: 1 });
    await t.mutation(api.tasks.remove, { id });
    const logged = await t.run(async (ctx) => ctx.db.query("sync_deltas").collect());
    expect(logged).toHaveLength(4);
    expect(hasReplicateComponent()).toBe(false);
  });
});
