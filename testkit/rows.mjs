// Row documents built and read with the reference `yjs` library: the one copy used by the tests,
// the demos and the benchmarks.
//
// The row layout (byte-compatible with @trestleinc/replicate >= 2.0, docs/protocol.md): one Y.Doc
// per row, root `Y.Map("fields")` with every user field (and `id`) as a plain atomic value set
// with `map.set(k, value)`, root `Y.Map("_meta")` with the tombstone `_deleted` / `_deletedAt`.
//
// Values. A Convex value goes into yjs as itself, except bytes: Convex's ArrayBuffer is stored as
// the Uint8Array yjs encodes as binary (`toYjs`), and read back as an ArrayBuffer (`toConvex`).
// THE rule for nested Y types: a Y.Map, Y.Array, Y.Text, Y.Xml* or sub-document under a field is
// NOT a plain value. `toConvex` (and so `readRow`, `rowOf`, `fieldsOf`) throws a clear error naming
// the field instead of flattening it with `toJSON()`, and `toYjs` refuses one as input. The engine
// rejects such documents, so a helper that quietly converted them would hide exactly what the
// tests are there to catch. `nestedTypes(doc)` lists them without throwing. `undefined` is not a
// Convex value either and throws the same way, except as an object field or a field passed to
// `setFields`, where it means "absent", as in Convex's own `convexToJson`.
//
// Rows are compared through `canonical()` / `canonicalRow()` (Convex JSON with sorted keys), never
// through encoded bytes: two different encodings of the same document are equally correct.

import * as Y from "yjs";
import { convexToJson } from "convex/values";

/** Client id of read-only scratch docs (never used by a writer, so yjs never reassigns it). */
export const READER_CLIENT_ID = 999_999_999;

// --- documents -----------------------------------------------------------------------------------

/** A new row document; with `clientId` its client id is fixed (deterministic tests). */
export function newDoc(clientId) {
  const doc = new Y.Doc();
  if (clientId !== undefined) doc.clientID = clientId;
  return doc;
}

/** A new row document with `clientId` that already holds `state` (an update of `format`). */
export function docFrom(state, clientId, format = 2) {
  const doc = newDoc(clientId);
  if (state) applyUpdate(doc, state, format);
  return doc;
}

/** Applies an update of `format` (1 or 2) to `doc`; `origin` is passed to yjs's observers. */
export function applyUpdate(doc, update, format = 2, origin) {
  if (format === 2) Y.applyUpdateV2(doc, update, origin);
  else Y.applyUpdate(doc, update, origin);
}

/** The document as an update of `format`, or only what a peer at `stateVector` lacks. */
export function encodeState(doc, format = 2, stateVector) {
  return format === 2 ? Y.encodeStateAsUpdateV2(doc, stateVector) : Y.encodeStateAsUpdate(doc, stateVector);
}

/** Structs yjs keeps parked because the changes they build on have not arrived. */
export function hasPending(doc) {
  return doc.store.pendingStructs !== null || doc.store.pendingDs !== null;
}

/**
 * Runs `fn(fields, meta)` in one transaction and returns only what it added, as an update of
 * `format` (what a live edge sends for one local edit).
 */
export function edit(doc, fn, format = 2) {
  const before = Y.encodeStateVector(doc);
  doc.transact(() => fn(doc.getMap("fields"), doc.getMap("_meta")));
  return encodeState(doc, format, before);
}

/** Sets every field of `fields` (Convex values) on the row: an insert or an update. */
export function setFields(doc, fields, format = 2) {
  return edit(
    doc,
    (map) => {
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) map.set(k, toYjs(v, k));
    },
    format,
  );
}

/** Removes fields from the row. */
export function removeFields(doc, keys, format = 2) {
  return edit(doc, (map) => keys.forEach((k) => map.delete(k)), format);
}

/** The Replicate tombstone: `_meta._deleted = true`, `_meta._deletedAt = now`. */
export function markDeleted(doc, now, format = 2) {
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
export function reinsert(doc, fields, format = 2) {
  return edit(
    doc,
    (map, meta) => {
      meta.set("_deleted", false);
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) map.set(k, toYjs(v, k));
    },
    format,
  );
}

// --- reading -------------------------------------------------------------------------------------

/** Reads the row as Convex values, as the engine's `materialize` would (strict: see the header). */
export function readRow(doc) {
  const fields = {};
  for (const [k, v] of doc.getMap("fields").entries()) fields[k] = toConvex(v, k);
  return { fields, deleted: doc.getMap("_meta").get("_deleted") === true };
}

/** Reads a row straight from an update (a fresh doc applies it). */
export function rowOf(update, format = 2) {
  return readRow(docFrom(update, READER_CLIENT_ID, format));
}

/**
 * The fields of a document rebuilt from v2 updates exactly as yjs holds them (what an edge app
 * reads: binary as Uint8Array, int64 as bigint), without conversion. A nested Y type throws.
 */
export function fieldsOf(...updatesV2) {
  const doc = newDoc(READER_CLIENT_ID);
  for (const update of updatesV2) Y.applyUpdateV2(doc, update);
  const out = {};
  for (const [k, v] of doc.getMap("fields").entries()) {
    if (v instanceof Y.AbstractType) throw nestedTypeError(v, k);
    out[k] = v;
  }
  return out;
}

/** The keys of `fields` and `_meta` holding a nested Y type (they must never appear). */
export function nestedTypes(doc) {
  const bad = [];
  for (const [k, v] of doc.getMap("fields").entries()) if (v instanceof Y.AbstractType) bad.push(k);
  for (const [k, v] of doc.getMap("_meta").entries()) if (v instanceof Y.AbstractType) bad.push(`_meta.${k}`);
  return bad;
}

/** Client ids of the structs an update v2 carries. */
export function structClients(updateV2) {
  return [...new Set(Y.decodeUpdateV2(updateV2).structs.map((s) => s.id.client))];
}

/** [client, clock] of every struct an update v2 carries. */
export function structIds(updateV2) {
  return Y.decodeUpdateV2(updateV2).structs.map((s) => [s.id.client, s.id.clock]);
}

/** The state vector as a Map client -> clock (compare these, never the bytes). */
export function decodeSv(sv) {
  return Y.decodeStateVector(sv);
}

export function svOfDoc(doc) {
  return Y.decodeStateVector(Y.encodeStateVector(doc));
}

// --- values --------------------------------------------------------------------------------------

function nestedTypeError(value, path) {
  const kind = value?.constructor?.name ?? "Y type";
  return new Error(
    `nested ${kind} at ${path || "(root)"}: a row field holds plain values only (the engine rejects nested Y types)`,
  );
}

/**
 * Convex value -> what `yjs` stores: ArrayBuffer becomes Uint8Array, an object field holding
 * `undefined` is left out (as `convexToJson` does), everything else as is.
 */
export function toYjs(value, path = "") {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (value instanceof Y.AbstractType || value instanceof Y.Doc) throw nestedTypeError(value, path);
  if (ArrayBuffer.isView(value)) {
    throw new Error(
      `${value.constructor.name} at ${path || "(root)"} is not a Convex value (bytes are an ArrayBuffer)`,
    );
  }
  if (value === undefined) throw new Error(`undefined at ${path || "(root)"} is not a Convex value`);
  if (Array.isArray(value)) return value.map((v, i) => toYjs(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toYjs(v, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

/** What `yjs` stores -> Convex value: Uint8Array becomes ArrayBuffer; a nested Y type throws. */
export function toConvex(value, path = "") {
  if (value instanceof Uint8Array) {
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  }
  if (value instanceof Y.AbstractType || value instanceof Y.Doc) throw nestedTypeError(value, path);
  if (value === undefined) throw new Error(`undefined at ${path || "(root)"} is not a Convex value`);
  if (Array.isArray(value)) return value.map((v, i) => toConvex(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toConvex(v, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

/** An ArrayBuffer of its own holding `bytes` (the shape of a `v.bytes()` argument). */
export function buf(bytes) {
  return bytes.slice().buffer;
}

export function bytes(...xs) {
  return new Uint8Array(xs).buffer;
}

// --- canonical forms -----------------------------------------------------------------------------

function sortKeys(json) {
  if (Array.isArray(json)) return json.map(sortKeys);
  if (json !== null && typeof json === "object") {
    const out = {};
    for (const k of Object.keys(json).sort()) out[k] = sortKeys(json[k]);
    return out;
  }
  return json;
}

function isRow(x) {
  return (
    typeof x === "object" &&
    x !== null &&
    Object.keys(x).length === 2 &&
    "fields" in x &&
    "deleted" in x &&
    typeof x.deleted === "boolean" &&
    typeof x.fields === "object"
  );
}

/**
 * Canonical form of a row (or of bare fields, read as a live row) for comparison: Convex JSON
 * (lossless: int64, bytes, NaN, ±Infinity and -0 are tagged) with object keys sorted. `toEqual` on
 * two canonical rows compares values exactly.
 */
export function canonical(row) {
  const r = isRow(row) ? row : { fields: row, deleted: false };
  return { fields: sortKeys(convexToJson(r.fields)), deleted: r.deleted };
}

/** Canonical fields only (no tombstone flag). */
export function canonicalFields(fields) {
  return sortKeys(convexToJson(fields));
}

/** Canonical text of a row (`{ fields, deleted }`; other keys are ignored): equal rows give equal strings. */
export function canonicalRow(row) {
  return JSON.stringify({ fields: sortKeys(convexToJson(row.fields)), deleted: row.deleted });
}

/** Canonical text of one value. */
export function canonicalValue(value) {
  return JSON.stringify(sortKeys(convexToJson(value)));
}

// --- value catalogue and random values -----------------------------------------------------------

/**
 * One field per interesting Convex value. Keys are valid Convex field names. `-0` is absent on
 * purpose: it is covered by its own documented-behaviour test.
 */
export function everyValueType() {
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

/** A random Convex value (no -0), at most `depth` levels of arrays/objects. */
export function randomValue(rand, depth = 3) {
  const pick = Math.floor(rand() * (depth > 0 ? 10 : 8));
  const int = (n) => Math.floor(rand() * n);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2: {
      const specials = [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, NaN, Infinity, -Infinity, 0.1, 1e300, -5e-324];
      return rand() < 0.3 ? specials[int(specials.length)] : (rand() - 0.5) * 10 ** int(12);
    }
    case 3:
      return int(1000) - 500;
    case 4: {
      const specials = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n];
      return rand() < 0.3 ? specials[int(specials.length)] : BigInt(int(2 ** 31)) * BigInt(int(2 ** 31)) - 2n ** 60n;
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
      const a = [];
      for (let i = int(5); i > 0; i--) a.push(randomValue(rand, depth - 1));
      return a;
    }
    default: {
      const o = {};
      for (let i = int(5); i > 0; i--) o[`k${int(8)}`] = randomValue(rand, depth - 1);
      return o;
    }
  }
}

/** A random row of `n` fields (plus `id`). */
export function randomFields(rand, id, n = 6) {
  const f = { id };
  for (let i = 0; i < n; i++) f[`f${i}`] = randomValue(rand);
  return f;
}
