// A simulated edge device: one real Yjs document per row (root Y.Map "fields" with plain values,
// root Y.Map "_meta" with the `_deleted` tombstone, the row layout in docs/protocol.md), local edits
// captured as Yjs update v2 deltas and sent to the sandbox's `POST /api/dink/applyDelta`
// (docs/protocol.md), and deltas pushed by the sink applied as they arrive. While offline it keeps
// editing and queues both directions, like an app with a local store.

import { randomUUID } from "node:crypto";
import * as Y from "yjs";

const REMOTE = Symbol("remote");
const PROTOCOL_VERSION = 1;

export class SimulatedEdge {
  /** @param {{ id: string, gatewayUrl: string, syncKey: string, collection: string }} options */
  constructor({ id, gatewayUrl, syncKey, collection }) {
    this.id = id;
    this.gatewayUrl = gatewayUrl;
    this.syncKey = syncKey;
    this.collection = collection;
    this.online = true;
    /** docId -> Y.Doc */
    this.docs = new Map();
    /** Local deltas not yet accepted by Convex: { opId, docId, delta }. */
    this.outgoing = [];
    /** Pushed events received while offline. */
    this.inbox = [];
    /** The last delta Convex applied from this edge (to show idempotency). */
    this.lastApplied = undefined;
    this.stats = { sent: 0, applied: 0, duplicate: 0, noop: 0, rejected: {}, resent: 0, received: 0 };
  }

  doc(docId) {
    let doc = this.docs.get(docId);
    if (!doc) {
      doc = new Y.Doc();
      doc.on("updateV2", (update, origin) => {
        if (origin !== REMOTE) this.outgoing.push({ opId: `${this.id}:${randomUUID()}`, docId, delta: update });
      });
      this.docs.set(docId, doc);
    }
    return doc;
  }

  // --- local edits -------------------------------------------------------------------------------
  create(title) {
    const id = randomUUID();
    const doc = this.doc(id);
    doc.transact(() => {
      const fields = doc.getMap("fields");
      fields.set("id", id);
      fields.set("title", title);
      fields.set("completed", false);
    });
    return id;
  }

  set(docId, field, value) {
    this.doc(docId).getMap("fields").set(field, value);
  }

  remove(docId) {
    const doc = this.doc(docId);
    doc.transact(() => {
      const meta = doc.getMap("_meta");
      meta.set("_deleted", true);
      meta.set("_deletedAt", Date.now());
    });
  }

  /** Rows this edge sees: docId -> { deleted, fields }. */
  rows() {
    const out = new Map();
    for (const [docId, doc] of this.docs) {
      out.set(docId, {
        deleted: doc.getMap("_meta").get("_deleted") === true,
        fields: doc.getMap("fields").toJSON(),
      });
    }
    return out;
  }

  // --- the wire ----------------------------------------------------------------------------------
  /** Sends one raw delta outside the document model (used to show rejections). */
  async sendRaw(deltas) {
    return this.post(deltas);
  }

  async post(deltas) {
    const response = await fetch(`${this.gatewayUrl}/api/dink/applyDelta`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.syncKey}` },
      body: JSON.stringify({
        version: PROTOCOL_VERSION,
        deltas: deltas.map((d) => ({
          op_id: d.opId,
          collection: d.collection ?? this.collection,
          doc_id: d.docId,
          delta: Buffer.from(d.delta).toString("base64"),
          format: 2,
          edge_id: this.id,
        })),
      }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok || body?.success !== true) {
      throw new Error(`applyDelta answered ${response.status}: ${JSON.stringify(body?.error ?? body)}`);
    }
    this.stats.sent += deltas.length;
    return body.data.results;
  }

  /** Sends the queued local deltas (when online). A delta whose base Convex lacks is re-sent as a
   * diff against the state vector Convex reports, the recovery the protocol describes. */
  async flush() {
    if (!this.online || this.outgoing.length === 0) return;
    const batch = this.outgoing.splice(0, this.outgoing.length);
    let results;
    try {
      results = await this.post(batch);
    } catch (e) {
      this.outgoing.unshift(...batch); // transport failure: keep them for the next flush
      throw e;
    }
    results.forEach((result, i) => {
      const sent = batch[i];
      if (result.status === "rejected") {
        const code = result.error?.code ?? "UNKNOWN";
        if (code === "MISSING_DEPENDENCIES" && result.error.state_vector !== undefined) {
          const sv = Buffer.from(result.error.state_vector, "base64");
          const diff = Y.encodeStateAsUpdateV2(this.doc(sent.docId), new Uint8Array(sv));
          this.outgoing.push({ opId: `${this.id}:${randomUUID()}`, docId: sent.docId, delta: diff });
          this.stats.resent++;
        } else {
          this.stats.rejected[code] = (this.stats.rejected[code] ?? 0) + 1;
        }
      } else {
        this.stats[result.status]++;
        if (result.status === "applied") this.lastApplied = sent;
      }
    });
  }

  /** A convex-push event fanned out by the sink. */
  receive(event) {
    if (!this.online) {
      this.inbox.push(event);
      return;
    }
    this.stats.received++;
    Y.applyUpdateV2(this.doc(event.doc_id), new Uint8Array(Buffer.from(event.delta, "base64")), REMOTE);
  }

  setOnline(online) {
    this.online = online;
    if (online) for (const event of this.inbox.splice(0, this.inbox.length)) this.receive(event);
  }
}
