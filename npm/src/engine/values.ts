/** Convex values across the boundary: Convex JSON (lossless for int64, bytes, special floats). */
import { convexToJson, jsonToConvex, type JSONValue, type Value } from "convex/values";
import { EngineError } from "./errors.js";
import { parseSection, sectionJson, sectionText } from "./frame.js";

/** A row's user fields. */
export type Fields = Record<string, Value>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `fields` as a Convex JSON string; `name` is used in the error. */
export function fieldsToJson(fields: Fields, name: string): string {
  if (!isPlainObject(fields)) {
    throw new EngineError("INVALID_ARGUMENT", `${name} must be a plain object of Convex values`, {
      field: name,
    });
  }
  try {
    // Plain JSON *is* Convex JSON unless a value needs a `$` encoding; skipping convexToJson's
    // copy of the tree halves the cost of this step on ordinary rows.
    return needsConvexEncoding(fields) ? JSON.stringify(convexToJson(fields)) : JSON.stringify(fields);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new EngineError("INVALID_ARGUMENT", `${name} is not a Convex object: ${message}`, {
      field: name,
      cause,
    });
  }
}

/**
 * Whether `value` holds anything plain JSON cannot carry losslessly: int64 (bigint), bytes
 * (ArrayBuffer), NaN, ±Infinity, -0, or something that is not a Convex value at all (left to
 * convexToJson to report).
 */
function needsConvexEncoding(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return false;
    case "number":
      return !Number.isFinite(value) || Object.is(value, -0);
    case "object": {
      if (value === null) return false;
      if (Array.isArray(value)) return value.some(needsConvexEncoding);
      if (!isPlainObject(value)) return true;
      for (const key in value) {
        if (needsConvexEncoding(value[key])) return true;
      }
      return false;
    }
    default:
      return true;
  }
}

/** A FIELDS section (Convex JSON object) as Convex values. */
export function fieldsFromSection(bytes: Uint8Array): Fields {
  const text = sectionText(bytes, "FIELDS");
  const json = parseSection(text, "FIELDS");
  if (!isPlainObject(json)) {
    throw new EngineError("INTERNAL", "engine FIELDS section is not a JSON object");
  }
  // Only `{"$integer"|"$float"|"$bytes": ...}` objects need decoding, and the engine never
  // writes another key starting with `$`; without one, the parsed JSON is the Convex value.
  if (!text.includes('"$')) return json as Fields;
  try {
    return jsonToConvex(json as JSONValue) as Fields;
  } catch (cause) {
    throw new EngineError("INTERNAL", "engine FIELDS section is not Convex JSON", { cause });
  }
}

/** A KEYS section (JSON array of strings). */
export function keysFromSection(bytes: Uint8Array): string[] {
  const json = sectionJson(bytes, "KEYS");
  if (!Array.isArray(json) || !json.every((k): k is string => typeof k === "string")) {
    throw new EngineError("INTERNAL", "engine KEYS section is not a JSON array of strings");
  }
  return json;
}

/** Plain JSON for loosely typed arguments (outbox items, validators). */
export function plainJson(value: unknown, name: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new EngineError("INVALID_ARGUMENT", `${name} is not JSON-serialisable: ${message}`, {
      field: name,
      cause,
    });
  }
  if (text === undefined) {
    throw new EngineError("INVALID_ARGUMENT", `${name} is not JSON-serialisable`, { field: name });
  }
  return text;
}
