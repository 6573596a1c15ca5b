// The demo's edge: the shared simulated edge (@dink-convex/testkit: one real Yjs document per row,
// local edits captured as deltas with op ids) plus what only the demo needs: a connection that
// goes offline and online, posting its queued deltas to the sandbox's `POST /api/dink/applyDelta`
// (docs/protocol.md), re-sending a diff when Convex lacks a delta's base, and applying the
// convex-push events the sink (sandbox/sink.mjs) delivers. While offline it keeps editing and
// queues both directions, like an app with a local store.

import { randomUUID } from "node:crypto";
import { applyDeltaBody, SimulatedEdge } from "@dink-convex/testkit";

export class DemoEdge extends SimulatedEdge {
  /** @param {{ id: string, clientId: number, gatewayUrl: string, syncKey: string, collection: string }} options */
  constructor({ id, clientId, gatewayUrl, syncKey, collection }) {
    super(id, clientId, collection);
    this.gatewayUrl = gatewayUrl;
    this.syncKey = syncKey;
    this.online = true;
    /** Pushed events received while offline. */
    this.inbox = [];
    /** The last delta Convex applied from this edge (to show idempotency). */
    this.lastApplied = undefined;
    this.stats = { sent: 0, applied: 0, duplicate: 0, noop: 0, rejected: {}, resent: 0, received: 0 };
  }

  /** A new task row; returns its doc id. */
  create(title) {
    const id = randomUUID();
    this.set(id, { id, title, completed: false });
    return id;
  }

  // --- the wire ----------------------------------------------------------------------------------
  async post(deltas) {
    const response = await fetch(`${this.gatewayUrl}/api/dink/applyDelta`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.syncKey}` },
      body: JSON.stringify(applyDeltaBody(deltas)),
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
    const batch = this.take();
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
          const sv = new Uint8Array(Buffer.from(result.error.state_vector, "base64"));
          this.outgoing.push(this.delta(sent.docId, this.diffFor(sent.docId, sv)));
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
  deliver(event) {
    if (!this.online) {
      this.inbox.push(event);
      return;
    }
    this.stats.received++;
    this.receive(event.doc_id, new Uint8Array(Buffer.from(event.delta, "base64")));
  }

  setOnline(online) {
    this.online = online;
    if (online) for (const event of this.inbox.splice(0, this.inbox.length)) this.deliver(event);
  }
}
