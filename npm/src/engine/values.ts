/** Convex values across the boundary: Convex JSON (lossless for int64, bytes, special floats). */
import { convexToJson, jsonToConvex, type JSONValue, type Value } from "convex/values";
import { EngineError } from "./errors.js";
import { sectionJson } from "./frame.js";

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
    return JSON.stringify(convexToJson(fields));
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new EngineError("INVALID_ARGUMENT", `${name} is not a Convex object: ${message}`, {
      field: name,
      cause,
    });
  }
}

/** A FIELDS section (Convex JSON object) as Convex values. */
export function fieldsFromSection(bytes: Uint8Array): Fields {
  const json = sectionJson(bytes, "FIELDS");
  if (!isPlainObject(json)) {
    throw new EngineError("INTERNAL", "engine FIELDS section is not a JSON object");
  }
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
