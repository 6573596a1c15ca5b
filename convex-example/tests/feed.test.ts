/**
 * The catch-up feed (`listDocuments`): interleaved writers (edge ingests and Convex mutations on
 * many documents) and readers paging with the cursor; the union of the pages is exactly the delta
 * log, nothing skipped or repeated. Writes spread over the shard counters: no counter row is
 * written by every change.
 */
import { describe, expect, test } from "vitest";
import { api } from "../convex/_generated/api";
import { fns, makeSyncTest, SYNC_KEY, useSyncTestEnv } from "./support/app";
import { prng } from "../../bench/prng.mjs";
import { Edge } from "./support/edge";

useSyncTestEnv();


describe("catch-up feed", () => {
  test("never skips or repeats a committed change under interleaved writers and readers", async () => {
    const t = makeSyncTest();
    const rand = prng(7);
    const edges = [new Edge("feed-a", 501), new Edge("feed-b", 502), new Edge("feed-c", 503)];
    const seen: string[] = [];
    let cursor: string | undefined;
    const read = async (limit: number) => {
      const page = await t.query(api.sync.listDocuments, { syncKey: SYNC_KEY, collection: "tasks", since: cursor, limit });
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
    const page = await t.query(api.sync.listDocuments, { syncKey: SYNC_KEY, collection: "tasks", limit: 5, includeDeltas: true });
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
      const seqs = deltas.filter((d) => d.shard === shard.shard).map((d) => d.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: shard.seq }, (_, i) => i + 1));
    }
  });
});
