/**
 * A simulated edge device for the sync-core tests: a Yjs row document per docId in the row
 * layout (root Y.Map("fields") of plain values incl. `id`, Y.Map("_meta") tombstone), built with
 * the real `yjs` library, producing the `applyDeltaFromEdge` delta objects.
 */
import * as Y from "yjs";

let opCounter = 0;

export interface EdgeDeltaArg {
  opId: string;
  collection: string;
  docId: string;
  delta: ArrayBuffer;
  format: 1 | 2;
  edgeId: string;
}

export function buf(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

export class Edge {
  readonly docs = new Map<string, Y.Doc>();
  constructor(
    readonly edgeId: string,
    readonly clientId: number,
    readonly collection = "tasks",
  ) {}

  doc(docId: string): Y.Doc {
    let doc = this.docs.get(docId);
    if (!doc) {
      doc = new Y.Doc();
      doc.clientID = this.clientId;
      this.docs.set(docId, doc);
    }
    return doc;
  }

  /** One transaction on the row; returns the delta holding only what it added. */
  edit(docId: string, fn: (fields: Y.Map<unknown>, meta: Y.Map<unknown>) => void, format: 1 | 2 = 2): EdgeDeltaArg {
    const doc = this.doc(docId);
    const before = Y.encodeStateVector(doc);
    doc.transact(() => fn(doc.getMap("fields"), doc.getMap("_meta")));
    const update = format === 2 ? Y.encodeStateAsUpdateV2(doc, before) : Y.encodeStateAsUpdate(doc, before);
    return this.delta(docId, update, format);
  }

  set(docId: string, fields: Record<string, unknown>, format: 1 | 2 = 2): EdgeDeltaArg {
    return this.edit(
      docId,
      (map) => {
        for (const [k, v] of Object.entries(fields)) map.set(k, v);
      },
      format,
    );
  }

  remove(docId: string, now = 1_700_000_000_000): EdgeDeltaArg {
    return this.edit(docId, (_f, meta) => {
      meta.set("_deleted", true);
      meta.set("_deletedAt", now);
    });
  }

  /** Wraps raw bytes as a delta of this edge with a fresh opId. */
  delta(docId: string, update: Uint8Array, format: 1 | 2 = 2, collection = this.collection): EdgeDeltaArg {
    opCounter += 1;
    return {
      opId: `${this.edgeId}-op-${opCounter}`,
      collection,
      docId,
      delta: buf(update),
      format,
      edgeId: this.edgeId,
    };
  }

  /** Applies a delta received from the server (v2) to the local copy. */
  receive(docId: string, update: ArrayBuffer | Uint8Array): void {
    Y.applyUpdateV2(this.doc(docId), update instanceof Uint8Array ? update : new Uint8Array(update));
  }

  fields(docId: string): Record<string, unknown> {
    return this.doc(docId).getMap("fields").toJSON();
  }
}

/**
 * The keys a v2 delta sets or removes in `fields` and `_meta`, observed with yjs while applying it
 * on top of the `prior` deltas of the row (an update to an existing key is anchored to the
 * previous value, so it only integrates on a document that already has it).
 */
export function keysOf(delta: ArrayBuffer, prior: ArrayBuffer[] = []): { fields: string[]; meta: string[] } {
  const doc = new Y.Doc();
  for (const p of prior) Y.applyUpdateV2(doc, new Uint8Array(p));
  const fields = new Set<string>();
  const meta = new Set<string>();
  doc.getMap("fields").observe((e) => e.keysChanged.forEach((k) => fields.add(k)));
  doc.getMap("_meta").observe((e) => e.keysChanged.forEach((k) => meta.add(k)));
  Y.applyUpdateV2(doc, new Uint8Array(delta));
  return { fields: [...fields].sort(), meta: [...meta].sort() };
}

/** The row an edge sees after applying `deltas` in order. */
export function viewOf(deltas: ArrayBuffer[]): { fields: Record<string, unknown>; deleted: boolean } {
  const doc = new Y.Doc();
  for (const d of deltas) Y.applyUpdateV2(doc, new Uint8Array(d));
  return { fields: doc.getMap("fields").toJSON(), deleted: doc.getMap("_meta").get("_deleted") === true };
}
