/**
 * No factory-made public function reads or writes synced data without the sync key or the app's
 * authorize hook; getDocumentState and listDocumentsPaginated answer when allowed.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import * as Y from "yjs";
import { api } from "../convex/_generated/api";
import { fns, makeSyncTest, SYNC_KEY } from "./support/app";
import { dumpAll } from "./support/dump";
import { Edge } from "./support/edge";

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

type T = ReturnType<typeof makeSyncTest>;

const calls = (syncKey?: string) => {
  const key = syncKey === undefined ? {} : { syncKey };
  const edge = new Edge("edge-auth", 601);
  return {
    applyDeltaFromEdge: (t: T) =>
      t.mutation(api.sync.applyDeltaFromEdge, {
        ...key,
        deltas: [edge.set("z", { id: "z", title: "z", completed: false })],
      }),
    getDocumentState: (t: T) => t.query(api.sync.getDocumentState, { ...key, collection: "tasks", docId: "a1" }),
    listDocuments: (t: T) => t.query(api.sync.listDocuments, { ...key, collection: "tasks" }),
    listDocumentsPaginated: (t: T) =>
      t.query(api.sync.listDocumentsPaginated, {
        ...key,
        collection: "tasks",
        paginationOpts: { numItems: 10, cursor: null },
      }),
  };
};

async function seeded() {
  vi.stubEnv("DINK_APP_SYNC_KEY", SYNC_KEY);
  const t = makeSyncTest();
  await t.mutation(fns.insertTask!, { id: "a1", title: "secret", completed: false });
  return t;
}

describe("sync functions refuse callers without the key or the hook", () => {
  test("without a key, with a wrong key: UNAUTHORIZED, nothing read or written", async () => {
    const t = await seeded();
    const before = await dumpAll(t);
    for (const [name, call] of Object.entries(calls())) {
      await expect(call(t), name).rejects.toThrow(/missing sync key/);
    }
    for (const [name, call] of Object.entries(calls("nope"))) {
      await expect(call(t), name).rejects.toThrow(/invalid sync key/);
    }
    expect(await dumpAll(t)).toEqual(before);
  });

  test("the error is structured (ConvexError data with a code)", async () => {
    const t = await seeded();
    const error = await calls("nope")
      .listDocuments(t)
      .catch((e: unknown) => e);
    expect((error as { data?: unknown }).data).toEqual({ code: "UNAUTHORIZED", message: "invalid sync key" });
  });

  test("a deployment without DINK_APP_SYNC_KEY answers with the seed's message", async () => {
    const t = await seeded();
    vi.stubEnv("DINK_APP_SYNC_KEY", "");
    for (const [name, call] of Object.entries(calls(SYNC_KEY))) {
      await expect(call(t), name).rejects.toThrow("DINK_APP_SYNC_KEY environment variable is not configured");
    }
  });

  test("with the key, every function answers", async () => {
    const t = await seeded();
    const ok = calls(SYNC_KEY);
    expect((await ok.applyDeltaFromEdge(t))[0]!.status).toBe("applied");
    const doc = await ok.getDocumentState(t);
    expect(doc).toMatchObject({ docId: "a1", version: 1, deleted: false });
    const y = new Y.Doc();
    Y.applyUpdateV2(y, new Uint8Array(doc!.state));
    expect(y.getMap("fields").toJSON()).toEqual({ id: "a1", title: "secret", completed: false });
    expect((await ok.listDocuments(t)).items.map((i) => i.docId).sort()).toEqual(["a1", "z"]);
    const page = await ok.listDocumentsPaginated(t);
    expect(page.page.map((d) => d.docId).sort()).toEqual(["a1", "z"]);
    expect(page.isDone).toBe(true);
  });

  test("getDocumentState answers only what a given state vector lacks", async () => {
    const t = await seeded();
    const full = await t.query(api.sync.getDocumentState, { syncKey: SYNC_KEY, collection: "tasks", docId: "a1" });
    const edge = new Y.Doc();
    Y.applyUpdateV2(edge, new Uint8Array(full!.state));
    const row = await t.run(async (ctx) =>
      ctx.db
        .query("tasks")
        .withIndex("by_doc_id", (q) => q.eq("id", "a1"))
        .unique(),
    );
    await t.mutation(api.tasks.toggle, { id: row!._id });
    const diff = await t.query(api.sync.getDocumentState, {
      syncKey: SYNC_KEY,
      collection: "tasks",
      docId: "a1",
      stateVector: Y.encodeStateVector(edge).slice().buffer,
    });
    expect(diff!.version).toBe(2);
    expect(diff!.state.byteLength).toBeLessThan(full!.state.byteLength + 20);
    Y.applyUpdateV2(edge, new Uint8Array(diff!.state));
    expect(edge.getMap("fields").toJSON()).toEqual({ id: "a1", title: "secret", completed: true });
    expect(
      await t.query(api.sync.getDocumentState, { syncKey: SYNC_KEY, collection: "tasks", docId: "none" }),
    ).toBeNull();
  });

  test("the authorize hook decides for callers without a key", async () => {
    const t = await seeded();
    const before = await dumpAll(t);
    const edge = new Edge("edge-hook", 602);
    const args = { deltas: [edge.set("h", { id: "h", title: "h", completed: false })] };
    // Anonymous: refused by the hook, nothing written.
    await expect(t.mutation(fns.hookedApply!, args)).rejects.toThrow(/not authorized/);
    await expect(t.query(fns.hookedGetState!, { collection: "tasks", docId: "a1" })).rejects.toThrow(/not authorized/);
    expect(await dumpAll(t)).toEqual(before);
    // Signed in as the allowed subject: allowed.
    const admin = t.withIdentity({ subject: "sync-admin" });
    expect((await admin.mutation(fns.hookedApply!, args))[0].status).toBe("applied");
    expect(await admin.query(fns.hookedGetState!, { collection: "tasks", docId: "a1" })).toMatchObject({ docId: "a1" });
    expect((await admin.query(fns.hookedList!, { collection: "tasks" })).items.length).toBe(2);
    // The hook sees the arguments (without syncKey) and may refuse per call.
    await expect(admin.query(fns.hookedList!, { collection: "forbidden" })).rejects.toThrow(/not authorized/);
    // Someone else: refused.
    await expect(
      t.withIdentity({ subject: "mallory" }).query(fns.hookedPaginated!, {
        collection: "tasks",
        paginationOpts: { numItems: 5, cursor: null },
      }),
    ).rejects.toThrow(/not authorized/);
    // A presented key decides alone, even where a hook exists: a wrong key is refused.
    await expect(admin.query(fns.hookedList!, { syncKey: "wrong", collection: "tasks" })).rejects.toThrow(
      /invalid sync key/,
    );
  });
});
