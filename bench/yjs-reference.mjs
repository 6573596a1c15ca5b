// The engine's operations implemented on the reference `yjs` JS library, doing the same work
// (decode the stored state, apply, encode the new state and state vector, read the row), so the
// benchmark compares like with like and the demo can run yjs writers next to engine writers.
//
// Same row layout as the engine: one Y.Doc per row, root Y.Map("fields") with plain atomic
// values, root Y.Map("_meta") with the tombstone `_deleted` / `_deletedAt`.
//
// API mirrors `dink-convex/engine`:
//   ingest(state|null, update, format=2) -> { state, stateVector, delta, fields, deleted, changed }
//   change(state|null, oldFields|null, newFields|null, { now, clientId }) ->
//       { delta|null, state, stateVector, changedKeys, deleted, drifted }
//   diff(state, stateVector), merge(updates, format=2), materialize(state), stateVector(update)

import * as Y from "yjs";
import { convexToJson } from "convex/values";

export const SERVER_CLIENT_ID = 0x6469_6e6b;
export const yjsVersion = "yjs";

/** Same shape as the engine's EngineError (code, stateVector) so callers handle both alike. */
export class YjsReferenceError extends Error {
  constructor(code, message, stateVector) {
    super(message);
    this.name = "YjsReferenceError";
    this.code = code;
    if (stateVector) this.stateVector = stateVector;
  }
}

// --- values ------------------------------------------------------------------------------------

/** Convex value -> what yjs stores (ArrayBuffer -> Uint8Array). */
export function toYjs(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (Array.isArray(value)) return value.map(toYjs);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const k of Object.keys(value)) out[k] = toYjs(value[k]);
    return out;
  }
  return value;
}

/** What yjs stores -> Convex value (Uint8Array -> ArrayBuffer). */
export function toConvex(value) {
  if (value instanceof Uint8Array) {
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  }
  if (Array.isArray(value)) return value.map(toConvex);
  if (value !== null && typeof value === "object") {
    if (value instanceof Y.AbstractType) return toConvex(value.toJSON());
    const out = {};
    for (const k of Object.keys(value)) out[k] = toConvex(value[k]);
    return out;
  }
  return value;
}

function sortKeys(json) {
  if (Array.isArray(json)) return json.map(sortKeys);
  if (json !== null && typeof json === "object") {
    const out = {};
    for (const k of Object.keys(json).sort()) out[k] = sortKeys(json[k]);
    return out;
  }
  return json;
}

/** Canonical text of a row (Convex JSON, sorted keys): equal rows give equal strings. */
export function canonicalRow(row) {
  return JSON.stringify({ deleted: row.deleted, fields: sortKeys(convexToJson(row.fields)) });
}

/** Canonical text of one value. */
export function canonicalValue(value) {
  return JSON.stringify(sortKeys(convexToJson(value)));
}

// --- documents ---------------------------------------------------------------------------------

/** Reads the row out of a doc as Convex values. */
export function readRow(doc) {
  const fields = {};
  doc.getMap("fields").forEach((v, k) => {
    if (v !== undefined) fields[k] = toConvex(v);
  });
  return { fields, deleted: doc.getMap("_meta").get("_deleted") === true };
}

function loadDoc(state, clientId) {
  // A fixed guid, as the engine uses: the guid never reaches the bytes, and yjs's random uuid
  // costs more than the rest of a small row's ingest.
  const doc = new Y.Doc({ guid: "dink-row", gc: true });
  if (state) Y.applyUpdateV2(doc, state);
  // Set after loading: yjs reassigns a doc's client id when a remote update carries its own id.
  if (clientId !== undefined) doc.clientID = clientId;
  return doc;
}

function hasPending(doc) {
  return doc.store.pendingStructs !== null || doc.store.pendingDs !== null;
}

/** Runs `fn` as one transaction and returns the v2 update it produced (null if none). */
function captureUpdate(doc, fn) {
  let captured = null;
  const onUpdate = (update) => {
    captured = update;
  };
  doc.on("updateV2", onUpdate);
  try {
    fn();
  } finally {
    doc.off("updateV2", onUpdate);
  }
  return captured;
}

// --- operations --------------------------------------------------------------------------------

/**
 * Merge an edge update into stored state: new Y.Doc, apply the state, apply the update (v1 or
 * v2), reject if anything stays pending, then encode the new state, state vector, the delta
 * (what the update added, from yjs's own per-transaction update) and read the row.
 */
export function ingest(state, update, format = 2) {
  const doc = loadDoc(state);
  const before = Y.encodeStateVector(doc);
  let delta = null;
  try {
    delta = captureUpdate(doc, () => {
      if (format === 1) Y.applyUpdate(doc, update);
      else Y.applyUpdateV2(doc, update);
    });
  } catch (e) {
    throw new YjsReferenceError("INVALID_DELTA", `update cannot be applied: ${e?.message ?? e}`);
  }
  if (hasPending(doc)) {
    throw new YjsReferenceError("MISSING_DEPENDENCIES", "update depends on missing changes", before);
  }
  const row = readRow(doc);
  if (delta === null) {
    return {
      state: state ?? Y.encodeStateAsUpdateV2(doc),
      stateVector: before,
      delta: new Uint8Array(0),
      fields: row.fields,
      deleted: row.deleted,
      changed: false,
    };
  }
  return {
    state: Y.encodeStateAsUpdateV2(doc),
    stateVector: Y.encodeStateVector(doc),
    delta,
    fields: row.fields,
    deleted: row.deleted,
    changed: true,
  };
}

/**
 * A Convex-side write as a delta: load the state with the writer's client id, compare the new row
 * with the CRDT's current row, set only the changed keys (remove the dropped ones), tombstone on
 * delete, clear the tombstone on re-insert.
 */
export function change(state, oldFields, newFields, { now, clientId = SERVER_CLIENT_ID } = {}) {
  const doc = loadDoc(state, clientId);
  const current = readRow(doc);
  const currentCanon = {};
  for (const k of Object.keys(current.fields)) currentCanon[k] = canonicalValue(current.fields[k]);
  let drifted = false;
  if (state && oldFields) {
    const oldKeys = Object.keys(oldFields);
    drifted =
      oldKeys.length !== Object.keys(current.fields).length ||
      oldKeys.some((k) => currentCanon[k] !== canonicalValue(oldFields[k]));
  }
  const changedKeys = [];
  const fieldsMap = doc.getMap("fields");
  const meta = doc.getMap("_meta");
  const delta = captureUpdate(doc, () =>
    doc.transact(() => {
      if (newFields) {
        for (const k of Object.keys(newFields)) {
          const v = newFields[k];
          if (currentCanon[k] !== canonicalValue(v)) {
            fieldsMap.set(k, toYjs(v));
            changedKeys.push(k);
          }
        }
        for (const k of Object.keys(current.fields)) {
          if (!(k in newFields)) {
            fieldsMap.delete(k);
            changedKeys.push(k);
          }
        }
        if (current.deleted) {
          meta.set("_deleted", false);
          meta.delete("_deletedAt");
        }
      } else if (!current.deleted) {
        meta.set("_deleted", true);
        meta.set("_deletedAt", now);
      }
    }),
  );
  return {
    delta,
    state: Y.encodeStateAsUpdateV2(doc),
    stateVector: Y.encodeStateVector(doc),
    changedKeys,
    deleted: newFields === null,
    drifted,
  };
}

/** What a peer at `stateVector` lacks, as v2 (byte-level, as Replicate's `recovery` does). */
export function diff(state, stateVector) {
  return Y.diffUpdateV2(state, stateVector);
}

/** Merge updates without loading a document, to v2. */
export function merge(updates, format = 2) {
  if (format === 1) return Y.convertUpdateFormatV1ToV2(Y.mergeUpdates(updates));
  return Y.mergeUpdatesV2(updates);
}

export function materialize(state) {
  return readRow(loadDoc(state));
}

export function stateVector(update, format = 2) {
  return format === 1 ? Y.encodeStateVectorFromUpdate(update) : Y.encodeStateVectorFromUpdateV2(update);
}

export const convertV1ToV2 = Y.convertUpdateFormatV1ToV2;
export const convertV2ToV1 = Y.convertUpdateFormatV2ToV1;

// --- live writers (the demo's yjs edges) -------------------------------------------------------

/**
 * An offline edge that keeps one live Y.Doc per row (the way a yjs app holds documents) and
 * emits `encodeStateAsUpdate(V2)(doc, stateVectorBefore)` for each local edit, like Replicate
 * clients do.
 */
export class YjsWriter {
  constructor(name, clientId, format = 2) {
    this.name = name;
    this.clientId = clientId;
    this.format = format;
    this.docs = new Map();
  }

  doc(rowId) {
    let doc = this.docs.get(rowId);
    if (!doc) {
      doc = new Y.Doc();
      doc.clientID = this.clientId;
      this.docs.set(rowId, doc);
    }
    return doc;
  }

  row(rowId) {
    return readRow(this.doc(rowId));
  }

  /** Apply a remote update (yjs keeps out-of-order structs pending until their deps arrive). */
  apply(rowId, update, format = 2) {
    const doc = this.doc(rowId);
    if (format === 1) Y.applyUpdate(doc, update);
    else Y.applyUpdateV2(doc, update);
  }

  /** Local edit: `fn(fieldsMap, metaMap)` in one transaction; returns the update (or null). */
  edit(rowId, fn) {
    const doc = this.doc(rowId);
    const before = Y.encodeStateVector(doc);
    const txnUpdate = captureUpdate(doc, () => doc.transact(() => fn(doc.getMap("fields"), doc.getMap("_meta"))));
    if (txnUpdate === null) return null;
    return this.format === 1 ? Y.encodeStateAsUpdate(doc, before) : Y.encodeStateAsUpdateV2(doc, before);
  }

  /** Everything this writer has for `rowId` that a peer at `stateVector` lacks. */
  diffFor(rowId, stateVector) {
    return this.format === 1
      ? Y.encodeStateAsUpdate(this.doc(rowId), stateVector)
      : Y.encodeStateAsUpdateV2(this.doc(rowId), stateVector);
  }

  pending(rowId) {
    return hasPending(this.doc(rowId));
  }
}
