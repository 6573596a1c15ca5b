/**
 * dink-convex: the app-facing entry point ("dink-convex").
 *
 * For now it re-exports the engine wrapper ("dink-convex/engine"). The component's client
 * factories (createSyncMutations, schema helpers) will be added here next; the component
 * itself will be exposed through the "./convex.config", "./_generated/component.js" and
 * "./test" package exports.
 */
export * from "../engine/index.js";

// Wire protocol, HTTP router and sync-key auth (docs/protocol.md).
export {
  createSyncHttpRouter,
  type SyncHttpApi,
  type SyncHttpRouterOptions,
} from "./http.js";
export {
  bearerToken,
  checkSyncKey,
  configuredSyncKey,
  MISSING_SYNC_KEY_MESSAGE,
  SYNC_KEY_ENV,
  syncKeyMatches,
  type SyncKeyCheck,
} from "./auth.js";
export {
  DEFAULT_WIRE_LIMITS,
  DELTA_ERROR_CODES,
  PROTOCOL_VERSION,
  ProtocolError,
  REQUEST_ERROR_STATUS,
  WIRE_VALIDATORS,
  parseApplyDeltaRequest,
  validateApplyDeltaRequest,
  validateApplyDeltaResponse,
  validateChangesResponse,
  validateConvexPushBody,
  validateConvexPushResponse,
  validateErrorResponse,
  validateListResponse,
  validateSnapshotResponse,
  type ApplyDeltaData,
  type ApplyDeltaRequestWire,
  type ChangesData,
  type ConvexPushBody,
  type ConvexPushEvent,
  type DeltaErrorCode,
  type ListData,
  type RequestErrorCode,
  type SnapshotData,
  type WireDelta,
  type WireDeltaResult,
  type WireEnvelope,
  type WireError,
  type WireKind,
  type WireLimits,
} from "./protocol.js";
export { base64DecodedLength, decodeBase64Strict, encodeBase64, isBase64 } from "./base64.js";

// Sync core: schema helpers, the sync functions, the trigger-based mutation wrapper.
export { internalSyncSchema, syncedTable, type SyncedFields, type SyncedTableDefinition } from "./schema.js";
export { FEED_SHARDS } from "./tables.js";
export {
  createSyncMutations,
  MAX_DELTAS_PER_CALL,
  type ApplyDeltaFromEdgeArgs,
  type GetDocumentStateArgs,
  type ListDocumentsArgs,
  type ListDocumentsPaginatedArgs,
  type SyncMutations,
  type SyncMutationsOptions,
} from "./syncMutations.js";
export {
  createSyncMutation,
  type SyncInternalRefs,
  type SyncMutationBuilder,
  type SyncMutationOptions,
} from "./syncMutation.js";
export type { IngestOptions } from "./ingest.js";
export { authorizeSyncCall, type SyncAccessErrorData, type SyncAuthorize, type SyncFunctionName } from "./authorize.js";
export {
  applyDeltaArgs,
  applyDeltaReturns,
  deltaResult,
  documentState,
  edgeDelta,
  feedItem,
  getDocumentStateArgs,
  listDocumentsArgs,
  listDocumentsPaginatedArgs,
  listDocumentsReturns,
  type DeltaError,
  type DeltaResult,
  type DocumentState,
  type DocumentSummary,
  type EdgeDelta,
  type FeedItem,
  type FeedPage,
} from "./validators.js";

// Outbox delivery, crons, environment, the component's API type.
export {
  createOutboxProcessor,
  type OutboxProcessor,
  type OutboxProcessorBuilders,
} from "./outbox.js";
export {
  DEFAULT_RETRY_POLICY,
  outcomeOfStatus,
  type OutboxOptions,
  type OutboxRetryPolicy,
  type PushOutcome,
} from "./outboxPolicy.js";
export type {
  ItemResult,
  PendingItem,
  ProcessOutboxBatchArgs,
  ProcessOutboxBatchResult,
  ScheduleResult,
  UpdateItemStatusArgs,
  UpdateItemStatusResult,
} from "./outboxTypes.js";
export { createSyncCrons, type SyncCronsOptions } from "./crons.js";
export { CONVEX_PUSH_PATH, pushBody, pushEvent, type PushItem } from "./pushBody.js";
export {
  DINK_APP_SYNC_KEY,
  DINK_HTTP_URL,
  DINK_URL,
  DinkConfigError,
  notConfiguredMessage,
  readDinkAppSyncKey,
  readDinkGatewayConfig,
  readDinkHttpUrl,
  requireDinkAppSyncKey,
  requireDinkHttpUrl,
  type DinkGatewayConfig,
} from "./env.js";
export { dinkComponent } from "./componentRefs.js";
export type { ComponentApi } from "../component/_generated/component.js";
