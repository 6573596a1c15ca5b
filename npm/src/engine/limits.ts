import { EngineError } from "./errors.js";

/** Caps applied by the engine to untrusted input (mirrors `dink_core::Limits`). */
export interface EngineLimits {
  /** Largest incoming update, in bytes, checked before decoding. */
  maxUpdateBytes: number;
  /** Largest stored state, in bytes, checked before decoding. */
  maxStateBytes: number;
  /** Largest materialized row (Convex's document-size estimate), in bytes. */
  maxRowBytes: number;
  /** Deepest nesting of arrays and objects inside one field value (Convex: 16). */
  maxDepth: number;
  /** Most fields in one row (Convex: 1024). */
  maxFields: number;
  /** Most clock units an update may leave unintegrated before it is refused as TOO_LARGE. */
  maxPendingStructs: number;
}

const MIB = 1024 * 1024;

/** The engine's defaults; they follow Convex's own document limits. */
export const DEFAULT_LIMITS: Readonly<EngineLimits> = Object.freeze({
  maxUpdateBytes: MIB,
  maxStateBytes: MIB,
  maxRowBytes: MIB,
  maxDepth: 16,
  maxFields: 1024,
  maxPendingStructs: 10_000,
});

/** Boundary order of the limits array (docs/wasm-boundary.md). */
const ORDER = [
  "maxUpdateBytes",
  "maxStateBytes",
  "maxRowBytes",
  "maxDepth",
  "maxFields",
  "maxPendingStructs",
] as const satisfies readonly (keyof EngineLimits)[];

const EMPTY = new Float64Array(0);

/** The full limits for a call: the defaults overridden by `limits`. */
export function resolveLimits(limits?: Partial<EngineLimits>): EngineLimits {
  const out: EngineLimits = { ...DEFAULT_LIMITS };
  if (limits === undefined) return out;
  for (const key of ORDER) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      throw new EngineError("INVALID_ARGUMENT", `limits.${key} must be a non-negative integer, got ${String(value)}`, {
        field: `limits.${key}`,
      });
    }
    out[key] = value;
  }
  return out;
}

/**
 * Encode limits for the boundary. No overrides gives an empty array, which the engine reads as
 * "use the defaults" and which costs no allocation.
 */
export function limitsToFloat64Array(limits?: Partial<EngineLimits>): Float64Array {
  if (limits === undefined || ORDER.every((key) => limits[key] === undefined)) return EMPTY;
  const full = resolveLimits(limits);
  return Float64Array.from(ORDER, (key) => full[key]);
}
