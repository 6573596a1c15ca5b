// Shared helpers for building and reading row documents with the reference `yjs` library.
//
// The row layout (byte-compatible with @trestleinc/replicate >= 2.0): one Y.Doc per row, root
// `Y.Map("fields")` with every user field (and `id`) as a plain atomic value set with
// `map.set(k, value)`, root `Y.Map("_meta")` with the tombstone `_deleted` / `_deletedAt`.
//
// Rows are always compared through `canonical()` (Convex JSON with sorted keys), never through
// encoded bytes: two different encodings of the same document are equally correct.

import * as Y from "yjs";
import { convexToJson, type Value } from "convex/values";

export type Fields = Record<string, Value>;
export type Format = 1 | 2;

export interface Row {
  fields: Fields;
  deleted: boolean;
}

/** Client id of read-only scratch docs (never used by a writer, so yjs never reassigns it). */
export const READER_CLIENT_ID = 999_999_999;

/** A new row document with a fixed client id (deterministic tests). */
export function newDoc(clientId: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  return doc;
}

/** A new row document with `clientId` that already holds `state` (a v2 or v1 update). */
export function docFrom(state: Uint8Array | null, clientId: number, format: Format = 2): Y.Doc {
  const doc = newDoc(clientId);
  if (state) applyUpdate(doc, state, format);
  return doc;
}

export function applyUpdate(doc: Y.Doc, update: Uint8Array, format: Format = 2): void {
  if (format === 2) Y.applyUpdateV2(doc, update);
  else Y.applyUpdate(doc, update);
}

export function encodeState(doc: Y.Doc, format: Format = 2, stateVector?: Uint8Array): Uint8Array {
  return format === 2 ? Y.encodeStateAsUpdateV2(doc, stateVector) : Y.encodeStateAsUpdate(doc, stateVector);
}

/** Runs `fn` in one transaction and returns only what it added, as an update of `format`. */
export function edit(
  doc: Y.Doc,
  fn: (fields: Y.Map<unknown>, meta: Y.Map<unknown>) => void,
  format: Format = 2,
): Uint8Array {
  const before = Y.encodeStateVector(doc);
  doc.transact(() => fn(doc.getMap("fields"), doc.getMap("_meta")));
  return encodeState(doc, format, before);
}

/** Sets every field of `fields` (Convex values) on the row: an insert or an update. */
export function setFields(doc: Y.Doc, fields: Fields, format: Format = 2): Uint8Array {
  return edit(
    doc,
    (map) => {
      for (const [k, v] of Object.entries(fields)) map.set(k, toYjs(v));
    },
    format,
  );
}

/** Removes fields from the row. */
export function removeFields(doc: Y.Doc, keys: string[], format: Format = 2): Uint8Array {
  return edit(doc, (map) => keys.forEach((k) => map.delete(k)), format);
}

/** The Replicate tombstone: `_meta._deleted = true`, `_meta._deletedAt = now`. */
export function markDeleted(doc: Y.Doc, now: number, format: Format = 2): Uint8Array {
  return edit(
    doc,
    (_fields, meta) => {
      meta.set("_deleted", true);
      meta.set("_deletedAt", now);
    },
    format,
  );
}

/** A re-insert: clears the tombstone explicitly and writes the fields. */
export function reinsert(doc: Y.Doc, fields: Fields, format: Format = 2): Uint8Array {
  return edit(
    doc,
    (map, meta) => {
      meta.set("_deleted", false);
      for (const [k, v] of Object.entries(fields)) map.set(k, toYjs(v));
    },
    format,
  );
}

/** Reads the row as Convex values, as the engine's `materialize` would. */
export function readRow(doc: Y.Doc): Row {
  const fields: Fields = {};
  for (const [k, v] of doc.getMap("fields").entries()) fields[k] = toConvex(v, k);
  return { fields, deleted: doc.getMap("_meta").get("_deleted") === true };
}

/** Reads a row straight from an update (a fresh doc applies it). */
export function rowOf(update: Uint8Array, format: Format = 2): Row {
  return readRow(docFrom(update, READER_CLIENT_ID, format));
}

/** Every value in `fields` is a plain (atomic) value, never a nested Y type. */
export function nestedTypes(doc: Y.Doc): string[] {
  const bad: string[] = [];
  for (const [k, v] of doc.getMap("fields").entries()) if (v instanceof Y.AbstractType) bad.push(k);
  for (const [k, v] of doc.getMap("_meta").entries()) if (v instanceof Y.AbstractType) bad.push(`_meta.${k}`);
  return bad;
}

/** Convex value -> what `yjs` stores: ArrayBuffer becomes Uint8Array, everything else as is. */
export function toYjs(value: Value): unknown {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (Array.isArray(value)) return value.map(toYjs);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toYjs(v as Value);
    return out;
  }
  return value;
}

/** What `yjs` stores -> Convex value: Uint8Array becomes ArrayBuffer. */
export function toConvex(value: unknown, path = ""): Value {
  if (value instanceof Uint8Array) {
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
  }
  if (value instanceof Y.AbstractType) throw new Error(`nested Y type at ${path}`);
  if (Array.isArray(value)) return value.map((v, i) => toConvex(v, `${path}[${i}]`));
  if (value === undefined) throw new Error(`undefined at ${path}`);
  if (value !== null && typeof value === "object") {
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toConvex(v, `${path}.${k}`);
    return out;
  }
  return value as Value;
}

/**
 * Canonical form of a row for comparison: Convex JSON (lossless: int64, bytes, NaN, ±Infinity and
 * -0 are tagged) with object keys sorted. `toEqual` on two canonical rows compares values exactly.
 */
export function canonical(row: Row | Fields): unknown {
  const r = isRow(row) ? row : { fields: row, deleted: false };
  return { fields: sortKeys(convexToJson(r.fields as Value)), deleted: r.deleted };
}

/** Canonical fields only (no tombstone flag). */
export function canonicalFields(fields: Fields): unknown {
  return sortKeys(convexToJson(fields as Value));
}

function isRow(x: Row | Fields): x is Row {
  return (
    typeof x === "object" &&
    x !== null &&
    Object.keys(x).length === 2 &&
    "fields" in x &&
    "deleted" in x &&
    typeof (x as Row).deleted === "boolean" &&
    typeof (x as Row).fields === "object"
  );
}

function sortKeys(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(sortKeys);
  if (json !== null && typeof json === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(json).sort()) out[k] = sortKeys((json as Record<string, unknown>)[k]);
    return out;
  }
  return json;
}

/** The state vector as a Map client -> clock (compare these, never the bytes). */
export function decodeSv(sv: Uint8Array): Map<number, number> {
  return Y.decodeStateVector(sv);
}

export function svOfDoc(doc: Y.Doc): Map<number, number> {
  return Y.decodeStateVector(Y.encodeStateVector(doc));
}

export function bytes(...xs: number[]): ArrayBuffer {
  return new Uint8Array(xs).buffer;
}

// ---------------------------------------------------------------------------------------------
// Value catalogue and a seeded generator.

/**
 * One field per interesting Convex value. Keys are valid Convex field names. `-0` is absent on
 * purpose: it is covered by its own documented-behaviour test.
 */
export function everyValueType(): Fields {
  return {
    id: "row-1",
    nul: null,
    yes: true,
    no: false,
    zero: 0,
    small: 42,
    negative: -7,
    int31: 2 ** 31 - 1,
    beyond31: 2 ** 31,
    beyond53: 2 ** 60,
    maxSafe: Number.MAX_SAFE_INTEGER,
    half: 0.5,
    tenth: 0.1,
    pi: Math.PI,
    tiny: 5e-324,
    huge: Number.MAX_VALUE,
    negFloat: -1234.5678,
    nan: NaN,
    inf: Infinity,
    negInf: -Infinity,
    i64zero: 0n,
    i64one: 1n,
    i64neg: -42n,
    i64beyond53: 9007199254740993n,
    i64min: -(2n ** 63n),
    i64max: 2n ** 63n - 1n,
    str: "hello",
    emptyStr: "",
    unicode: "héllo wörld — 🌍 中文 \u0000 \n\t\"'\\",
    longStr: "x".repeat(10_000),
    bytes: bytes(0, 1, 2, 127, 128, 255),
    emptyBytes: new ArrayBuffer(0),
    arr: [1, "a", null, true, 2n, 1.5, NaN, [1, [2, []]], bytes(9)],
    emptyArr: [],
    obj: { a: 1, b: "two", c: null, d: false, e: 3n, f: -Infinity, g: bytes(7, 7) },
    nested: { level1: { level2: { level3: [{ deep: "yes", n: 1.25 }, { list: [0.1, 0.2] }] } } },
    emptyObj: {},
  };
}

/** mulberry32, shared with the benchmark and the demo (bench/prng.mjs). */
export { prng } from "../../bench/prng.mjs";

/** A random Convex value (no -0), at most `depth` levels of arrays/objects. */
export function randomValue(rand: () => number, depth = 3): Value {
  const pick = Math.floor(rand() * (depth > 0 ? 10 : 8));
  const int = (n: number) => Math.floor(rand() * n);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2: {
      const specials = [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, NaN, Infinity, -Infinity, 0.1, 1e300, -5e-324];
      return rand() < 0.3 ? specials[int(specials.length)]! : (rand() - 0.5) * 10 ** int(12);
    }
    case 3:
      return int(1000) - 500;
    case 4: {
      const specials = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n];
      return rand() < 0.3 ? specials[int(specials.length)]! : BigInt(int(2 ** 31)) * BigInt(int(2 ** 31)) - 2n ** 60n;
    }
    case 5: {
      const alphabet = "abcXYZ 0123-_é🌍\n";
      let s = "";
      for (let i = int(12); i > 0; i--) s += [...alphabet][int([...alphabet].length)];
      return s;
    }
    case 6: {
      const b = new Uint8Array(int(9));
      for (let i = 0; i < b.length; i++) b[i] = int(256);
      return b.buffer;
    }
    case 7:
      return `s${int(100)}`;
    case 8: {
      const a: Value[] = [];
      for (let i = int(5); i > 0; i--) a.push(randomValue(rand, depth - 1));
      return a;
    }
    default: {
      const o: Record<string, Value> = {};
      for (let i = int(5); i > 0; i--) o[`k${int(8)}`] = randomValue(rand, depth - 1);
      return o;
    }
  }
}

/** A random row of `n` fields (plus `id`). */
export function randomFields(rand: () => number, id: string, n = 6): Fields {
  const f: Fields = { id };
  for (let i = 0; i < n; i++) f[`f${i}`] = randomValue(rand);
  return f;
}
