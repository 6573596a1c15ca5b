// The engine's operations implemented on the reference `yjs` JS library, doing the same work
// (decode the stored state, apply, encode the new state and state vector, read the row): the
// benchmark compares the engine with it like with like, and tests can use it as an oracle.
//
// Same row layout and value rule as the engine (rows.mjs): one Y.Doc per row, root
// Y.Map("fields") with plain atomic values, root Y.Map("_meta") with the tombstone `_deleted` /
// `_deletedAt`; reading a nested Y type throws.
//
// API mirrors `dink-convex/engine`:
//   ingest(state|null, update, format=2) -> { state, stateVector, delta, fields, deleted, changed }
//   change(state|null, oldFields|null, newFields|null, { now, clientId }) ->
//       { delta|null, state, stateVector, changedKeys, deleted, drifted }
//   diff(state, stateVector), merge(updates, format=2), materialize(state), stateVector(update)

import * as Y from "yjs";
import { canonicalValue, hasPending, readRow, toYjs } from "./rows.mjs";

export { canonicalRow, canonicalValue, readRow, toConvex, toYjs } from "./rows.mjs";

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

function loadDoc(state, clientId) {
  // A fixed guid, as the engine uses: the guid never reaches the bytes, and yjs's random uuid
  // costs more than the rest of a small row's ingest.
  const doc = new Y.Doc({ guid: "dink-row", gc: true });
  if (state) Y.applyUpdateV2(doc, state);
  // Set after loading: yjs reassigns a doc's client id when a remote update carries its own id.
  if (clientId !== undefined) doc.clientID = clientId;
  return doc;
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
  let row;
  try {
    row = readRow(doc);
  } catch (e) {
    // A nested Y type (or `undefined`) under a field: the engine refuses the layout the same way.
    throw new YjsReferenceError("INVALID_DELTA", e.message);
  }
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
            fieldsMap.set(k, toYjs(v, k));
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
