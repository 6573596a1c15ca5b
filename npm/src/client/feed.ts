/**
 * The catch-up feed: every change of a collection, read from `sync_deltas` shard by shard in
 * sequence order. The cursor is the vector of the last sequence number read in each shard.
 *
 * Why it never skips a committed change: a shard's sequence numbers are given out under that
 * shard's counter row (rows.ts), so its writers commit in sequence order; a reader that sees seq
 * k+1 of a shard has therefore seen seq k. (Ordering by `_creationTime` would not do: Convex
 * commits out of that order.) Writers of documents in different shards never touch the same
 * counter row, so the feed does not serialise a collection's writes.
 */
import { ConvexError } from "convex/values";
import { FEED_SHARDS } from "./tables.js";
import type { SyncReader } from "./rows.js";
import type { FeedItem, FeedPage } from "./validators.js";

interface FeedCursor {
  /** Shard read first on the next page (rotates, so a busy shard cannot starve the others). */
  start: number;
  /** Last sequence number read, per shard. */
  seqs: number[];
}

const PREFIX = "f1";

export function encodeFeedCursor(cursor: FeedCursor): string {
  return [PREFIX, cursor.start.toString(36), cursor.seqs.map((s) => s.toString(36)).join(".")].join(":");
}

function badCursor(): never {
  throw new ConvexError({ code: "BAD_REQUEST", message: "malformed feed cursor (pass back a cursor the feed returned)" });
}

export function decodeFeedCursor(text: string | undefined): FeedCursor {
  if (text === undefined || text === "") return { start: 0, seqs: new Array<number>(FEED_SHARDS).fill(0) };
  const parts = text.split(":");
  if (parts.length !== 3 || parts[0] !== PREFIX) badCursor();
  const int = (s: string): number => {
    if (!/^[0-9a-z]{1,12}$/.test(s)) badCursor();
    return parseInt(s, 36);
  };
  const start = int(parts[1]!);
  const seqs = parts[2]!.split(".").map(int);
  if (start >= FEED_SHARDS || seqs.length !== FEED_SHARDS) badCursor();
  return { start, seqs };
}

/**
 * One page of at most `limit` changes after `since`. Reads at most `limit` + FEED_SHARDS rows:
 * shards are read in turn, each for what is left of the page plus one row to tell whether more
 * is waiting.
 */
export async function readFeed(
  db: SyncReader,
  collection: string,
  since: string | undefined,
  limit: number,
  includeDeltas: boolean,
): Promise<FeedPage> {
  const cursor = decodeFeedCursor(since);
  const seqs = cursor.seqs.slice();
  const items: FeedItem[] = [];
  let more = false;
  let nextStart = cursor.start;
  let startChosen = false;
  for (let i = 0; i < FEED_SHARDS; i++) {
    const shard = (cursor.start + i) % FEED_SHARDS;
    const after = seqs[shard]!;
    const remaining = limit - items.length;
    const rows = await db
      .query("sync_deltas")
      .withIndex("by_feed", (q) => q.eq("collection", collection).eq("shard", shard).gt("seq", after))
      .take(remaining + 1);
    const taken = rows.slice(0, remaining);
    for (const row of taken) {
      items.push({
        docId: row.docId,
        version: row.version,
        origin: row.origin,
        ...(includeDeltas ? { delta: row.delta } : {}),
      });
      seqs[shard] = row.seq;
    }
    if (rows.length > remaining) {
      more = true;
      // The first shard left unfinished is read first next time.
      if (!startChosen) {
        nextStart = shard;
        startChosen = true;
      }
    }
  }
  return { items, cursor: encodeFeedCursor({ start: nextStart, seqs }), more };
}
