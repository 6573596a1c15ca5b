/**
 * dink-convex engine: typed wrappers over the Rust engine compiled to WebAssembly.
 *
 * Every function is synchronous, takes and returns plain values (no JS-owned Rust objects, as
 * Convex has no FinalizationRegistry), throws `EngineError` on failure and initialises the
 * engine lazily on first use. Stored state and deltas are Yjs update v2. Every Uint8Array
 * returned owns its whole ArrayBuffer, so `bytes.buffer` can go straight into `v.bytes()`.
 */
import type { Value } from "convex/values";
import { EngineError } from "./errors.js";
import {
  decodeOkFrame,
  Flag,
  isUint8Array,
  owned,
  requireFlags,
  requireSection,
  sectionJson,
  type Frame,
} from "./frame.js";
import { limitsToFloat64Array, type EngineLimits } from "./limits.js";
import { callEngine, type RawEngine } from "./loader.js";
import { fieldsFromSection, fieldsToJson, keysFromSection, plainJson, type Fields } from "./values.js";

export { EngineError, isEngineError, type EngineErrorCode } from "./errors.js";
export { DEFAULT_LIMITS, type EngineLimits } from "./limits.js";
export { engineStats, preloadEngine, type EngineStats } from "./loader.js";
export type { Fields } from "./values.js";
export type { Value };

/** Yjs update encoding: 1 = update v1, 2 = update v2. */
export type UpdateFormat = 1 | 2;

/**
 * The Yjs client id of every Convex-side write ("dink" in ASCII). Mirrors
 * `dink_core::SERVER_CLIENT_ID`; a test checks the two agree.
 */
export const SERVER_CLIENT_ID = 0x6469_6e6b;

export interface IngestResult {
  /** The row document after the update (v2), to store. */
  state: Uint8Array;
  /** State vector of `state`. */
  stateVector: Uint8Array;
  /** Only what the update added (v2), to forward to other devices. */
  delta: Uint8Array;
  /** The materialized row. */
  fields: Fields;
  /** The row carries a tombstone. */
  deleted: boolean;
  /** The update changed the document (false for a duplicate). */
  changed: boolean;
}

export interface ChangeOptions {
  /** Wall-clock time in ms, stamped on a tombstone. Pass it in: the engine reads no clock. */
  now: number;
  /** Yjs client id of the writer; defaults to {@link SERVER_CLIENT_ID}. */
  clientId?: number;
  limits?: Partial<EngineLimits>;
  /** The row's document id: a live row's `fields.id` must equal it (checked when given). */
  docId?: string;
}

export interface ChangeResult {
  /** The update v2 holding the change, or null when nothing changed. */
  delta: Uint8Array | null;
  state: Uint8Array;
  stateVector: Uint8Array;
  /** Names of the fields the change wrote. */
  changedKeys: string[];
  deleted: boolean;
  /** The stored document did not match `oldFields` (another writer got there first). */
  drifted: boolean;
}

export interface Materialized {
  fields: Fields;
  deleted: boolean;
}

function bytes(value: unknown, name: string): Uint8Array {
  if (isUint8Array(value)) return value;
  throw new EngineError("INVALID_ARGUMENT", `${name} must be a Uint8Array`, { field: name });
}

function formatArg(value: unknown, name: string): UpdateFormat {
  if (value === 1 || value === 2) return value;
  throw new EngineError("INVALID_ARGUMENT", `${name} must be 1 or 2, got ${String(value)}`, {
    field: name,
  });
}

function finite(value: unknown, name: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new EngineError("INVALID_ARGUMENT", `${name} must be a finite number`, { field: name });
}

function clientIdOf(value: unknown): number {
  if (value === undefined) return SERVER_CLIENT_ID;
  // Yjs client ids must survive a JavaScript number; 0 is reserved by the engine.
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
  throw new EngineError("INVALID_ARGUMENT", "clientId must be an integer in [1, 2^53)", {
    field: "clientId",
  });
}

const EMPTY = new Uint8Array(0);

function optionalState(state: Uint8Array | null): [Uint8Array, boolean] {
  return state === null ? [EMPTY, false] : [bytes(state, "state"), true];
}

function run(call: (engine: RawEngine) => Uint8Array): Frame {
  return decodeOkFrame(callEngine(call));
}

/** Apply an update from a device to a row's stored state (null for a new row). */
export function ingest(
  state: Uint8Array | null,
  update: Uint8Array,
  format: UpdateFormat = 2,
  limits?: Partial<EngineLimits>,
  docId?: string,
): IngestResult {
  const [stateBytes, hasState] = optionalState(state);
  const u = bytes(update, "update");
  const f = formatArg(format, "format");
  const l = limitsToFloat64Array(limits);
  const id = docId === undefined ? null : docId;
  const frame = run((e) => e.ingest(stateBytes, hasState, u, f, l, id));
  const flags = requireFlags(frame);
  return {
    state: owned(requireSection(frame, "state")),
    stateVector: owned(requireSection(frame, "stateVector")),
    delta: owned(requireSection(frame, "delta")),
    fields: fieldsFromSection(requireSection(frame, "fields")),
    deleted: (flags & Flag.DELETED) !== 0,
    changed: (flags & Flag.CHANGED) !== 0,
  };
}

/**
 * Record a Convex-side write of a row in its document. `oldFields` is what the writer saw
 * (null for an insert), `newFields` what it wrote (null deletes the row).
 */
export function change(
  state: Uint8Array | null,
  oldFields: Fields | null,
  newFields: Fields | null,
  options: ChangeOptions,
): ChangeResult {
  const [stateBytes, hasState] = optionalState(state);
  const oldJson = oldFields === null ? "" : fieldsToJson(oldFields, "oldFields");
  const newJson = newFields === null ? "" : fieldsToJson(newFields, "newFields");
  const nowMs = finite(options.now, "now");
  const clientId = clientIdOf(options.clientId);
  const l = limitsToFloat64Array(options.limits);
  const id = options.docId === undefined ? null : options.docId;
  const frame = run((e) => e.change(stateBytes, hasState, oldJson, newJson, clientId, nowMs, l, id));
  const flags = requireFlags(frame);
  return {
    delta: frame.delta === undefined ? null : owned(frame.delta),
    state: owned(requireSection(frame, "state")),
    stateVector: owned(requireSection(frame, "stateVector")),
    changedKeys: keysFromSection(requireSection(frame, "keys")),
    deleted: (flags & Flag.DELETED) !== 0,
    drifted: (flags & Flag.DRIFTED) !== 0,
  };
}

/** The part of `state` (v2) a peer with `stateVector` lacks, as an update v2. */
export function diff(state: Uint8Array, stateVector: Uint8Array): Uint8Array {
  const s = bytes(state, "state");
  const sv = bytes(stateVector, "stateVector");
  return owned(
    requireSection(
      run((e) => e.diff(s, sv)),
      "bytes",
    ),
  );
}

/** Merge updates of one format into a single update v2. */
export function merge(updates: Uint8Array[], format: UpdateFormat = 2): Uint8Array {
  if (!Array.isArray(updates)) {
    throw new EngineError("INVALID_ARGUMENT", "updates must be an array of Uint8Array", {
      field: "updates",
    });
  }
  const f = formatArg(format, "format");
  let total = 0;
  for (const [i, u] of updates.entries()) total += 4 + bytes(u, `updates[${i}]`).length;
  const packed = new Uint8Array(total);
  const view = new DataView(packed.buffer);
  let offset = 0;
  for (const u of updates) {
    view.setUint32(offset, u.length, true);
    packed.set(u, offset + 4);
    offset += 4 + u.length;
  }
  return owned(
    requireSection(
      run((e) => e.merge(packed, f)),
      "bytes",
    ),
  );
}

/** The fields and tombstone of a stored state (v2). */
export function materialize(state: Uint8Array, limits?: Partial<EngineLimits>): Materialized {
  const s = bytes(state, "state");
  const l = limitsToFloat64Array(limits);
  const frame = run((e) => e.materialize(s, l));
  return {
    fields: fieldsFromSection(requireSection(frame, "fields")),
    deleted: (requireFlags(frame) & Flag.DELETED) !== 0,
  };
}

/** The state vector of an update (same encoding for both formats). */
export function stateVector(update: Uint8Array, format: UpdateFormat = 2): Uint8Array {
  const u = bytes(update, "update");
  const f = formatArg(format, "format");
  return owned(
    requireSection(
      run((e) => e.state_vector(u, f)),
      "stateVector",
    ),
  );
}

/** Re-encode an update v1 as v2. */
export function convertV1ToV2(update: Uint8Array): Uint8Array {
  const u = bytes(update, "update");
  return owned(
    requireSection(
      run((e) => e.convert(u, 1)),
      "bytes",
    ),
  );
}

/** Re-encode an update v2 as v1. */
export function convertV2ToV1(update: Uint8Array): Uint8Array {
  const u = bytes(update, "update");
  return owned(
    requireSection(
      run((e) => e.convert(u, 2)),
      "bytes",
    ),
  );
}

function validatorJsonOf(validator: unknown): unknown {
  // Accept a Convex validator (`v.object({...})`) as well as its `.json` form.
  if (
    typeof validator === "object" &&
    validator !== null &&
    (validator as { isConvexValidator?: unknown }).isConvexValidator === true
  ) {
    return (validator as { json: unknown }).json;
  }
  return validator;
}

/**
 * Check fields against a Convex validator (or its JSON form, `validator.json`). Throws
 * EngineError VALIDATION_ERROR with `.field` naming the offending path.
 */
export function validate(fields: Fields, validatorJson: unknown): void {
  const f = fieldsToJson(fields, "fields");
  const v = plainJson(validatorJsonOf(validatorJson), "validatorJson");
  run((e) => e.validate(f, v));
}

/** Loose JSON object shape for the outbox state machine (the Rust side defines it). */
export type OutboxJson = Record<string, unknown>;

/**
 * One step of the outbox delivery state machine: the next state of `item` after `event`, under
 * `policy` (`{}` for the defaults). An illegal transition or malformed input is
 * EngineError INVALID_ARGUMENT.
 */
export function outboxTransition(item: OutboxJson, event: OutboxJson, policy: OutboxJson = {}): OutboxJson {
  const i = plainJson(item, "item");
  const ev = plainJson(event, "event");
  const p = plainJson(policy, "policy");
  const json = sectionJson(
    requireSection(
      run((e) => e.outbox_transition(i, ev, p)),
      "json",
    ),
    "JSON",
  );
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new EngineError("INTERNAL", "engine outbox_transition did not return a JSON object");
  }
  return json as OutboxJson;
}

/** Version of the engine (the dink-core crate version). */
export function engineVersion(): string {
  return callEngine((e) => e.engine_version());
}
