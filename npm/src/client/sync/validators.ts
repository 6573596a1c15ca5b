/**
 * Argument and result validators of the functions `createSyncMutations` makes. The HTTP router
 * (`http/router.ts`) calls these functions with exactly these shapes, so they are the contract between
 * the two and are exported for it.
 */
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import type { Infer } from "convex/values";
import { v } from "convex/values";

/** Error codes a single delta can be rejected with (docs/protocol.md). */
export const deltaErrorCode = v.union(
  v.literal("UNKNOWN_COLLECTION"),
  v.literal("INVALID_DELTA"),
  v.literal("VALIDATION_ERROR"),
  v.literal("TOO_LARGE"),
  v.literal("MISSING_DEPENDENCIES"),
  v.literal("BAD_REQUEST"),
);
export type DeltaErrorCode = Infer<typeof deltaErrorCode>;

export const edgeDelta = v.object({
  /** The edge's operation id: the idempotency key of this delta. */
  opId: v.string(),
  collection: v.string(),
  docId: v.string(),
  /** Yjs update of the row document. */
  delta: v.bytes(),
  /** 1 = Yjs update v1, 2 = update v2. */
  format: v.union(v.literal(1), v.literal(2)),
  edgeId: v.string(),
});
export type EdgeDelta = Infer<typeof edgeDelta>;

export const applyDeltaArgs = {
  syncKey: v.optional(v.string()),
  deltas: v.array(edgeDelta),
};

export const deltaError = v.object({
  code: deltaErrorCode,
  message: v.string(),
  field: v.optional(v.string()),
  /** The server's state vector (MISSING_DEPENDENCIES): the edge resends a diff against it. */
  stateVector: v.optional(v.bytes()),
});
export type DeltaError = Infer<typeof deltaError>;

export const deltaResult = v.object({
  opId: v.string(),
  status: v.union(v.literal("applied"), v.literal("duplicate"), v.literal("noop"), v.literal("rejected")),
  /** The document version after the delta (applied, duplicate). */
  version: v.optional(v.number()),
  error: v.optional(deltaError),
});
export type DeltaResult = Infer<typeof deltaResult>;
export const applyDeltaReturns = v.array(deltaResult);

export const getDocumentStateArgs = {
  syncKey: v.optional(v.string()),
  collection: v.string(),
  docId: v.string(),
  /** The caller's state vector: answer only what it lacks. */
  stateVector: v.optional(v.bytes()),
};
export const documentState = v.object({
  docId: v.string(),
  /** Yjs update v2: the full state, or the diff against the given state vector. */
  state: v.bytes(),
  stateVector: v.bytes(),
  version: v.number(),
  deleted: v.boolean(),
});
export type DocumentState = Infer<typeof documentState>;
export const getDocumentStateReturns = v.union(v.null(), documentState);

/** Most items one feed page returns, and the default page size. */
export const FEED_MAX_LIMIT = 1000;
export const FEED_DEFAULT_LIMIT = 100;

export const listDocumentsArgs = {
  syncKey: v.optional(v.string()),
  collection: v.string(),
  /** Opaque cursor from a previous page; absent = from the beginning. */
  since: v.optional(v.string()),
  limit: v.optional(v.number()),
  /** Include each change's delta bytes (default false: ids and versions only). */
  includeDeltas: v.optional(v.boolean()),
};
export const feedItem = v.object({
  docId: v.string(),
  version: v.number(),
  /** "convex" or the edge id that produced the change. */
  origin: v.string(),
  delta: v.optional(v.bytes()),
});
export type FeedItem = Infer<typeof feedItem>;
export const listDocumentsReturns = v.object({
  items: v.array(feedItem),
  /** Pass as `since` to continue; it covers every item returned. */
  cursor: v.string(),
  /** More changes were already committed past this page. */
  more: v.boolean(),
  /**
   * The cursor was below the compaction floor (its changes were purged), so this page is part of
   * a snapshot: each item's `delta` is the document's whole state. Apply it like a delta.
   */
  snapshot: v.boolean(),
});
export type FeedPage = Infer<typeof listDocumentsReturns>;

export const listDocumentsPaginatedArgs = {
  syncKey: v.optional(v.string()),
  collection: v.string(),
  paginationOpts: paginationOptsValidator,
};
export const documentSummary = v.object({
  docId: v.string(),
  version: v.number(),
  deleted: v.boolean(),
  updatedAt: v.number(),
});
export type DocumentSummary = Infer<typeof documentSummary>;
export const listDocumentsPaginatedReturns = paginationResultValidator(documentSummary);
export type DocumentPage = Infer<typeof listDocumentsPaginatedReturns>;
