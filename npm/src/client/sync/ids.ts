/**
 * The identifiers a sync call carries (op id, collection, document id, edge id): their limits and
 * the reserved edge id, checked where the sync functions can be called (directly or through the
 * HTTP routes), so no caller gets past them.
 */

/** Longest id, in UTF-16 code units (the HTTP parser uses the same default). */
export const MAX_ID_LENGTH = 256;

/**
 * The origin the delta log records for Convex-side writes. Echo suppression and the fan-out
 * trust it, so an edge may not call itself that.
 */
export const CONVEX_ORIGIN = "convex";

/** Why `value` is not an acceptable id for `name`, or null when it is. */
export function idProblem(name: string, value: string, maxLength: number = MAX_ID_LENGTH): string | null {
  if (value.length === 0) return `${name} must not be empty`;
  if (value.length > maxLength) return `${name} must be at most ${maxLength} characters, got ${value.length}`;
  return null;
}

/** Why `edgeId` may not be used by an edge, or null when it may. */
export function edgeIdProblem(edgeId: string, maxLength: number = MAX_ID_LENGTH): string | null {
  if (edgeId === CONVEX_ORIGIN) return `edge id "${CONVEX_ORIGIN}" is reserved for Convex-side writes`;
  return idProblem("edgeId", edgeId, maxLength);
}
