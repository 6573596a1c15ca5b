// Declarations of rows.mjs (row documents with the reference `yjs` library; the value rule is in
// the header of rows.mjs).
import type * as Y from "yjs";
import type { JSONValue, Value } from "convex/values";

export type Fields = Record<string, Value>;
export type Format = 1 | 2;
/** Fields to write: a field holding `undefined` is left out (as in `convexToJson`). */
export type FieldsInput = { readonly [key: string]: Value | undefined };

export interface Row {
  fields: Fields;
  deleted: boolean;
}

/** What `canonical()` returns: Convex JSON of the fields (keys sorted) and the tombstone flag. */
export interface CanonicalRow {
  fields: JSONValue;
  deleted: boolean;
}

/** A value as yjs stores it under a field: a plain value, never a nested Y type. */
export type YjsValue =
  null | boolean | number | bigint | string | Uint8Array | YjsValue[] | { [key: string]: YjsValue };

/** Client id of read-only scratch docs (never used by a writer, so yjs never reassigns it). */
export declare const READER_CLIENT_ID: number;

export declare function newDoc(clientId?: number): Y.Doc;
export declare function docFrom(state: Uint8Array | null, clientId?: number, format?: Format): Y.Doc;
export declare function applyUpdate(doc: Y.Doc, update: Uint8Array, format?: Format, origin?: unknown): void;
export declare function encodeState(doc: Y.Doc, format?: Format, stateVector?: Uint8Array): Uint8Array;
export declare function hasPending(doc: Y.Doc): boolean;

export declare function edit(
  doc: Y.Doc,
  fn: (fields: Y.Map<unknown>, meta: Y.Map<unknown>) => void,
  format?: Format,
): Uint8Array;
export declare function setFields(doc: Y.Doc, fields: FieldsInput, format?: Format): Uint8Array;
export declare function removeFields(doc: Y.Doc, keys: string[], format?: Format): Uint8Array;
export declare function markDeleted(doc: Y.Doc, now: number, format?: Format): Uint8Array;
export declare function reinsert(doc: Y.Doc, fields: FieldsInput, format?: Format): Uint8Array;

/** The row as Convex values; throws on a nested Y type or `undefined`. */
export declare function readRow(doc: Y.Doc): Row;
export declare function rowOf(update: Uint8Array, format?: Format): Row;
/** The fields as yjs holds them (Uint8Array, bigint), no conversion; throws on a nested Y type. */
export declare function fieldsOf(...updatesV2: Uint8Array[]): Record<string, YjsValue>;
export declare function nestedTypes(doc: Y.Doc): string[];
export declare function structClients(updateV2: Uint8Array): number[];
export declare function structIds(updateV2: Uint8Array): [number, number][];
export declare function decodeSv(sv: Uint8Array): Map<number, number>;
export declare function svOfDoc(doc: Y.Doc): Map<number, number>;

/** Convex value -> what yjs stores; throws on a Y type, a typed array or `undefined`. */
export declare function toYjs(value: Value, path?: string): YjsValue;
/** What yjs stores -> Convex value; throws on a nested Y type or `undefined`. */
export declare function toConvex(value: unknown, path?: string): Value;
export declare function buf(bytes: Uint8Array): ArrayBuffer;
export declare function bytes(...xs: number[]): ArrayBuffer;

export declare function canonical(row: Row | Fields): CanonicalRow;
export declare function canonicalFields(fields: Fields): JSONValue;
export declare function canonicalRow(row: Row): string;
export declare function canonicalValue(value: Value): string;

export declare function everyValueType(): Fields;
export declare function randomValue(rand: () => number, depth?: number): Value;
export declare function randomFields(rand: () => number, id: string, n?: number): Fields;
