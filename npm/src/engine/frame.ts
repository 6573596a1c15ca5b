/**
 * Decoder for the engine's result frame (docs/wasm-boundary.md):
 *
 *     byte 0         status: 0 = ok, 1 = error
 *     then repeated  tag: u8 | length: u32 LE | payload: `length` bytes
 *
 * Payloads are returned as `subarray` views of the frame (no copies). Unknown tags are skipped so
 * the engine can add sections without breaking this wrapper. A frame that is truncated or
 * otherwise malformed is an engine bug and raises `EngineError` with code INTERNAL.
 */
import { EngineError, isEngineErrorCode } from "./errors.js";

export const STATUS_OK = 0;
export const STATUS_ERROR = 1;

export const Tag = {
  STATE: 1,
  STATE_VECTOR: 2,
  DELTA: 3,
  FIELDS: 4,
  FLAGS: 5,
  KEYS: 6,
  BYTES: 7,
  JSON: 8,
  ERROR_CODE: 16,
  ERROR_MESSAGE: 17,
  ERROR_FIELD: 18,
} as const;

/** Bits of the FLAGS section. */
export const Flag = {
  DELETED: 1 << 0,
  CHANGED: 1 << 1,
  DRIFTED: 1 << 2,
} as const;

/** A decoded frame: the status and the raw payload of each known section (last one wins). */
export interface Frame {
  ok: boolean;
  state?: Uint8Array;
  stateVector?: Uint8Array;
  delta?: Uint8Array;
  fields?: Uint8Array;
  flags?: Uint8Array;
  keys?: Uint8Array;
  bytes?: Uint8Array;
  json?: Uint8Array;
  errorCode?: Uint8Array;
  errorMessage?: Uint8Array;
  errorField?: Uint8Array;
}

type Section = Exclude<keyof Frame, "ok">;

const SECTION_BY_TAG: ReadonlyMap<number, Section> = new Map<number, Section>([
  [Tag.STATE, "state"],
  [Tag.STATE_VECTOR, "stateVector"],
  [Tag.DELTA, "delta"],
  [Tag.FIELDS, "fields"],
  [Tag.FLAGS, "flags"],
  [Tag.KEYS, "keys"],
  [Tag.BYTES, "bytes"],
  [Tag.JSON, "json"],
  [Tag.ERROR_CODE, "errorCode"],
  [Tag.ERROR_MESSAGE, "errorMessage"],
  [Tag.ERROR_FIELD, "errorField"],
]);

const HEADER_BYTES = 5;

/**
 * Whether `value` is a Uint8Array, also when it comes from another realm (a test sandbox, an
 * iframe), where `instanceof` can be false.
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array || Object.prototype.toString.call(value) === "[object Uint8Array]";
}

function malformed(message: string): EngineError {
  return new EngineError("INTERNAL", `malformed engine result frame: ${message}`);
}

/** Split a frame into its sections. Throws INTERNAL on a truncated or malformed frame. */
export function decodeFrame(frame: Uint8Array): Frame {
  if (!isUint8Array(frame)) throw malformed("not a Uint8Array");
  if (frame.length === 0) throw malformed("empty");
  const status = frame[0];
  if (status !== STATUS_OK && status !== STATUS_ERROR) {
    throw malformed(`unknown status byte ${String(status)}`);
  }
  const out: Frame = { ok: status === STATUS_OK };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let offset = 1;
  while (offset < frame.length) {
    if (frame.length - offset < HEADER_BYTES) {
      throw malformed(`truncated section header at offset ${offset}`);
    }
    const tag = view.getUint8(offset);
    const length = view.getUint32(offset + 1, true);
    const start = offset + HEADER_BYTES;
    if (length > frame.length - start) {
      throw malformed(`section tag ${tag} at offset ${offset} declares ${length} bytes, ${frame.length - start} left`);
    }
    const section = SECTION_BY_TAG.get(tag);
    if (section !== undefined) out[section] = frame.subarray(start, start + length);
    offset = start + length;
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decode a UTF-8 section. Invalid UTF-8 is an engine bug (INTERNAL). */
export function sectionText(bytes: Uint8Array, name: string): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new EngineError("INTERNAL", `engine result section ${name} is not valid UTF-8`, {
      cause,
    });
  }
}

/** Decode a JSON section. Invalid JSON is an engine bug (INTERNAL). */
export function sectionJson(bytes: Uint8Array, name: string): unknown {
  return parseSection(sectionText(bytes, name), name);
}

/** Parses a section's text as JSON (an engine bug, not user input, if it fails). */
export function parseSection(text: string, name: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new EngineError("INTERNAL", `engine result section ${name} is not valid JSON`, {
      cause,
    });
  }
}

/** The EngineError described by an error frame. */
export function frameError(frame: Frame): EngineError {
  const rawCode = frame.errorCode === undefined ? "" : sectionText(frame.errorCode, "ERROR_CODE");
  const message =
    frame.errorMessage === undefined
      ? "engine error without a message"
      : sectionText(frame.errorMessage, "ERROR_MESSAGE");
  const details: { field?: string; stateVector?: Uint8Array } = {};
  if (frame.errorField !== undefined) {
    details.field = sectionText(frame.errorField, "ERROR_FIELD");
  }
  if (frame.stateVector !== undefined) details.stateVector = owned(frame.stateVector);
  if (rawCode !== "INTERNAL" && isEngineErrorCode(rawCode)) {
    return new EngineError(rawCode, message, details);
  }
  const shown = rawCode === "" ? "missing" : JSON.stringify(rawCode);
  return new EngineError("INTERNAL", `engine returned unknown error code ${shown}: ${message}`, details);
}

/** Decode a frame and throw its EngineError when it is an error frame. */
export function decodeOkFrame(frame: Uint8Array): Frame {
  const decoded = decodeFrame(frame);
  if (!decoded.ok) throw frameError(decoded);
  return decoded;
}

const SECTION_NAMES: Readonly<Record<Section, string>> = {
  state: "STATE",
  stateVector: "STATE_VECTOR",
  delta: "DELTA",
  fields: "FIELDS",
  flags: "FLAGS",
  keys: "KEYS",
  bytes: "BYTES",
  json: "JSON",
  errorCode: "ERROR_CODE",
  errorMessage: "ERROR_MESSAGE",
  errorField: "ERROR_FIELD",
};

/**
 * A copy of a section with its own ArrayBuffer. Byte results leave the wrapper this way so that
 * `result.state.buffer` is exactly the state (what a Convex `v.bytes()` field stores), not the
 * whole result frame the view points into.
 */
export function owned(view: Uint8Array): Uint8Array<ArrayBuffer> {
  return view.slice() as Uint8Array<ArrayBuffer>;
}

/** A section an ok frame must carry; its absence is an engine bug (INTERNAL). */
export function requireSection(frame: Frame, section: Section): Uint8Array {
  const bytes = frame[section];
  if (bytes === undefined) {
    throw malformed(`missing ${SECTION_NAMES[section]} section`);
  }
  return bytes;
}

/** The FLAGS byte (0 when the section is absent is NOT assumed: absence is INTERNAL). */
export function requireFlags(frame: Frame): number {
  const flags = requireSection(frame, "flags");
  const byte = flags[0];
  if (byte === undefined) throw malformed("empty FLAGS section");
  return byte;
}
