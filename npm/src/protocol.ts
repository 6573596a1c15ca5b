/**
 * `dink-convex/protocol`: the HTTP wire protocol between dinkd (or dink-gateway) and a Convex
 * app's sync routes, as docs/protocol.md defines it: body shapes, limits, error codes and their
 * HTTP statuses, the strict request parser, response encoders, validators for every documented
 * body (the gateway's fan-out batch to edges included), the convex-push body, the sync-key check
 * and strict base64.
 *
 * For gateways, tests and tools that speak the protocol; a Convex app needs none of it.
 *
 * @module
 */
export {
  DEFAULT_WIRE_LIMITS,
  DELTA_ERROR_CODES,
  PROTOCOL_VERSION,
  ProtocolError,
  REQUEST_ERROR_STATUS,
  WIRE_VALIDATORS,
  encodeChanges,
  encodeDeltaResult,
  encodeList,
  encodeSnapshot,
  errorEnvelope,
  isRequestErrorCode,
  parseApplyDeltaRequest,
  resolveWireLimits,
  successEnvelope,
  validateApplyDeltaRequest,
  validateApplyDeltaResponse,
  validateChangesResponse,
  validateConvexPushBody,
  validateConvexPushResponse,
  validateErrorResponse,
  validateListResponse,
  validateSnapshotResponse,
  validateSyncEvents,
  type ApplyDeltaData,
  type ApplyDeltaRequestWire,
  type ChangeFeed,
  type ChangesData,
  type ConvexPushBody,
  type ConvexPushEvent,
  type DeltaErrorCode,
  type DeltaInput,
  type ListData,
  type ParsedDelta,
  type RequestErrorCode,
  type SnapshotData,
  type SyncEvent,
  type SyncEventsBody,
  type WireDelta,
  type WireDeltaResult,
  type WireEnvelope,
  type WireError,
  type WireFormat,
  type WireKind,
  type WireLimits,
} from "./client/http/protocol.js";
export { base64DecodedLength, decodeBase64Strict, encodeBase64, isBase64 } from "./client/http/base64.js";
export { CONVEX_PUSH_PATH, pushBody, pushEvent, type PushItem } from "./client/outbox/pushBody.js";
export { outcomeOfStatus, type PushOutcome } from "./client/outbox/policy.js";
export {
  bearerToken,
  checkSyncKey,
  configuredSyncKey,
  MISSING_SYNC_KEY_MESSAGE,
  SYNC_KEY_ENV,
  syncKeyMatches,
  type SyncKeyCheck,
} from "./client/auth/syncKey.js";
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
  listDocumentsPaginatedReturns,
  listDocumentsReturns,
} from "./client/sync/validators.js";
