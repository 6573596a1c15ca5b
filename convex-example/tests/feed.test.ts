/**
 * The catch-up feed (`listDocuments`): interleaved writers (edge ingests and Convex mutations on
 * many documents) and readers paging with the cursor; the union of the pages is exactly the delta
 * log, nothing skipped or repeated. Writes spread over the shard counters: no counter row is
 * written by every change.
 */
import { describe, expect, test, vi } from "vitest";
import * as Y from "yjs";
import { api, internal } from "../convex/_generated/api";
import { fns, makeSyncTest, SYNC_KEY, useSyncTestEnv } from "./support/app";
import { prng } from "@dink-convex/testkit";
import { buf, Edge, viewOf } from "./support/edge";
import { purgeDeltaLog } from "../../npm/src/client/sync/retention";
import { syncWriter } from "../../npm/src/client/sync/rows";

useSyncTestEnv();

type SyncTest = ReturnType<typeof makeSyncTest>;
const DAY = 24 * 60 * 60 * 1000;

/** A feed follower with deltas: keeps its own Yjs copy of every document it hears about. */
class Follower {
  readonly docs = new Map<string, Y.Doc>();
  cursor: string | undefined;
  snapshotItems = 0;
  logItems = 0;
  constructor(private readonly t: SyncTest) {}

  async page(limit: number) {
    const page = await this.t.query(api.sync.listDocuments, {
      syncKey: SYNC_KEY,
      collection: "tasks",
      since: this.cursor,
      limit,
      includeDeltas: true,
    });
    for (const item of page.items) {
      let doc = this.docs.get(item.docId);
      if (doc === undefined) this.docs.set(item.docId, (doc = new Y.Doc()));
      Y.applyUpdateV2(doc, new Uint8Array(item.delta!));
    }
    if (page.snapshot) this.snapshotItems += page.items.length;
    else this.logItems += page.items.length;
    this.cursor = page.cursor;
    return page;
  }

  async catchUp(limit: number): Promise<void> {
    for (let page = await this.page(limit); page.more; page = await this.page(limit));
  }

  view(docId: string) {
    const doc = this.docs.get(docId);
    return doc === undefined ? undefined : viewOf([buf(Y.encodeStateAsUpdateV2(doc))]);
  }
}

/** Every document of the collection as the server holds it. */
async function serverRows(t: SyncTest) {
  const docs = await t.run(async (ctx) => ctx.db.query("sync_documents").collect());
  return docs.filter((d) => d.collection === "tasks").map((d) => ({ docId: d.docId, view: viewOf([d.state]) }));
}

describe("catch-up feed", () => {
  test("never skips or repeats a committed change under interleaved writers and readers", async () => {
    const t = makeSyncTest();
    const rand = prng(7);
    const edges = [new Edge("feed-a", 501), new Edge("feed-b", 502), new Edge("feed-c", 503)];
    const seen: string[] = [];
    let cursor: string | undefined;
    const read = async (limit: number) => {
      const page = await t.query(api.sync.listDocuments, {
        syncKey: SYNC_KEY,
        collection: "tasks",
        since: cursor,
        limit,
      });
      for (const item of page.items) seen.push(`${item.docId}@${item.version}`);
      cursor = page.cursor;
      return page;
    };
    const created = new Set<string>();
    const writes: Promise<unknown>[] = [];
    let reader: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < 120; i++) {
      const docId = `f${Math.floor(rand() * 40)}`;
      if (rand() < 0.5) {
        const edge = edges[Math.floor(rand() * edges.length)]!;
        const fields = created.has(docId) ? { title: `t${i}` } : { id: docId, title: `t${i}`, completed: false };
        created.add(docId);
        // Launched without awaiting: writers run interleaved with each other and the readers.
        writes.push(t.mutation(api.sync.applyDeltaFromEdge, { syncKey: SYNC_KEY, deltas: [edge.set(docId, fields)] }));
      } else {
        writes.push(t.mutation(fns.insertTask!, { id: `cx${i}`, title: `c${i}`, completed: rand() < 0.5 }));
      }
      if (i % 7 === 0) {
        // One reader, paging with its cursor, its pages interleaved with the writers.
        const limit = 1 + Math.floor(rand() * 10);
        reader = reader.then(() => read(limit));
      }
    }
    await Promise.all([...writes, reader]);
    // Drain what is left.
    for (let page = await read(25); page.more; page = await read(25));
    const log = await t.run(async (ctx) => ctx.db.query("sync_deltas").collect());
    const expected = log.filter((d) => d.collection === "tasks").map((d) => `${d.docId}@${d.version}`);
    expect(seen).toHaveLength(new Set(seen).size); // no repeats
    expect(new Set(seen)).toEqual(new Set(expected)); // nothing skipped
    expect(expected.length).toBeGreaterThan(100);
    // A reader at the head sees nothing more.
    const tail = await read(100);
    expect(tail).toMatchObject({ items: [], more: false });
  });

  test("pages are bounded and carry deltas on request; a bad cursor is refused", async () => {
    const t = makeSyncTest();
    for (let i = 0; i < 12; i++) await t.mutation(fns.insertTask!, { id: `p${i}`, title: `p${i}`, completed: false });
    const page = await t.query(api.sync.listDocuments, {
      syncKey: SYNC_KEY,
      collection: "tasks",
      limit: 5,
      includeDeltas: true,
    });
    expect(page.items).toHaveLength(5);
    expect(page.more).toBe(true);
    for (const item of page.items) {
      expect(item.origin).toBe("convex");
      expect(item.delta).toBeInstanceOf(ArrayBuffer);
    }
    const other = await t.query(api.sync.listDocuments, { syncKey: SYNC_KEY, collection: "elsewhere" });
    expect(other).toMatchObject({ items: [], more: false });
    await expect(
      t.query(api.sync.listDocuments, { syncKey: SYNC_KEY, collection: "tasks", since: "garbage" }),
    ).rejects.toThrow(/cursor/);
  });

  test("writes to a collection spread over the shard counters", async () => {
    const t = makeSyncTest();
    const changes = 64;
    for (let i = 0; i < changes; i++) await t.mutation(fns.insertTask!, { id: `s${i}`, title: "s", completed: false });
    const { shards, deltas } = await t.run(async (ctx) => ({
      shards: await ctx.db.query("sync_feed_shards").collect(),
      deltas: await ctx.db.query("sync_deltas").collect(),
    }));
    // Different documents hit different counter rows ...
    expect(shards.length).toBeGreaterThanOrEqual(10);
    expect(new Set(deltas.map((d) => d.shard)).size).toBe(shards.length);
    // ... and no counter row took every change (each counter's seq is its number of writes).
    expect(Math.max(...shards.map((s) => s.seq))).toBeLessThan(changes / 3);
    expect(shards.reduce((sum, s) => sum + s.seq, 0)).toBe(changes);
    // Within a shard the sequence is gapless and each delta of a document stays in one shard.
    for (const shard of shards) {
      const seqs = deltas
        .filter((d) => d.shard === shard.shard)
        .map((d) => d.seq)
        .sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: shard.seq }, (_, i) => i + 1));
    }
  });

  test("the purge compacts the log behind per-shard floors; a cursor below a floor catches up from a snapshot", async () => {
    const t = makeSyncTest();
    const edge = new Edge("ret-a", 601);
    const ids: string[] = [];
    // Old history: 30 documents from Convex and an edge, edits, two deletes.
    for (let i = 0; i < 20; i++)
      ids.push(await t.mutation(fns.insertTask!, { id: `r${i}`, title: `r${i}`, completed: false }));
    for (let i = 20; i < 30; i++) {
      await t.mutation(api.sync.applyDeltaFromEdge, {
        syncKey: SYNC_KEY,
        deltas: [edge.set(`r${i}`, { id: `r${i}`, title: `e${i}`, completed: true })],
      });
    }
    for (let i = 0; i < 20; i += 4) await t.mutation(fns.patchTask!, { id: ids[i]!, title: `r${i}!` });
    await t.mutation(fns.deleteTask!, { id: ids[1]! });
    await t.mutation(api.sync.applyDeltaFromEdge, { syncKey: SYNC_KEY, deltas: [edge.remove("r21")] });
    // `current` follows the feed to the head; `behind` reads one page, then goes offline.
    const current = new Follower(t);
    await current.catchUp(50);
    const behind = new Follower(t);
    await behind.page(4);
    const oldDeltas = (await t.run(async (ctx) => ctx.db.query("sync_deltas").collect())).length;
    expect(oldDeltas).toBe(37);

    // Eight days later: new changes, then the hourly purge (7-day window by default).
    vi.advanceTimersByTime(8 * DAY);
    await t.mutation(fns.patchTask!, { id: ids[0]!, completed: true });
    await t.mutation(fns.insertTask!, { id: "late", title: "late", completed: false });
    await t.mutation(api.sync.applyDeltaFromEdge, {
      syncKey: SYNC_KEY,
      deltas: [edge.set("r22", { title: "late edit" })],
    });
    const purge = await t.action(internal.outboxProcessor.processOutboxBatch, { purge: true });
    expect(purge).toMatchObject({ status: "purged", deltasPurged: oldDeltas });
    const { deltas, shards } = await t.run(async (ctx) => ({
      deltas: await ctx.db.query("sync_deltas").collect(),
      shards: await ctx.db.query("sync_feed_shards").collect(),
    }));
    expect(deltas).toHaveLength(3);
    // Each shard's floor is exactly the last purged seq: everything at or below it is gone.
    for (const shard of shards) {
      const left = deltas.filter((d) => d.shard === shard.shard).map((d) => d.seq);
      expect(left.every((seq) => seq > (shard.floor ?? 0))).toBe(true);
      expect(shard.seq).toBe((shard.floor ?? 0) + left.length);
    }
    // A second purge finds nothing more.
    expect(await t.action(internal.outboxProcessor.processOutboxBatch, { purge: true })).toMatchObject({
      deltasPurged: 0,
    });

    // The follower at the head stays in the log and gets just the three new changes.
    const before = current.logItems;
    await current.catchUp(50);
    expect(current.snapshotItems).toBe(0);
    expect(current.logItems - before).toBe(3);
    // The one below the floor gets a snapshot of all 31 documents (tombstones included), in
    // pages, then continues in the log.
    await behind.catchUp(7);
    expect(behind.snapshotItems).toBe(31);
    // A new follower (no cursor) also starts from a snapshot.
    const fresh = new Follower(t);
    await fresh.catchUp(10);
    expect(fresh.snapshotItems).toBe(31);

    const rows = await serverRows(t);
    expect(rows).toHaveLength(31);
    for (const { docId, view } of rows) {
      for (const follower of [current, behind, fresh]) expect(follower.view(docId), docId).toEqual(view);
    }
    expect(rows.find((r) => r.docId === "r1")?.view.deleted).toBe(true);
    expect(rows.find((r) => r.docId === "r22")?.view.fields).toMatchObject({ title: "late edit" });
  });

  test("changes committed while a snapshot is being paged are delivered after it", async () => {
    const t = makeSyncTest();
    for (let i = 0; i < 12; i++) await t.mutation(fns.insertTask!, { id: `w${i}`, title: `w${i}`, completed: false });
    vi.advanceTimersByTime(8 * DAY);
    await t.action(internal.outboxProcessor.processOutboxBatch, { purge: true });
    const follower = new Follower(t);
    const first = await follower.page(5);
    expect(first).toMatchObject({ snapshot: true, more: true });
    // Writes between snapshot pages: to a document already sent, to one not yet sent, a new one.
    const rows = await t.run(async (ctx) => ctx.db.query("tasks").collect());
    const byId = new Map(rows.map((r) => [r.id, r._id]));
    await t.mutation(fns.patchTask!, { id: byId.get("w0")!, title: "changed after it was sent" });
    await t.mutation(fns.patchTask!, { id: byId.get("w9")!, title: "changed before it was sent" });
    await t.mutation(fns.insertTask!, { id: "w99", title: "new", completed: true });
    await follower.catchUp(5);
    // The snapshot pages documents in id order, so it also sends w99 (after w9); then the log
    // repeats all three changes made during the snapshot (harmless for Yjs).
    expect(follower.snapshotItems).toBe(13);
    expect(follower.logItems).toBe(3);
    for (const { docId, view } of await serverRows(t)) expect(follower.view(docId), docId).toEqual(view);
    // At the head: nothing more, and the cursor is a log cursor again.
    expect(await follower.page(5)).toMatchObject({ items: [], more: false, snapshot: false });
  });

  test("snapshot cursors are checked like log cursors", async () => {
    const t = makeSyncTest();
    const list = (since: string) => t.query(api.sync.listDocuments, { syncKey: SYNC_KEY, collection: "tasks", since });
    for (const since of [
      "s1:0:",
      "s1:0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0:x",
      "s1:0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0:d%E0%A4%A",
      "s2:0:0",
    ]) {
      await expect(list(since), since).rejects.toThrow(/cursor/);
    }
    const zero = new Array(16).fill("0").join(".");
    expect(await list(`s1:${zero}:d${encodeURIComponent("a:b")}`)).toMatchObject({
      items: [],
      more: false,
      snapshot: true,
    });
  });

  test("a purge with a small budget deletes shard prefixes in steps and reports what is left", async () => {
    const t = makeSyncTest();
    for (let i = 0; i < 40; i++) await t.mutation(fns.insertTask!, { id: `b${i}`, title: "b", completed: false });
    vi.advanceTimersByTime(2 * DAY);
    await t.mutation(fns.insertTask!, { id: "recent", title: "r", completed: false });
    const cutoff = Date.now() - DAY;
    const steps: Array<{ purged: number; more: boolean }> = [];
    for (let i = 0; i < 10; i++) {
      const step = await t.run(async (ctx) => purgeDeltaLog(syncWriter(ctx.db), cutoff, 15));
      steps.push(step);
      // After every step, each shard's floor is exactly its deleted prefix.
      const { deltas, shards } = await t.run(async (ctx) => ({
        deltas: await ctx.db.query("sync_deltas").collect(),
        shards: await ctx.db.query("sync_feed_shards").collect(),
      }));
      for (const shard of shards) {
        const left = deltas
          .filter((d) => d.shard === shard.shard)
          .map((d) => d.seq)
          .sort((a, b) => a - b);
        const floor = shard.floor ?? 0;
        expect(left).toEqual(Array.from({ length: shard.seq - floor }, (_, k) => floor + k + 1));
      }
      if (!step.more) break;
    }
    expect(steps).toEqual([
      { purged: 15, more: true },
      { purged: 15, more: true },
      { purged: 10, more: false },
    ]);
    const left = await t.run(async (ctx) => ctx.db.query("sync_deltas").collect());
    expect(left.map((d) => d.docId)).toEqual(["recent"]);
  });
});
