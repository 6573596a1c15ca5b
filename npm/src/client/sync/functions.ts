/**
 * `createSyncMutations({ mutation, query }, options?)`: the public functions dinkd reaches through
 * the HTTP router (`convex/sync.ts` re-exports them): `applyDeltaFromEdge`, `getDocumentState`,
 * `listDocuments` (the catch-up feed) and `listDocumentsPaginated`. Each checks its caller
 * before touching synced data (authorize.ts).
 */
import type {
  GenericDatabaseWriter,
  GenericDataModel,
  MutationBuilder,
  QueryBuilder,
  RegisteredMutation,
  RegisteredQuery,
} from "convex/server";
import type { FunctionReference } from "convex/server";
import { ConvexError, type ObjectType } from "convex/values";
import { diff, EngineError } from "../../engine/index.js";
import { SCHEDULE_OUTBOX_REFERENCE, scheduleDrain } from "../outbox/schedule.js";
import { authorizeSyncCall, type SyncAuthorize } from "./authorize.js";
import { idProblem } from "./ids.js";
import { readFeed } from "./feed.js";
import { applyEdgeDelta, type IngestOptions } from "./ingest.js";
import { loadDocument, syncReader, syncWriter, toArrayBuffer, touchSession } from "./rows.js";
import {
  applyDeltaArgs,
  applyDeltaReturns,
  FEED_DEFAULT_LIMIT,
  FEED_MAX_LIMIT,
  getDocumentStateArgs,
  getDocumentStateReturns,
  listDocumentsArgs,
  listDocumentsPaginatedArgs,
  listDocumentsPaginatedReturns,
  listDocumentsReturns,
  type DeltaResult,
  type DocumentPage,
  type DocumentState,
  type FeedPage,
} from "./validators.js";

/** Most deltas one `applyDeltaFromEdge` call takes (each applied delta writes ~5 documents). */
export const MAX_DELTAS_PER_CALL = 500;

export interface SyncMutationsOptions<DataModel extends GenericDataModel = GenericDataModel> extends IngestOptions {
  /** Access rule for callers without the sync key (see authorize.ts). */
  authorize?: SyncAuthorize<DataModel>;
  /**
   * The mutation that starts an outbox drain, scheduled once per call that applied something, so
   * an edge's change reaches the other edges without waiting for the cron. Default: the seed's
   * `outboxProcessor.scheduleOutboxProcessing` (by name, as the factory has no `internal`);
   * `null` leaves it to the cron.
   */
  outboxScheduler?: FunctionReference<"mutation", "internal"> | null;
}

export type ApplyDeltaFromEdgeArgs = ObjectType<typeof applyDeltaArgs>;
export type GetDocumentStateArgs = ObjectType<typeof getDocumentStateArgs>;
export type ListDocumentsArgs = ObjectType<typeof listDocumentsArgs>;
export type ListDocumentsPaginatedArgs = ObjectType<typeof listDocumentsPaginatedArgs>;

/** What `createSyncMutations` returns; declared so it never depends on the app's generated api. */
export interface SyncMutations {
  applyDeltaFromEdge: RegisteredMutation<"public", ApplyDeltaFromEdgeArgs, Promise<DeltaResult[]>>;
  getDocumentState: RegisteredQuery<"public", GetDocumentStateArgs, Promise<DocumentState | null>>;
  listDocuments: RegisteredQuery<"public", ListDocumentsArgs, Promise<FeedPage>>;
  listDocumentsPaginated: RegisteredQuery<"public", ListDocumentsPaginatedArgs, Promise<DocumentPage>>;
}

function badRequest(message: string, field?: string): never {
  throw new ConvexError({ code: "BAD_REQUEST", message, ...(field === undefined ? {} : { field }) });
}

/** The id limits of ids.ts, for the whole call (queries answer one collection / document). */
function checkIds(ids: Record<string, string>): void {
  for (const [name, value] of Object.entries(ids)) {
    const problem = idProblem(name, value);
    if (problem !== null) badRequest(problem, name);
  }
}

function feedLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return FEED_DEFAULT_LIMIT;
  return Math.min(FEED_MAX_LIMIT, Math.max(1, Math.floor(limit)));
}

export function createSyncMutations<DataModel extends GenericDataModel>(
  builders: { mutation: MutationBuilder<DataModel, "public">; query: QueryBuilder<DataModel, "public"> },
  options: SyncMutationsOptions<DataModel> = {},
): SyncMutations {
  const { mutation, query } = builders;
  const { authorize } = options;

  const applyDeltaFromEdge = mutation({
    args: applyDeltaArgs,
    returns: applyDeltaReturns,
    handler: async (ctx, args): Promise<DeltaResult[]> => {
      await authorizeSyncCall(ctx, "applyDeltaFromEdge", args, authorize);
      if (args.deltas.length > MAX_DELTAS_PER_CALL) {
        badRequest(`at most ${MAX_DELTAS_PER_CALL} deltas per call, got ${args.deltas.length}`);
      }
      const db = ctx.db as unknown as GenericDatabaseWriter<GenericDataModel>;
      const now = Date.now();
      const results: DeltaResult[] = [];
      const appliedByEdge = new Map<string, { count: number; lastOpId: string }>();
      for (const delta of args.deltas) {
        const result = await applyEdgeDelta(db, delta, options, now, ctx);
        results.push(result);
        if (result.status === "applied") {
          const seen = appliedByEdge.get(delta.edgeId);
          appliedByEdge.set(delta.edgeId, { count: (seen?.count ?? 0) + 1, lastOpId: delta.opId });
        }
      }
      // One session write per edge and call, and none when nothing was applied (a batch of
      // rejections, duplicates and noops writes nothing at all).
      for (const [edgeId, { count, lastOpId }] of appliedByEdge) {
        await touchSession(syncWriter(db), edgeId, lastOpId, count, now);
      }
      const scheduler = options.outboxScheduler === undefined ? SCHEDULE_OUTBOX_REFERENCE : options.outboxScheduler;
      if (appliedByEdge.size > 0 && scheduler !== null) {
        try {
          await scheduleDrain(ctx, scheduler);
        } catch (error) {
          // The edges' changes are stored either way; refusing them would stop edge sync too.
          // The error names the missing module and how to fix it.
          console.error(String(error instanceof Error ? error.message : error));
        }
      }
      return results;
    },
  });

  const getDocumentState = query({
    args: getDocumentStateArgs,
    returns: getDocumentStateReturns,
    handler: async (ctx, args): Promise<DocumentState | null> => {
      await authorizeSyncCall(ctx, "getDocumentState", args, authorize);
      checkIds({ collection: args.collection, docId: args.docId });
      const doc = await loadDocument(syncReader(ctx.db), args.collection, args.docId);
      if (doc === null) return null;
      let state = doc.state;
      if (args.stateVector !== undefined) {
        try {
          state = toArrayBuffer(diff(new Uint8Array(doc.state), new Uint8Array(args.stateVector)));
        } catch (error) {
          if (error instanceof EngineError) badRequest(`stateVector: ${error.message}`);
          throw error;
        }
      }
      return { docId: doc.docId, state, stateVector: doc.stateVector, version: doc.version, deleted: doc.deleted };
    },
  });

  const listDocuments = query({
    args: listDocumentsArgs,
    returns: listDocumentsReturns,
    handler: async (ctx, args): Promise<FeedPage> => {
      await authorizeSyncCall(ctx, "listDocuments", args, authorize);
      checkIds({ collection: args.collection });
      return await readFeed(
        syncReader(ctx.db),
        args.collection,
        args.since,
        feedLimit(args.limit),
        args.includeDeltas === true,
      );
    },
  });

  const listDocumentsPaginated = query({
    args: listDocumentsPaginatedArgs,
    returns: listDocumentsPaginatedReturns,
    handler: async (ctx, args): Promise<DocumentPage> => {
      await authorizeSyncCall(ctx, "listDocumentsPaginated", args, authorize);
      checkIds({ collection: args.collection });
      let result;
      try {
        result = await syncReader(ctx.db)
          .query("sync_documents")
          .withIndex("by_collection_updated", (q) => q.eq("collection", args.collection))
          .paginate(args.paginationOpts);
      } catch (error) {
        // Convex refuses a cursor it did not give out for this query; that is the caller's fault.
        if (args.paginationOpts.cursor === null) throw error;
        badRequest(
          `cursor is not one this listing returned (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`,
          "cursor",
        );
      }
      return {
        ...result,
        page: result.page.map((d) => ({
          docId: d.docId,
          version: d.version,
          deleted: d.deleted,
          updatedAt: d.updatedAt,
        })),
      };
    },
  });

  return { applyDeltaFromEdge, getDocumentState, listDocuments, listDocumentsPaginated };
}
