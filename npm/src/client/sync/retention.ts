/**
 * Retention of the delta log (`sync_deltas`): the hourly purge deletes each shard's changes older
 * than the retention window, oldest first, and raises the shard's compaction floor to the last
 * sequence number it deleted. Only a prefix of a shard is ever deleted, so "seq <= floor" is
 * exactly the purged part; the feed (feed.ts) serves a snapshot to any cursor below a floor.
 *
 * The outbox reads an item's bytes from its log row, so purging the log row of a change not yet
 * delivered moves its bytes onto the outbox row first: nothing undelivered is lost, and the bytes
 * are still stored once.
 *
 * Nothing else needs old deltas: documents keep their whole state in `sync_documents`, and an
 * edge that resends an operation whose log row was purged gets a noop, because the CRDT already
 * holds what it adds.
 */
import { outboxEventId, type SyncDeltaRow, type SyncWriter } from "./rows.js";

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
      await keepUndelivered(db, row);
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

/** Copies a log row's bytes onto its outbox item if that item still needs them. */
async function keepUndelivered(db: SyncWriter, row: SyncDeltaRow): Promise<void> {
  const item = await db
    .query("sync_outbox")
    .withIndex("by_event", (q) => q.eq("eventId", outboxEventId(row.collection, row.docId, row.version)))
    .first();
  if (item !== null && item.delta === undefined && item.status !== "sent") {
    await db.patch(item._id, { delta: row.delta });
  }
}
