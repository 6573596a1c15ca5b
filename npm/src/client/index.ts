/**
 * dink-convex: keep Convex tables and edge devices in sync with Yjs CRDT deltas.
 *
 * This entry point is what a Convex app's own files call; each of the seed's seven files is a
 * few lines:
 *
 * ```ts
 * // convex/schema.ts
 * export default defineSchema({
 *   tasks: syncedTable({ title: v.string(), completed: v.boolean() }),
 *   ...internalSyncSchema,
 * });
 *
 * // convex/sync.ts
 * export const { applyDeltaFromEdge, getDocumentState, listDocuments, listDocumentsPaginated } =
 *   createSyncMutations({ mutation, query });
 *
 * // convex/syncSetup.ts: write with `syncMutation` instead of `mutation`
 * export const syncMutation = createSyncMutation(mutation, ["tasks"], { getInternal: () => internal });
 * ```
 *
 * Other entry points: `dink-convex/component` (the component, `app.use(dink)`),
 * `dink-convex/protocol` (the HTTP wire protocol: body shapes, parsers, validators),
 * `dink-convex/engine` (the CRDT engine in WebAssembly) and `dink-convex/test` (convex-test).
 *
 * @module
 */

// Schema: the synced user tables and the sync engine's own tables.
export {
  internalSyncSchema,
  syncedTable,
  type SyncedFields,
  type SyncedTableDefinition,
} from "./schema/syncedTable.js";

// Sync: the public functions dinkd calls, and the trigger-based mutation wrapper.
export {
  createSyncMutations,
  MAX_DELTAS_PER_CALL,
  type ApplyDeltaFromEdgeArgs,
  type GetDocumentStateArgs,
  type ListDocumentsArgs,
  type ListDocumentsPaginatedArgs,
  type SyncMutations,
  type SyncMutationsOptions,
} from "./sync/functions.js";
export {
  createSyncMutation,
  createSyncTriggersWithHandlers,
  type SyncTriggers,
  type SyncInternalRefs,
  type SyncMutationBuilder,
  type SyncMutationOptions,
} from "./sync/triggers.js";
export type { IngestOptions } from "./sync/ingest.js";
export type { SyncAccessErrorData, SyncAuthorize, SyncFunctionName } from "./sync/authorize.js";
export type {
  DeltaError,
  DeltaErrorCode,
  DeltaResult,
  DocumentPage,
  DocumentState,
  DocumentSummary,
  EdgeDelta,
  FeedItem,
  FeedPage,
} from "./sync/validators.js";

// Replicate bridge: deltas forwarded to @trestleinc/replicate (>= 2.0) in the same transaction.
export {
  DEFAULT_REPLICATE_NAME,
  DINK_REPLICATE_COMPONENT,
  forwardToReplicate,
  getReplicateComponent,
  hasReplicateComponent,
  registerReplicateComponent,
  ReplicateForwardError,
  type ReplicateComponent,
  type ReplicateCtx,
  type ReplicateDelta,
  type ReplicateWriteArgs,
} from "./replicate/index.js";

// HTTP: the routes dinkd calls.
export { createSyncHttpRouter, type SyncHttpApi, type SyncHttpRouterOptions } from "./http/router.js";
export type { WireLimits } from "./http/protocol.js";

// Outbox: delivery of Convex-side changes to dinkd, and its crons.
export { createOutboxProcessor, type OutboxProcessor, type OutboxProcessorBuilders } from "./outbox/processor.js";
export { DEFAULT_RETRY_POLICY, type OutboxOptions, type OutboxRetryPolicy } from "./outbox/policy.js";
export type {
  ItemResult,
  PendingItem,
  ProcessOutboxBatchArgs,
  ProcessOutboxBatchResult,
  ScheduleResult,
  UpdateItemStatusArgs,
  UpdateItemStatusResult,
} from "./outbox/types.js";
export { createSyncCrons, type SyncCronsOptions } from "./outbox/crons.js";

// Edges: RPC, discovery, kick, keys and introspection through the gateway, from Convex actions.
export {
  callEdge,
  createEdgeKey,
  describeEdgeServices,
  discoverEdges,
  getLLMContext,
  kickEdge,
  listEdgeKeys,
  revokeEdgeKey,
  scatterCall,
  renderLLMText,
  DinkGatewayError,
  callEdgeResult,
  scatterCallResult,
  kickEdgeResult,
  edgeInfo,
  edgeKey,
  createdEdgeKey,
  revokeEdgeKeyResult,
  serviceDescriptor,
  type CallEdgeOptions,
  type CallEdgeResult,
  type CreateEdgeKeyOptions,
  type CreatedEdgeKey,
  type DiscoverEdgesOptions,
  type EdgeActionCtx,
  type EdgeError,
  type EdgeInfo,
  type EdgeKey,
  type GatewayFailureCode,
  type JsonSchema,
  type JsonValue,
  type KickEdgeOptions,
  type KickEdgeResult,
  type MethodAIContext,
  type MethodDescriptor,
  type RevokeEdgeKeyOptions,
  type RevokeEdgeKeyResult,
  type ScatterCallOptions,
  type ScatterCallResult,
  type ServiceAIContext,
  type ServiceDescriptor,
} from "./edges/index.js";

// Agent tools: edge services as AI tools (also `dink-convex/agent`).
export {
  dinkToolsFromDescriptor,
  dinkToolsFromRuntime,
  dinkToolsToAgentTools,
  DinkToolError,
  toAISDKTools,
  type DinkTool,
  type DinkToolOptions,
  type InjectedValue,
  type ToolNameFormat,
} from "./agent/index.js";

// Bridge tokens: which edge calls a Convex function (also `dink-convex/auth`).
export {
  DINK_BRIDGE_SECRET,
  dinkTokenValidator,
  DinkTokenError,
  extractAndVerifyDink,
  signDinkToken,
  verifyDinkToken,
  type DinkIdentity,
  type DinkToken,
} from "./auth/index.js";

// Configuration: the environment variables the package reads.
export {
  DINK_APP_SYNC_KEY,
  DINK_HTTP_URL,
  DINK_URL,
  DinkConfigError,
  readDinkGatewayConfig,
  type DinkGatewayConfig,
} from "./env.js";

// The component's API, for apps that call it directly (`components.dink`).
export type { ComponentApi } from "../component/_generated/component.js";
