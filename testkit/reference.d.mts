// Declarations of reference.mjs: the engine's operations on the reference `yjs` library.
import type { Value } from "convex/values";
import type { Format, Row } from "./rows.mjs";

export { canonicalRow, canonicalValue, readRow, toConvex, toYjs } from "./rows.mjs";

export declare const SERVER_CLIENT_ID: number;
export declare const yjsVersion: string;

export declare class YjsReferenceError extends Error {
  constructor(code: string, message: string, stateVector?: Uint8Array);
  readonly code: string;
  readonly stateVector?: Uint8Array;
}

// The reference returns what the engine returns: one source for the result shapes.
import type { ChangeResult, IngestResult } from "dink-convex/engine";
export type { ChangeResult, IngestResult };

export declare function ingest(state: Uint8Array | null, update: Uint8Array, format?: Format): IngestResult;
export declare function change(
  state: Uint8Array | null,
  oldFields: Record<string, Value> | null,
  newFields: Record<string, Value> | null,
  options?: { now?: number; clientId?: number },
): ChangeResult;
export declare function diff(state: Uint8Array, stateVector: Uint8Array): Uint8Array;
export declare function merge(updates: Uint8Array[], format?: Format): Uint8Array;
export declare function materialize(state: Uint8Array): Row;
export declare function stateVector(update: Uint8Array, format?: Format): Uint8Array;
export declare function convertV1ToV2(update: Uint8Array): Uint8Array;
export declare function convertV2ToV1(update: Uint8Array): Uint8Array;
