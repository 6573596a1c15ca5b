// The benchmark's edge: real Yjs documents (root map "fields", the row layout in docs/protocol.md) whose
// local edits become Yjs update v2 deltas, and the `POST /api/dink/applyDelta` body that carries
// them (docs/protocol.md). Bodies are built before a timed window opens: encoding them is the
// edge's cost, not Convex's.

import * as Y from "yjs";

const REMOTE = Symbol("remote");
export const PROTOCOL_VERSION = 1;

export class BenchEdge {
  /** @param {{ id: string, random: () => number, collection?: string }} options */
  constructor({ id, random, collection = "tasks" }) {
    this.id = id;
    this.random = random;
    this.collection = collection;
    /** docId -> Y.Doc */
    this.docs = new Map();
    /** Local deltas not yet sent. */
    this.outgoing = [];
    this.ops = 0;
  }

  doc(docId) {
    let doc = this.docs.get(docId);
    if (!doc) {
      doc = new Y.Doc();
      doc.on("updateV2", (update, origin) => {
        if (origin !== REMOTE) this.outgoing.push({ opId: `${this.id}:${++this.ops}`, docId, delta: update });
      });
      this.docs.set(docId, doc);
    }
    return doc;
  }

  /** A new row; returns its doc id. */
  create() {
    const id = `${this.id}-row-${this.docs.size + 1}-${Math.floor(this.random() * 1e9)}`;
    const doc = this.doc(id);
    doc.transact(() => {
      const fields = doc.getMap("fields");
      fields.set("id", id);
      fields.set("title", this.title());
      fields.set("completed", false);
    });
    return id;
  }

  /** One field edit: a new title or a flipped `completed`. */
  edit(docId, field = this.random() < 0.5 ? "title" : "completed") {
    const fields = this.doc(docId).getMap("fields");
    fields.set(field, field === "title" ? this.title() : !(fields.get("completed") === true));
  }

  /** Merge what Convex holds (as a live edge receives pushes); not sent back. */
  receive(docId, update) {
    Y.applyUpdateV2(this.doc(docId), update, REMOTE);
  }

  title() {
    return `task ${Math.floor(this.random() * 1e6).toString(36)} ${"x".repeat(8 + Math.floor(this.random() * 16))}`;
  }

  /** Takes the queued deltas. */
  take() {
    return this.outgoing.splice(0, this.outgoing.length);
  }

  /** The JSON body of one applyDelta request. */
  body(deltas) {
    return JSON.stringify({
      version: PROTOCOL_VERSION,
      deltas: deltas.map((d) => ({
        op_id: d.opId,
        collection: this.collection,
        doc_id: d.docId,
        delta: Buffer.from(d.delta).toString("base64"),
        format: 2,
        edge_id: this.id,
      })),
    });
  }
}

/**
 * Sends one applyDelta body through `send(path, init)` (t.fetch, or fetch to the gateway) and
 * returns the per-delta results; throws unless every delta was applied, so a benchmark never
 * quietly times rejections.
 */
export async function postDeltas(send, syncKey, body, expected) {
  const response = await send("/api/dink/applyDelta", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${syncKey}` },
    body,
  });
  const text = await response.text();
  return () => {
    const parsed = JSON.parse(text);
    if (response.status !== 200 || parsed.success !== true) {
      throw new Error(`applyDelta answered ${response.status}: ${text.slice(0, 300)}`);
    }
    const results = parsed.data.results;
    const notApplied = results.filter((r) => r.status !== "applied");
    if (results.length !== expected || notApplied.length > 0) {
      throw new Error(
        `applyDelta: ${notApplied.length} of ${results.length} not applied: ${JSON.stringify(notApplied[0])}`,
      );
    }
    return results;
  };
}
