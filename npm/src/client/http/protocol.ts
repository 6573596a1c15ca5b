/**
 * The sync wire protocol between dinkd and the app's HTTP routes (docs/protocol.md): body shapes,
 * limits, error codes with their HTTP statuses, the strict request parser, the response encoders
 * and validators for every documented body.
 *
 * Everything on the wire is snake_case with bytes as standard base64, in dinkd's
 * `{success, data | error:{code,message}}` envelope plus a top-level `version`. Inside the
 * package (mutation arguments and results) the same data is camelCase with bytes as ArrayBuffer;
 * this module is the only place that converts between the two. The validators are what
 * `convex-example/tests/protocol-doc.test.ts` runs over every example in docs/protocol.md, and
 * what the HTTP tests run over every real response, so the doc and the code cannot drift apart.
 */
import { DEFAULT_LIMITS } from "../../engine/limits.js";
import {
  deltaErrorCode,
  type DeltaErrorCode,
  type DeltaResult,
  type DocumentPage,
  type DocumentState,
  type EdgeDelta,
  type FeedPage,
} from "../sync/validators.js";
import { CONVEX_ORIGIN, MAX_ID_LENGTH } from "../sync/ids.js";
import { base64DecodedLength, decodeBase64Strict, encodeBase64, isBase64 } from "./base64.js";

/** Version of the wire format; every body carries it as `version`. */
export const PROTOCOL_VERSION = 1;

/** Yjs update format: 1 = update v1, 2 = update v2. Convex always answers with v2. */
export type WireFormat = 1 | 2;

// ---------------------------------------------------------------------------------------------
// Error codes

/**
 * Error codes of a whole request (the envelope's `error.code`) with their HTTP status. A request
 * refused with one of these changed nothing.
 */
export const REQUEST_ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNSUPPORTED_VERSION: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  NOT_CONFIGURED: 500,
  INTERNAL: 500,
} as const satisfies Record<string, number>;

export type RequestErrorCode = keyof typeof REQUEST_ERROR_STATUS;

/**
 * Codes of a rejected delta inside a 200 applyDelta response (a rejected delta wrote nothing).
 * Taken from the sync functions' result validator so the wire list cannot drift from what
 * `applyDeltaFromEdge` can answer.
 */
export const DELTA_ERROR_CODES: readonly DeltaErrorCode[] = deltaErrorCode.members.map((m) => m.value);

export type { DeltaErrorCode };

/** A request-level failure, carried up to the router and answered as an error envelope. */
export class ProtocolError extends Error {
  readonly code: RequestErrorCode;
  readonly field?: string;

  constructor(code: RequestErrorCode, message: string, field?: string) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    if (field !== undefined) this.field = field;
  }

  get status(): number {
    return REQUEST_ERROR_STATUS[this.code];
  }
}

export function isRequestErrorCode(value: string): value is RequestErrorCode {
  return Object.prototype.hasOwnProperty.call(REQUEST_ERROR_STATUS, value);
}

// ---------------------------------------------------------------------------------------------
// Limits

export interface WireLimits {
  /** Largest request body in bytes; checked on Content-Length and on the bytes actually read. */
  maxRequestBytes: number;
  /** Largest decoded delta in bytes; a larger one is rejected alone with TOO_LARGE. */
  maxDeltaBytes: number;
  /** Most deltas in one applyDelta request. */
  maxDeltasPerRequest: number;
  /** Longest op_id, collection, doc_id and edge_id, in characters. */
  maxIdLength: number;
  /** Largest `limit` a list or changes request may ask for. */
  maxPageSize: number;
}

export const DEFAULT_WIRE_LIMITS: Readonly<WireLimits> = Object.freeze({
  maxRequestBytes: 4 * 1024 * 1024,
  // The engine refuses larger updates anyway; checking here spares the decode and the mutation.
  maxDeltaBytes: DEFAULT_LIMITS.maxUpdateBytes,
  maxDeltasPerRequest: 500,
  maxIdLength: MAX_ID_LENGTH,
  maxPageSize: 1000,
});

export function resolveWireLimits(overrides?: Partial<WireLimits>): WireLimits {
  const out: WireLimits = { ...DEFAULT_WIRE_LIMITS };
  if (overrides === undefined) return out;
  for (const key of Object.keys(DEFAULT_WIRE_LIMITS) as (keyof WireLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`createSyncHttpRouter: limits.${key} must be a positive integer`);
    }
    out[key] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Internal (camelCase) shapes: the sync functions' arguments and results

/** One edge delta as the sync function takes it (`applyDeltaFromEdge`'s `deltas[i]`). */
export type DeltaInput = EdgeDelta;
/** One page of the catch-up feed (`listDocuments`). */
export type ChangeFeed = FeedPage;
export type { DeltaResult, DocumentPage, DocumentState };

// ---------------------------------------------------------------------------------------------
// Wire (snake_case) shapes

export interface WireError {
  code: string;
  message: string;
  field?: string;
  state_vector?: string;
}

export type WireEnvelope<T> =
  { version: number; success: true; data: T } | { version: number; success: false; error: WireError };

export interface WireDelta {
  op_id: string;
  collection: string;
  doc_id: string;
  delta: string;
  format: WireFormat;
  edge_id: string;
}

export interface ApplyDeltaRequestWire {
  version: number;
  deltas: WireDelta[];
}

export interface WireDeltaResult {
  op_id: string;
  status: DeltaResult["status"];
  version?: number;
  error?: WireError;
}

export interface ApplyDeltaData {
  results: WireDeltaResult[];
}

export interface SnapshotData {
  doc_id: string;
  state: string;
  state_vector: string;
  format: 2;
  version: number;
  deleted: boolean;
  /** True when `state` holds only what the caller's `state_vector` lacks. */
  is_diff: boolean;
}

export interface ListData {
  items: Array<{ doc_id: string; version: number; deleted: boolean; updated_at: number }>;
  cursor: string;
  is_done: boolean;
}

export interface ChangesData {
  changes: Array<{ doc_id: string; version: number; origin: string; delta?: string; format?: 2 }>;
  cursor: string;
  more: boolean;
  /** The page is part of a snapshot fallback: each `delta` is a whole document state. */
  snapshot: boolean;
}

export interface ConvexPushEvent {
  event_id: string;
  collection: string;
  doc_id: string;
  delta: string;
  format: 2;
  version: number;
  origin_edge_id?: string;
}

export interface ConvexPushBody {
  version: number;
  app_sync: true;
  events: ConvexPushEvent[];
}

/** One event of the gateway's fan-out to an edge (`$SYNC.<app>.<edge>.events`). */
export interface SyncEvent {
  /** The app's fan-out sequence number: consecutive, so an edge can see a gap. */
  seq: number;
  collection: string;
  doc_id: string;
  version: number;
  origin_edge_id?: string;
  /** Absent (with `format`) on the event sent back to its origin edge. */
  delta?: string;
  format?: 2;
}

/** The body the gateway publishes on `$SYNC.<app>.<edge>.events` (docs/protocol.md). */
export interface SyncEventsBody {
  version: number;
  events: SyncEvent[];
}

// ---------------------------------------------------------------------------------------------
// Strict readers: each throws ProtocolError BAD_REQUEST naming the field path

type Json = unknown;

function bad(field: string, message: string): never {
  throw new ProtocolError("BAD_REQUEST", `${field} ${message}`, field);
}

function describe(value: Json): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

function object(
  value: Json,
  field: string,
  keys: readonly string[],
  optional: readonly string[] = [],
): Record<string, Json> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    bad(field, `must be an object, got ${describe(value)}`);
  }
  const record = value as Record<string, Json>;
  // Unknown keys are refused so a misspelt or camelCase field is reported instead of ignored;
  // additions to the format come with a new `version`.
  for (const key of Object.keys(record)) {
    if (!keys.includes(key) && !optional.includes(key)) bad(path(field, key), "is not a known field");
  }
  for (const key of keys) {
    if (record[key] === undefined) bad(path(field, key), "is required");
  }
  return record;
}

function path(parent: string, key: string): string {
  return parent === "" || parent === "body" ? key : `${parent}.${key}`;
}

function string(value: Json, field: string, maxLength = Number.MAX_SAFE_INTEGER): string {
  if (typeof value !== "string") bad(field, `must be a string, got ${describe(value)}`);
  if (value.length === 0) bad(field, "must not be empty");
  if (value.length > maxLength) bad(field, `must be at most ${maxLength} characters`);
  return value;
}

function integer(value: Json, field: string, min = 0): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    bad(field, `must be an integer, got ${describe(value)}`);
  }
  if (value < min) bad(field, `must be >= ${min}`);
  return value;
}

function boolean(value: Json, field: string): boolean {
  if (typeof value !== "boolean") bad(field, `must be a boolean, got ${describe(value)}`);
  return value;
}

function base64(value: Json, field: string, allowEmpty = false): string {
  if (typeof value !== "string") bad(field, `must be a base64 string, got ${describe(value)}`);
  if (!allowEmpty && value.length === 0) bad(field, "must not be empty");
  if (!isBase64(value)) bad(field, "is not valid base64");
  return value;
}

function array(value: Json, field: string): Json[] {
  if (!Array.isArray(value)) bad(field, `must be an array, got ${describe(value)}`);
  return value;
}

function format(value: Json, field: string): WireFormat {
  if (value !== 1 && value !== 2) bad(field, `must be 1 (Yjs update v1) or 2 (update v2), got ${describe(value)}`);
  return value;
}

function literal<T extends Json>(value: Json, expected: T, field: string): T {
  if (value !== expected) bad(field, `must be ${JSON.stringify(expected)}, got ${describe(value)}`);
  return expected;
}

function protocolVersion(value: Json, field: string): number {
  // Any integer is a version (0, -1 and 2 are versions this server does not speak); only a
  // non-integer is a malformed request.
  const version = integer(value, field, Number.MIN_SAFE_INTEGER);
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "UNSUPPORTED_VERSION",
      `${field} ${version} is not supported; this server speaks version ${PROTOCOL_VERSION}`,
      field,
    );
  }
  return version;
}

// ---------------------------------------------------------------------------------------------
// applyDelta request

/** One delta of a parsed request: ready for the mutation, or already rejected on the wire. */
export type ParsedDelta =
  | { kind: "input"; input: DeltaInput }
  /** Refused on the wire; `input` identifies it (its `delta` is empty: the bytes were not decoded). */
  | { kind: "rejected"; result: DeltaResult; input: DeltaInput };

/**
 * Parse and check an applyDelta body (already JSON-parsed). Structural faults reject the whole
 * request (BAD_REQUEST naming the field); a delta over `maxDeltaBytes` is rejected alone
 * (TOO_LARGE, measured from the base64 length before decoding) so one oversized delta does not
 * hold back the rest of the batch.
 */
export function parseApplyDeltaRequest(body: Json, limits: WireLimits = DEFAULT_WIRE_LIMITS): ParsedDelta[] {
  const top = object(body, "body", ["version", "deltas"]);
  protocolVersion(top.version, "version");
  const deltas = array(top.deltas, "deltas");
  if (deltas.length === 0) bad("deltas", "must hold at least one delta");
  if (deltas.length > limits.maxDeltasPerRequest) {
    bad("deltas", `must hold at most ${limits.maxDeltasPerRequest} deltas, got ${deltas.length}`);
  }
  // Validate every delta first: a malformed batch is refused whole, before anything is decoded.
  const wire = deltas.map((d, i) => wireDelta(d, `deltas[${i}]`, limits));
  return wire.map((d, i) => {
    const size = base64DecodedLength(d.delta);
    if (size > limits.maxDeltaBytes) {
      return {
        kind: "rejected",
        input: {
          opId: d.op_id,
          collection: d.collection,
          docId: d.doc_id,
          delta: new ArrayBuffer(0),
          format: d.format,
          edgeId: d.edge_id,
        },
        result: {
          opId: d.op_id,
          status: "rejected",
          error: {
            code: "TOO_LARGE",
            message: `delta is ${size} bytes, the limit is ${limits.maxDeltaBytes}`,
            field: `deltas[${i}].delta`,
          },
        },
      };
    }
    const bytes = decodeBase64Strict(d.delta);
    return {
      kind: "input",
      input: {
        opId: d.op_id,
        collection: d.collection,
        docId: d.doc_id,
        delta: bytes.buffer,
        format: d.format,
        edgeId: d.edge_id,
      },
    };
  });
}

function wireDelta(value: Json, field: string, limits: WireLimits): WireDelta {
  const d = object(value, field, ["op_id", "collection", "doc_id", "delta", "format", "edge_id"]);
  return {
    op_id: string(d.op_id, `${field}.op_id`, limits.maxIdLength),
    collection: string(d.collection, `${field}.collection`, limits.maxIdLength),
    doc_id: string(d.doc_id, `${field}.doc_id`, limits.maxIdLength),
    delta: base64(d.delta, `${field}.delta`),
    format: format(d.format, `${field}.format`),
    edge_id: edgeId(d.edge_id, `${field}.edge_id`, limits.maxIdLength),
  };
}

function edgeId(value: Json, field: string, maxLength: number): string {
  const id = string(value, field, maxLength);
  if (id === CONVEX_ORIGIN) bad(field, `must not be "${CONVEX_ORIGIN}" (reserved for Convex-side writes)`);
  return id;
}

/** Validate an applyDelta request body as the doc shows it (wire form, nothing decoded). */
export function validateApplyDeltaRequest(body: Json): ApplyDeltaRequestWire {
  const top = object(body, "body", ["version", "deltas"]);
  const deltas = array(top.deltas, "deltas").map((d, i) => wireDelta(d, `deltas[${i}]`, DEFAULT_WIRE_LIMITS));
  return { version: protocolVersion(top.version, "version"), deltas };
}

// ---------------------------------------------------------------------------------------------
// Encoders: internal shapes -> wire

export function successEnvelope<T>(data: T): WireEnvelope<T> {
  return { version: PROTOCOL_VERSION, success: true, data };
}

export function errorEnvelope(code: string, message: string, field?: string): WireEnvelope<never> {
  const error: WireError = { code, message };
  if (field !== undefined) error.field = field;
  return { version: PROTOCOL_VERSION, success: false, error };
}

export function encodeDeltaResult(result: DeltaResult): WireDeltaResult {
  const out: WireDeltaResult = { op_id: result.opId, status: result.status };
  if (result.version !== undefined) out.version = result.version;
  if (result.error !== undefined) {
    const error: WireError = { code: result.error.code, message: result.error.message };
    if (result.error.field !== undefined) error.field = result.error.field;
    if (result.error.stateVector !== undefined) error.state_vector = encodeBase64(result.error.stateVector);
    out.error = error;
  }
  return out;
}

export function encodeSnapshot(doc: DocumentState, isDiff: boolean): SnapshotData {
  return {
    doc_id: doc.docId,
    state: encodeBase64(doc.state),
    state_vector: encodeBase64(doc.stateVector),
    format: 2,
    version: doc.version,
    deleted: doc.deleted,
    is_diff: isDiff,
  };
}

export function encodeList(page: DocumentPage): ListData {
  return {
    items: page.page.map((d) => ({
      doc_id: d.docId,
      version: d.version,
      deleted: d.deleted,
      updated_at: d.updatedAt,
    })),
    cursor: page.continueCursor,
    is_done: page.isDone,
  };
}

export function encodeChanges(feed: ChangeFeed): ChangesData {
  return {
    changes: feed.items.map((c) => {
      const out: ChangesData["changes"][number] = { doc_id: c.docId, version: c.version, origin: c.origin };
      if (c.delta !== undefined) {
        out.delta = encodeBase64(c.delta);
        out.format = 2;
      }
      return out;
    }),
    cursor: feed.cursor,
    more: feed.more,
    snapshot: feed.snapshot,
  };
}

// ---------------------------------------------------------------------------------------------
// Validators for every documented body (used by the doc test and the HTTP tests)

function wireError(value: Json, field: string, codes: readonly string[]): WireError {
  const e = object(value, field, ["code", "message"], ["field", "state_vector"]);
  const code = string(e.code, `${field}.code`);
  if (!codes.includes(code)) bad(`${field}.code`, `${JSON.stringify(code)} is not a documented code`);
  const out: WireError = { code, message: string(e.message, `${field}.message`) };
  if (e.field !== undefined) out.field = string(e.field, `${field}.field`);
  if (e.state_vector !== undefined) {
    if (code !== "MISSING_DEPENDENCIES") bad(`${field}.state_vector`, "is only sent with MISSING_DEPENDENCIES");
    out.state_vector = base64(e.state_vector, `${field}.state_vector`, true);
  } else if (code === "MISSING_DEPENDENCIES") {
    bad(`${field}.state_vector`, "is required with MISSING_DEPENDENCIES");
  }
  return out;
}

function envelope<T>(body: Json, data: (value: Json, field: string) => T): WireEnvelope<T> {
  const top = typeof body === "object" && body !== null ? (body as Record<string, Json>) : {};
  if (top.success === false) {
    const e = object(body, "body", ["version", "success", "error"]);
    const version = protocolVersion(e.version, "version");
    return { version, success: false, error: wireError(e.error, "error", Object.keys(REQUEST_ERROR_STATUS)) };
  }
  const ok = object(body, "body", ["version", "success", "data"]);
  const version = protocolVersion(ok.version, "version");
  literal(ok.success, true, "success");
  return { version, success: true, data: data(ok.data, "data") };
}

function deltaResult(value: Json, field: string): WireDeltaResult {
  const r = object(value, field, ["op_id", "status"], ["version", "error"]);
  const status = r.status;
  if (status !== "applied" && status !== "duplicate" && status !== "noop" && status !== "rejected") {
    bad(`${field}.status`, `must be applied, duplicate, noop or rejected, got ${describe(status)}`);
  }
  const out: WireDeltaResult = { op_id: string(r.op_id, `${field}.op_id`), status };
  if (status === "rejected") {
    if (r.error === undefined) bad(`${field}.error`, "is required when status is rejected");
    if (r.version !== undefined) bad(`${field}.version`, "is not sent when status is rejected");
    out.error = wireError(r.error, `${field}.error`, DELTA_ERROR_CODES);
  } else {
    if (r.error !== undefined) bad(`${field}.error`, `is only sent when status is rejected`);
    out.version = integer(r.version, `${field}.version`, 0);
  }
  return out;
}

export function validateApplyDeltaResponse(body: Json): WireEnvelope<ApplyDeltaData> {
  return envelope(body, (value, field) => {
    const d = object(value, field, ["results"]);
    return { results: array(d.results, `${field}.results`).map((r, i) => deltaResult(r, `${field}.results[${i}]`)) };
  });
}

export function validateSnapshotResponse(body: Json): WireEnvelope<SnapshotData> {
  return envelope(body, (value, field) => {
    const d = object(value, field, ["doc_id", "state", "state_vector", "format", "version", "deleted", "is_diff"]);
    return {
      doc_id: string(d.doc_id, `${field}.doc_id`),
      state: base64(d.state, `${field}.state`, true),
      state_vector: base64(d.state_vector, `${field}.state_vector`, true),
      format: literal(d.format, 2 as const, `${field}.format`),
      version: integer(d.version, `${field}.version`),
      deleted: boolean(d.deleted, `${field}.deleted`),
      is_diff: boolean(d.is_diff, `${field}.is_diff`),
    };
  });
}

export function validateListResponse(body: Json): WireEnvelope<ListData> {
  return envelope(body, (value, field) => {
    const d = object(value, field, ["items", "cursor", "is_done"]);
    return {
      items: array(d.items, `${field}.items`).map((item, i) => {
        const f = `${field}.items[${i}]`;
        const it = object(item, f, ["doc_id", "version", "deleted", "updated_at"]);
        return {
          doc_id: string(it.doc_id, `${f}.doc_id`),
          version: integer(it.version, `${f}.version`),
          deleted: boolean(it.deleted, `${f}.deleted`),
          updated_at: integer(it.updated_at, `${f}.updated_at`),
        };
      }),
      cursor: cursorString(d.cursor, `${field}.cursor`),
      is_done: boolean(d.is_done, `${field}.is_done`),
    };
  });
}

export function validateChangesResponse(body: Json): WireEnvelope<ChangesData> {
  return envelope(body, (value, field) => {
    const d = object(value, field, ["changes", "cursor", "more", "snapshot"]);
    return {
      changes: array(d.changes, `${field}.changes`).map((item, i) => {
        const f = `${field}.changes[${i}]`;
        const c = object(item, f, ["doc_id", "version", "origin"], ["delta", "format"]);
        const out: ChangesData["changes"][number] = {
          doc_id: string(c.doc_id, `${f}.doc_id`),
          version: integer(c.version, `${f}.version`),
          origin: string(c.origin, `${f}.origin`),
        };
        if ((c.delta === undefined) !== (c.format === undefined)) {
          bad(`${f}.format`, "is sent exactly when delta is");
        }
        if (c.delta !== undefined) {
          out.delta = base64(c.delta, `${f}.delta`);
          out.format = literal(c.format, 2 as const, `${f}.format`);
        }
        return out;
      }),
      cursor: cursorString(d.cursor, `${field}.cursor`),
      more: boolean(d.more, `${field}.more`),
      snapshot: boolean(d.snapshot, `${field}.snapshot`),
    };
  });
}

function cursorString(value: Json, field: string): string {
  // A cursor may be empty (the start of a feed); any other string is opaque to the caller.
  if (typeof value !== "string") bad(field, `must be a string, got ${describe(value)}`);
  return value;
}

/** Validate a convex-push body (Convex -> dinkd), as the outbox processor sends it. */
export function validateConvexPushBody(body: Json): ConvexPushBody {
  const top = object(body, "body", ["version", "app_sync", "events"]);
  const version = protocolVersion(top.version, "version");
  literal(top.app_sync, true, "app_sync");
  const events = array(top.events, "events").map((item, i) => {
    const f = `events[${i}]`;
    const e = object(item, f, ["event_id", "collection", "doc_id", "delta", "format", "version"], ["origin_edge_id"]);
    const out: ConvexPushEvent = {
      event_id: string(e.event_id, `${f}.event_id`),
      collection: string(e.collection, `${f}.collection`),
      doc_id: string(e.doc_id, `${f}.doc_id`),
      delta: base64(e.delta, `${f}.delta`),
      format: literal(e.format, 2 as const, `${f}.format`),
      version: integer(e.version, `${f}.version`),
    };
    if (e.origin_edge_id !== undefined) out.origin_edge_id = string(e.origin_edge_id, `${f}.origin_edge_id`);
    return out;
  });
  return { version, app_sync: true, events };
}

/** Validate a fan-out batch the gateway publishes to an edge on `$SYNC.<app>.<edge>.events`. */
export function validateSyncEvents(body: Json): SyncEventsBody {
  const top = object(body, "body", ["version", "events"]);
  const version = protocolVersion(top.version, "version");
  const events = array(top.events, "events").map((item, i) => {
    const f = `events[${i}]`;
    const e = object(item, f, ["seq", "collection", "doc_id", "version"], ["origin_edge_id", "delta", "format"]);
    const out: SyncEvent = {
      seq: integer(e.seq, `${f}.seq`, 1),
      collection: string(e.collection, `${f}.collection`),
      doc_id: string(e.doc_id, `${f}.doc_id`),
      version: integer(e.version, `${f}.version`),
    };
    if (e.origin_edge_id !== undefined) out.origin_edge_id = string(e.origin_edge_id, `${f}.origin_edge_id`);
    if ((e.delta === undefined) !== (e.format === undefined)) bad(`${f}.format`, "is sent exactly when delta is");
    if (e.delta !== undefined) {
      out.delta = base64(e.delta, `${f}.delta`);
      out.format = literal(e.format, 2 as const, `${f}.format`);
    }
    return out;
  });
  return { version, events };
}

/** Validate a convex-push reply (dinkd -> Convex). */
export function validateConvexPushResponse(body: Json): WireEnvelope<{ accepted: number }> {
  return envelope(body, (value, field) => {
    const d = object(value, field, ["accepted"]);
    return { accepted: integer(d.accepted, `${field}.accepted`) };
  });
}

/** Validate any error envelope (every route answers failures with one). */
export function validateErrorResponse(body: Json): WireEnvelope<never> {
  const e = object(body, "body", ["version", "success", "error"]);
  literal(e.success, false, "success");
  return {
    version: protocolVersion(e.version, "version"),
    success: false,
    error: wireError(e.error, "error", Object.keys(REQUEST_ERROR_STATUS)),
  };
}

/** Every documented body, by the name docs/protocol.md tags its examples with. */
export const WIRE_VALIDATORS = {
  apply_delta_request: validateApplyDeltaRequest,
  apply_delta_response: validateApplyDeltaResponse,
  snapshot_response: validateSnapshotResponse,
  list_response: validateListResponse,
  changes_response: validateChangesResponse,
  convex_push_body: validateConvexPushBody,
  convex_push_response: validateConvexPushResponse,
  sync_events: validateSyncEvents,
  error_response: validateErrorResponse,
} as const satisfies Record<string, (body: Json) => unknown>;

export type WireKind = keyof typeof WIRE_VALIDATORS;
