/**
 * The catch-up feed: every change of a collection, read from `sync_deltas` shard by shard in
 * sequence order. The cursor is the vector of the last sequence number read in each shard.
 *
 * Why it never skips a committed change: a shard's sequence numbers are given out under that
 * shard's counter row (rows.ts), so its writers commit in sequence order; a reader that sees seq
 * k+1 of a shard has therefore seen seq k. (Ordering by `_creationTime` would not do: Convex
 * commits out of that order.) Writers of documents in different shards never touch the same
 * counter row, so the feed does not serialise a collection's writes.
 *
 * Below the compaction floor: the retention purge (feedRetention.ts) deletes a prefix of each
 * shard's log and records its last purged seq as the shard's `floor`. A cursor that has not read
 * up to a shard's floor would miss purged changes, so the feed falls back to a snapshot on its
 * own: it pages through the collection's documents, each item carrying the document's whole state
 * (a Yjs update, applied like a delta), and then resumes the log at the head it noted when the
 * snapshot began. Changes committed during the snapshot are in the log after that head, so
 * nothing is skipped; a change both in a snapshot state and in the log is applied twice, which
 * Yjs makes harmless. The page says `snapshot: true` so the edge knows what it is reading.
 */
import { ConvexError } from "convex/values";
import { FEED_SHARDS } from "../schema/tables.js";
import type { SyncReader } from "./rows.js";
import type { FeedItem, FeedPage } from "./validators.js";

/** A position in the delta log. */
interface LogCursor {
  kind: "log";
  /** Shard read first on the next page (rotates, so a busy shard cannot starve the others). */
  start: number;
  /** Last sequence number read, per shard. */
  seqs: number[];
}

/** A position in a snapshot fallback: the log head to resume at and the last document sent. */
interface SnapshotCursor {
  kind: "snapshot";
  head: number[];
  /** Last document id sent, or undefined before the first page. */
  afterDocId: string | undefined;
}

type FeedCursor = LogCursor | SnapshotCursor;

const LOG_PREFIX = "f1";
const SNAPSHOT_PREFIX = "s1";

/**
 * Delta or state bytes one page may carry: half of Convex's 16 MiB return limit, which leaves
 * room for base64 in the HTTP answer (20 MiB). A page always holds at least one item.
 */
const FEED_PAGE_BYTES = 8 * 1024 * 1024;

const encodeSeqs = (seqs: number[]): string => seqs.map((s) => s.toString(36)).join(".");

export function encodeFeedCursor(cursor: FeedCursor): string {
  if (cursor.kind === "log") return [LOG_PREFIX, cursor.start.toString(36), encodeSeqs(cursor.seqs)].join(":");
  // The document id goes last and URI-encoded, so it cannot contain the ":" separator.
  const after = cursor.afterDocId === undefined ? "" : `d${encodeURIComponent(cursor.afterDocId)}`;
  return [SNAPSHOT_PREFIX, encodeSeqs(cursor.head), after].join(":");
}

function badCursor(detail = "malformed feed cursor"): never {
  throw new ConvexError({
    code: "BAD_REQUEST",
    message: `${detail} (pass back a cursor the feed returned)`,
    field: "since",
  });
}

function decodeInt(text: string): number {
  if (!/^[0-9a-z]{1,12}$/.test(text)) badCursor();
  const n = parseInt(text, 36);
  if (!Number.isSafeInteger(n)) badCursor("feed cursor holds a number above 2^53");
  return n;
}

/**
 * A cursor past a shard's head was not given out by this collection's feed (another collection,
 * another deployment, or forged): reading from it would silently skip every change up to it.
 */
function checkNotAhead(seqs: readonly number[], heads: readonly number[]): void {
  seqs.forEach((seq, shard) => {
    const head = heads[shard] ?? 0;
    if (seq > head) badCursor(`feed cursor is ahead of the feed (shard ${shard} at ${seq}, head ${head})`);
  });
}

function decodeSeqs(text: string): number[] {
  const seqs = text.split(".").map(decodeInt);
  if (seqs.length !== FEED_SHARDS) badCursor();
  return seqs;
}

export function decodeFeedCursor(text: string | undefined): FeedCursor {
  if (text === undefined || text === "") {
    return { kind: "log", start: 0, seqs: new Array<number>(FEED_SHARDS).fill(0) };
  }
  const parts = text.split(":");
  if (parts.length !== 3) badCursor();
  const [prefix, first, second] = parts as [string, string, string];
  if (prefix === LOG_PREFIX) {
    const start = decodeInt(first);
    if (start >= FEED_SHARDS) badCursor();
    return { kind: "log", start, seqs: decodeSeqs(second) };
  }
  if (prefix !== SNAPSHOT_PREFIX) badCursor();
  let afterDocId: string | undefined;
  if (second !== "") {
    if (!second.startsWith("d")) badCursor();
    try {
      afterDocId = decodeURIComponent(second.slice(1));
    } catch {
      badCursor();
    }
  }
  return { kind: "snapshot", head: decodeSeqs(first), afterDocId };
}

/** Each shard's head (last seq given out) and floor (last seq purged) for a collection. */
async function readShards(db: SyncReader, collection: string): Promise<{ heads: number[]; floors: number[] }> {
  const heads = new Array<number>(FEED_SHARDS).fill(0);
  const floors = new Array<number>(FEED_SHARDS).fill(0);
  const rows = await db
    .query("sync_feed_shards")
    .withIndex("by_shard", (q) => q.eq("collection", collection))
    .take(FEED_SHARDS);
  for (const row of rows) {
    heads[row.shard] = row.seq;
    floors[row.shard] = row.floor ?? 0;
  }
  return { heads, floors };
}

/**
 * One page of at most `limit` changes after `since`. Reads at most `limit` + FEED_SHARDS rows
 * beyond the shard counters: shards are read in turn, each for what is left of the page plus one
 * row to tell whether more is waiting.
 */
export async function readFeed(
  db: SyncReader,
  collection: string,
  since: string | undefined,
  limit: number,
  includeDeltas: boolean,
): Promise<FeedPage> {
  let cursor = decodeFeedCursor(since);
  const shards = await readShards(db, collection);
  checkNotAhead(cursor.kind === "log" ? cursor.seqs : cursor.head, shards.heads);
  if (cursor.kind === "log" && cursor.seqs.some((seq, shard) => seq < shards.floors[shard]!)) {
    cursor = { kind: "snapshot", head: shards.heads, afterDocId: undefined };
  }
  if (cursor.kind === "snapshot")
    return await readSnapshotPage(db, collection, cursor, shards.heads, limit, includeDeltas);
  return await readLogPage(db, collection, cursor, limit, includeDeltas);
}

async function readLogPage(
  db: SyncReader,
  collection: string,
  cursor: LogCursor,
  limit: number,
  includeDeltas: boolean,
): Promise<FeedPage> {
  const seqs = cursor.seqs.slice();
  const items: FeedItem[] = [];
  let bytes = 0;
  let full = false;
  let more = false;
  let nextStart = cursor.start;
  let startChosen = false;
  for (let i = 0; i < FEED_SHARDS; i++) {
    const shard = (cursor.start + i) % FEED_SHARDS;
    const after = seqs[shard]!;
    const room = full ? 0 : limit - items.length;
    const rows = await db
      .query("sync_deltas")
      .withIndex("by_feed", (q) => q.eq("collection", collection).eq("shard", shard).gt("seq", after))
      .take(room + 1);
    let taken = 0;
    for (const row of rows.slice(0, room)) {
      if (includeDeltas && items.length > 0 && bytes + row.delta.byteLength > FEED_PAGE_BYTES) {
        full = true;
        break;
      }
      items.push({
        docId: row.docId,
        version: row.version,
        origin: row.origin,
        ...(includeDeltas ? { delta: row.delta } : {}),
      });
      if (includeDeltas) bytes += row.delta.byteLength;
      seqs[shard] = row.seq;
      taken += 1;
    }
    if (rows.length > taken) {
      more = true;
      // The first shard left unfinished is read first next time.
      if (!startChosen) {
        nextStart = shard;
        startChosen = true;
      }
    }
  }
  return { items, cursor: encodeFeedCursor({ kind: "log", start: nextStart, seqs }), more, snapshot: false };
}

/**
 * One page of the snapshot fallback: documents in id order, each with its whole state. After the
 * last document the cursor moves to the log at the head noted when the snapshot began.
 */
async function readSnapshotPage(
  db: SyncReader,
  collection: string,
  cursor: SnapshotCursor,
  heads: number[],
  limit: number,
  includeDeltas: boolean,
): Promise<FeedPage> {
  const after = cursor.afterDocId;
  const docs = await db
    .query("sync_documents")
    .withIndex("by_doc", (q) =>
      after === undefined ? q.eq("collection", collection) : q.eq("collection", collection).gt("docId", after),
    )
    .take(limit + 1);
  const items: FeedItem[] = [];
  let bytes = 0;
  for (const doc of docs.slice(0, limit)) {
    if (includeDeltas && items.length > 0 && bytes + doc.state.byteLength > FEED_PAGE_BYTES) break;
    // A snapshot item is served by Convex: its origin is "convex" whoever wrote the document.
    items.push({
      docId: doc.docId,
      version: doc.version,
      origin: "convex",
      ...(includeDeltas ? { delta: doc.state } : {}),
    });
    if (includeDeltas) bytes += doc.state.byteLength;
  }
  const last = items[items.length - 1];
  if (docs.length > items.length && last !== undefined) {
    const next: SnapshotCursor = { kind: "snapshot", head: cursor.head, afterDocId: last.docId };
    return { items, cursor: encodeFeedCursor(next), more: true, snapshot: true };
  }
  // Snapshot done: resume the log where it stood when the snapshot began.
  const more = heads.some((seq, shard) => seq > cursor.head[shard]!);
  return { items, cursor: encodeFeedCursor({ kind: "log", start: 0, seqs: cursor.head }), more, snapshot: true };
}
