// One simulated edge device for the tests, the demos and the benchmarks: one real Yjs document per
// row (the row layout of rows.mjs), local edits made offline or online, each captured as the
// delta its transaction produced and labelled with a fresh op id, deltas and snapshots received
// from Convex applied without echoing them back, and the edge's view of its rows.
//
// It does no IO. Sending is the caller's business: a convex-test test passes the deltas to
// `sync.applyDeltaFromEdge`, the demo and the benchmark post `applyDeltaBody(deltas)` to
// `POST /api/dink/applyDelta` (their own thin wrappers, demo/edge.mjs and bench/convex/edge.mjs).

import * as Y from "yjs";
import { applyUpdate, buf, encodeState, hasPending, newDoc, readRow, toYjs } from "./rows.mjs";

/** The wire protocol version of `applyDeltaBody` (docs/protocol.md). */
export const PROTOCOL_VERSION = 1;

/** Origin of updates received from Convex: not local edits. */
const REMOTE = Symbol("remote");

/** Op ids are unique within a process, even across edges that share an id. */
let opCounter = 0;

export class SimulatedEdge {
  /**
   * @param {string} edgeId the edge id sent with every delta
   * @param {number} [clientId] the Yjs client id of its documents (yjs picks a random one if absent)
   * @param {string} [collection] the synced table its deltas name
   */
  constructor(edgeId, clientId, collection = "tasks") {
    this.edgeId = edgeId;
    this.clientId = clientId;
    this.collection = collection;
    /** docId -> Y.Doc */
    this.docs = new Map();
    /** Local deltas not yet taken by the caller (`take()`), oldest first. */
    this.outgoing = [];
  }

  /** The row's document (created empty on first use). */
  doc(docId) {
    let doc = this.docs.get(docId);
    if (!doc) {
      doc = newDoc(this.clientId);
      this.docs.set(docId, doc);
    }
    return doc;
  }

  // --- local edits ---------------------------------------------------------------------------------

  /**
   * One local transaction `fn(fields, meta)` on the row. Returns the delta holding what the
   * transaction added (yjs's own update of that transaction, v1 or v2), also queued in `outgoing`.
   */
  edit(docId, fn, format = 2) {
    const doc = this.doc(docId);
    const before = Y.encodeStateVector(doc);
    let update = null;
    const event = format === 2 ? "updateV2" : "update";
    const onUpdate = (u, origin) => {
      if (origin !== REMOTE) update = u;
    };
    doc.on(event, onUpdate);
    try {
      doc.transact(() => fn(doc.getMap("fields"), doc.getMap("_meta")));
    } finally {
      doc.off(event, onUpdate);
    }
    // A transaction that changed nothing still yields a (empty) delta, as a sloppy edge would send.
    const delta = this.delta(docId, update ?? encodeState(doc, format, before), format);
    this.outgoing.push(delta);
    return delta;
  }

  /** Sets fields (Convex values; a field holding `undefined` is left alone) on the row. */
  set(docId, fields, format = 2) {
    return this.edit(
      docId,
      (map) => {
        for (const [k, v] of Object.entries(fields)) if (v !== undefined) map.set(k, toYjs(v, k));
      },
      format,
    );
  }

  /** Removes fields from the row. */
  unset(docId, keys, format = 2) {
    return this.edit(docId, (map) => keys.forEach((k) => map.delete(k)), format);
  }

  /** Deletes the row: the Replicate tombstone `_meta._deleted = true`, `_deletedAt = now`. */
  remove(docId, now = 1_700_000_000_000, format = 2) {
    return this.edit(
      docId,
      (_fields, meta) => {
        meta.set("_deleted", true);
        meta.set("_deletedAt", now);
      },
      format,
    );
  }

  /** Wraps raw bytes as a delta of this edge with a fresh op id (not queued). */
  delta(docId, update, format = 2, collection = this.collection) {
    opCounter += 1;
    return {
      opId: `${this.edgeId}-op-${opCounter}`,
      collection,
      docId,
      delta: buf(update instanceof Uint8Array ? update : new Uint8Array(update)),
      format,
      edgeId: this.edgeId,
    };
  }

  /** Takes the queued local deltas. */
  take() {
    return this.outgoing.splice(0, this.outgoing.length);
  }

  // --- from Convex ---------------------------------------------------------------------------------

  /** Applies a delta or a snapshot received from Convex (v2 unless told) to the local copy. */
  receive(docId, update, format = 2) {
    applyUpdate(this.doc(docId), update instanceof Uint8Array ? update : new Uint8Array(update), format, REMOTE);
  }

  /** Everything this edge has for the row that a peer at `stateVector` lacks (the recovery diff). */
  diffFor(docId, stateVector, format = 2) {
    return encodeState(this.doc(docId), format, stateVector);
  }

  /** Whether yjs parked structs of the row that wait for changes this edge has not seen. */
  pending(docId) {
    return hasPending(this.doc(docId));
  }

  // --- its view ------------------------------------------------------------------------------------

  /** The row as this edge sees it, as Convex values (a nested Y type throws: see rows.mjs). */
  row(docId) {
    return readRow(this.doc(docId));
  }

  fields(docId) {
    return this.row(docId).fields;
  }

  /** Every row this edge holds: docId -> { fields, deleted }. */
  rows() {
    const out = new Map();
    for (const docId of this.docs.keys()) out.set(docId, this.row(docId));
    return out;
  }
}

// --- reading deltas ------------------------------------------------------------------------------

const u8 = (bytes) => (bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));

/**
 * The keys a v2 delta sets or removes in `fields` and `_meta`, observed with yjs while applying it
 * on top of the `prior` deltas of the row (an update to an existing key is anchored to the
 * previous value, so it only integrates on a document that already has it).
 */
export function keysOf(delta, prior = []) {
  const doc = newDoc();
  for (const p of prior) Y.applyUpdateV2(doc, u8(p));
  const fields = new Set();
  const meta = new Set();
  doc.getMap("fields").observe((e) => e.keysChanged.forEach((k) => fields.add(k)));
  doc.getMap("_meta").observe((e) => e.keysChanged.forEach((k) => meta.add(k)));
  Y.applyUpdateV2(doc, u8(delta));
  return { fields: [...fields].sort(), meta: [...meta].sort() };
}

/** The row an edge sees after applying v2 `deltas` in order. */
export function viewOf(deltas) {
  const doc = newDoc();
  for (const d of deltas) Y.applyUpdateV2(doc, u8(d));
  return readRow(doc);
}

// --- the wire ------------------------------------------------------------------------------------

function base64(bytes) {
  const view = u8(bytes);
  let binary = "";
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** One delta in the `POST /api/dink/applyDelta` wire form (docs/protocol.md). */
export function wireDelta(d) {
  return {
    op_id: d.opId,
    collection: d.collection,
    doc_id: d.docId,
    delta: base64(d.delta),
    format: d.format,
    edge_id: d.edgeId,
  };
}

/** The JSON body of one `POST /api/dink/applyDelta` request (stringify it to send). */
export function applyDeltaBody(deltas) {
  return { version: PROTOCOL_VERSION, deltas: deltas.map(wireDelta) };
}
