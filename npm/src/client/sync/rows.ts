/**
 * The hot-path rows of one synced document: its CRDT state (`sync_documents`), the delta log with
 * the sharded feed sequence (`sync_deltas`, `sync_feed_shards`) and the outbox (`sync_outbox`,
 * which names the change and reads its bytes from the log).
 * Ingest and the trigger path both record a change through {@link recordChange}, in the caller's
 * transaction, so a change is either logged, stored and queued together or not at all.
 */
import { type DocumentByName, type GenericDatabaseReader, type GenericDatabaseWriter } from "convex/server";
import type { Value } from "convex/values";
import type { Fields } from "../../engine/index.js";
import { FEED_SHARDS, type SyncDataModel } from "../schema/tables.js";
import { forwardRecordedChange } from "../replicate/index.js";
import { CONVEX_ORIGIN } from "./ids.js";

export type { SyncDataModel };
export type SyncDocumentRow = DocumentByName<SyncDataModel, "sync_documents">;
export type SyncDeltaRow = DocumentByName<SyncDataModel, "sync_deltas">;
export type SyncReader = GenericDatabaseReader<SyncDataModel>;
export type SyncWriter = GenericDatabaseWriter<SyncDataModel>;

/**
 * The app's db seen as one holding the sync tables (the app spreads `internalSyncSchema`). Takes
 * any reader/writer: the app's DataModel is generic here and includes these tables by contract.
 */
export function syncReader(db: unknown): SyncReader {
  return db as unknown as SyncReader;
}
export function syncWriter(db: unknown): SyncWriter {
  return db as unknown as SyncWriter;
}

/** Origin of Convex-side writes in the delta log. */
export { CONVEX_ORIGIN };

/** Fields that never cross into the CRDT: Convex system fields and the server-managed timestamp. */
const LOCAL_ONLY_FIELDS = new Set(["_id", "_creationTime", "timestamp"]);

/** The row's fields as the CRDT holds them: every user field and `id`, not `timestamp`. */
export function crdtFields(doc: Record<string, unknown>): Fields {
  const out: Fields = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!LOCAL_ONLY_FIELDS.has(key) && value !== undefined) out[key] = value as Value;
  }
  return out;
}

/**
 * Feed shard of a document: FNV-1a (32 bit) of its id modulo {@link FEED_SHARDS}. Stable across
 * deployments and versions, because the shard is stored with each delta and cursors name shards.
 */
export function feedShard(docId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < docId.length; i++) {
    hash ^= docId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % FEED_SHARDS;
}

/** A Uint8Array as the exact ArrayBuffer `v.bytes()` stores (no view offsets, no sharing). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}

export async function loadDocument(db: SyncReader, collection: string, docId: string): Promise<SyncDocumentRow | null> {
  return await db
    .query("sync_documents")
    .withIndex("by_doc", (q) => q.eq("collection", collection).eq("docId", docId))
    .unique();
}

/** The change to record: the new state and the delta that produced it. */
export interface RecordedChange {
  collection: string;
  docId: string;
  /** The stored row before the change (null for a document seen for the first time). */
  existing: SyncDocumentRow | null;
  state: Uint8Array;
  stateVector: Uint8Array;
  deleted: boolean;
  /** The normalized v2 delta (what other devices need). */
  delta: Uint8Array;
  /** "convex" or the edge id. */
  origin: string;
  /** The edge's operation id (idempotency key); absent for Convex writes. */
  opId?: string;
  now: number;
}

/**
 * Store the new state, append the delta to the log under the next sequence number of the
 * document's feed shard, and queue it for dinkd. Returns the document's new version.
 *
 * `ctx` is the caller's mutation ctx: when a Replicate component is registered (or named by
 * `DINK_REPLICATE_COMPONENT`), the delta is also written to Replicate's log through it, in this
 * transaction; a failure there throws and aborts the whole write (see `replicate/index.ts`).
 */
export async function recordChange(db: SyncWriter, c: RecordedChange, ctx?: unknown): Promise<number> {
  const version = (c.existing?.version ?? 0) + 1;
  const state = toArrayBuffer(c.state);
  const stateVector = toArrayBuffer(c.stateVector);
  if (c.existing === null) {
    await db.insert("sync_documents", {
      collection: c.collection,
      docId: c.docId,
      state,
      stateVector,
      deleted: c.deleted,
      version,
      updatedAt: c.now,
    });
  } else {
    await db.patch(c.existing._id, { state, stateVector, deleted: c.deleted, version, updatedAt: c.now });
  }

  const delta = toArrayBuffer(c.delta);
  const { shard, seq } = await nextFeedSeq(db, c.collection, c.docId);
  await db.insert("sync_deltas", {
    collection: c.collection,
    docId: c.docId,
    delta,
    shard,
    seq,
    version,
    origin: c.origin,
    ...(c.opId === undefined ? {} : { opId: c.opId }),
    createdAt: c.now,
  });

  await db.insert("sync_outbox", {
    eventId: outboxEventId(c.collection, c.docId, version),
    collection: c.collection,
    docId: c.docId,
    // No bytes: the drain reads them from the log row above (`deltaOf`), so they are stored once.
    version,
    ...(c.origin === CONVEX_ORIGIN ? {} : { originEdgeId: c.origin }),
    status: "pending",
    attempts: 0,
    nextAttemptAt: c.now,
    createdAt: c.now,
  });

  await forwardRecordedChange(ctx, {
    collection: c.collection,
    docId: c.docId,
    existedBefore: c.existing !== null && !c.existing.deleted,
    deleted: c.deleted,
    delta: c.delta,
  });
  return version;
}

/**
 * The outbox event id of a change. Stable across retries: dinkd/NATS dedupe on it.
 * (collection, docId, version) names exactly one change, since versions only grow inside the
 * document's serialised transactions.
 */
export function outboxEventId(collection: string, docId: string, version: number): string {
  return `${collection}:${docId}:${version}`;
}

/**
 * Take the next sequence number of the document's feed shard. Reading and bumping the counter row
 * in the writer's transaction serialises the writers of that shard (OCC), so seq k+1 can never be
 * committed while seq k is not: a reader that saw k+1 has seen k. Writers of other shards touch
 * other counter rows and do not conflict.
 */
async function nextFeedSeq(db: SyncWriter, collection: string, docId: string): Promise<{ shard: number; seq: number }> {
  const shard = feedShard(docId);
  const counter = await db
    .query("sync_feed_shards")
    .withIndex("by_shard", (q) => q.eq("collection", collection).eq("shard", shard))
    .unique();
  if (counter === null) {
    await db.insert("sync_feed_shards", { collection, shard, seq: 1 });
    return { shard, seq: 1 };
  }
  const seq = counter.seq + 1;
  await db.patch(counter._id, { seq });
  return { shard, seq };
}

/** The delta an edge's operation produced, if it was applied before (and is still logged). */
export async function findOp(db: SyncReader, edgeId: string, opId: string): Promise<SyncDeltaRow | null> {
  return await db
    .query("sync_deltas")
    .withIndex("by_op", (q) => q.eq("origin", edgeId).eq("opId", opId))
    .first();
}

/** Note a successful contact from an edge (only when something was applied). */
export async function touchSession(
  db: SyncWriter,
  edgeId: string,
  lastOpId: string,
  applied: number,
  now: number,
): Promise<void> {
  const session = await db
    .query("sync_sessions")
    .withIndex("by_edge", (q) => q.eq("edgeId", edgeId))
    .unique();
  if (session === null) {
    await db.insert("sync_sessions", { edgeId, lastSeenAt: now, lastOpId, applied, rejected: 0 });
  } else {
    await db.patch(session._id, { lastSeenAt: now, lastOpId, applied: session.applied + applied });
  }
}
