/**
 * Retention of the delta log (`sync_deltas`): the hourly purge deletes each shard's changes older
 * than the retention window, oldest first, and raises the shard's compaction floor to the last
 * sequence number it deleted. Only a prefix of a shard is ever deleted, so "seq <= floor" is
 * exactly the purged part; the feed (feed.ts) serves a snapshot to any cursor below a floor.
 *
 * Nothing else needs old deltas: documents keep their whole state in `sync_documents`, and an
 * edge that resends an operation whose log row was purged gets a noop, because the CRDT already
 * holds what it adds.
 */
import type { SyncWriter } from "./rows.js";

export interface DeltaPurgeResult {
  purged: number;
  /** Deltas past the retention window remain (the budget ran out). */
  more: boolean;
}

/**
 * Deletes up to `budget` deltas created before `cutoff` (ms since the epoch), shard by shard.
 * Reads the shard counters (16 per collection) and at most `budget` + one row per shard.
 */
export async function purgeDeltaLog(db: SyncWriter, cutoff: number, budget: number): Promise<DeltaPurgeResult> {
  let purged = 0;
  for await (const shard of db.query("sync_feed_shards")) {
    if (purged >= budget) return { purged, more: true };
    const floor = shard.floor ?? 0;
    const rows = await db
      .query("sync_deltas")
      .withIndex("by_feed", (q) => q.eq("collection", shard.collection).eq("shard", shard.shard).gt("seq", floor))
      .take(budget - purged + 1);
    let newFloor = floor;
    let outOfBudget = false;
    for (const row of rows) {
      if (row._creationTime >= cutoff) break;
      if (purged >= budget) {
        outOfBudget = true;
        break;
      }
      await db.delete(row._id);
      newFloor = row.seq;
      purged += 1;
    }
    if (newFloor > floor) await db.patch(shard._id, { floor: newFloor });
    if (outOfBudget) return { purged, more: true };
  }
  return { purged, more: false };
}
