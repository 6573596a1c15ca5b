// A plain `yjs` edge speaking the gateway's edge-sync subjects (docs/protocol.md, "Edge sync over
// NATS") with the NATS client from npm: the interop check that the subjects are not private to
// dink-edge. Rows are the testkit's simulated edge (one real Y.Doc per row); it keeps them in
// memory (no store), so it catches up from the beginning of the feed when it starts.
//
// What it does, as the protocol says an edge must: subscribe to its events subject, `hello`,
// catch up from the feed, then apply fan-out batches (catching up again on a seq gap), and push
// its queued local deltas, re-sending a diff on MISSING_DEPENDENCIES.

import { connect, headers, JSONCodec } from "nats";
import { SimulatedEdge, wireDelta } from "@dink-convex/testkit";
import { keyId } from "./dinkProcesses.mjs";

const codec = JSONCodec();
const fromBase64 = (s) => new Uint8Array(Buffer.from(s, "base64"));

export class YjsNatsEdge extends SimulatedEdge {
  /** @param {{ natsUrl: string, key: string, appId: string, edgeId: string, clientId: number, collection?: string }} o */
  constructor({ natsUrl, key, appId, edgeId, clientId, collection = "tasks" }) {
    super(edgeId, clientId, collection);
    this.natsUrl = natsUrl;
    this.key = key;
    this.prefix = `$SYNC.${appId}.${edgeId}`;
    this.lastSeq = 0;
    this.cursor = undefined;
    this.stats = {
      applied: 0,
      duplicate: 0,
      noop: 0,
      rejected: 0,
      resent: 0,
      events: 0,
      gaps: 0,
      tailCatchups: 0,
      catchups: 0,
    };
    this.rejections = [];
    this.catchingUp = null;
    /** Called with (docId) after a change of its collection was applied (fan-out or catch-up). */
    this.onReceived = null;
  }

  async start() {
    this.nc = await connect({
      servers: this.natsUrl,
      token: this.key,
      inboxPrefix: `_INBOX_${keyId(this.key)}`,
      timeout: 5_000,
    });
    // Fan-out goes to the edges online in presence (docs/protocol.md): register and heartbeat.
    await this.control("$EDGE.PRESENCE.REGISTER", {
      hostname: "yjs-node",
      ip_address: "127.0.0.1",
      labels: {},
      name: this.edgeId,
      type: "yjs",
      version: "1",
    });
    this.heartbeat = setInterval(() => {
      this.nc.publish("$EDGE.PRESENCE.HEARTBEAT", codec.encode({ edge_id: this.edgeId }), { headers: this.auth() });
    }, 5_000);
    const sub = this.nc.subscribe(`${this.prefix}.events`);
    (async () => {
      for await (const m of sub) await this.onEvents(codec.decode(m.data)).catch(() => {});
    })();
    const hello = await this.request("hello", {});
    await this.catchUp();
    this.lastSeq = Math.max(this.lastSeq, hello.head_seq);
    // A missed tail (the last batch lost, nothing after it) shows only in `hello`: ask every 2 s,
    // and catch up when two answers in a row show the head past what arrived (the first time,
    // the events may simply still be on their way), as dink-edge does.
    let suspect = false;
    this.helloTimer = setInterval(() => {
      this.request("hello", {})
        .then(async (h) => {
          const behind = h.head_seq > this.lastSeq;
          if (behind && suspect) {
            this.stats.tailCatchups++;
            await this.catchUp();
            this.lastSeq = Math.max(this.lastSeq, h.head_seq);
            suspect = false;
          } else suspect = behind;
        })
        .catch(() => {});
    }, 2_000);
    return this;
  }

  auth() {
    const h = headers();
    h.set("Authorization", `Bearer ${this.key}`);
    return h;
  }

  /** A control-plane request (dinkd's envelope, no version). */
  async control(subject, body) {
    const reply = await this.nc.request(subject, codec.encode(body), { timeout: 10_000, headers: this.auth() });
    const envelope = codec.decode(reply.data);
    if (!envelope.success) throw new Error(`${subject}: ${envelope.error?.message}`);
    return envelope.data;
  }

  async request(verb, body, timeout = 40_000) {
    const reply = await this.nc.request(`${this.prefix}.${verb}`, codec.encode({ version: 1, ...body }), {
      timeout,
      headers: this.auth(),
    });
    const envelope = codec.decode(reply.data);
    if (!envelope.success) throw Object.assign(new Error(`${verb}: ${envelope.error.message}`), envelope.error);
    return envelope.data;
  }

  /** Reads the catch-up feed from the stored cursor to its end (bounded: 10,000 pages). */
  async catchUp() {
    this.catchingUp ??= (async () => {
      this.stats.catchups++;
      for (let page = 0; page < 10_000; page++) {
        const data = await this.request("changes", {
          collection: this.collection,
          ...(this.cursor === undefined ? {} : { since: this.cursor }),
          limit: 200,
        });
        for (const c of data.changes) {
          if (c.delta === undefined) continue;
          this.receive(c.doc_id, fromBase64(c.delta));
          this.onReceived?.(c.doc_id);
        }
        this.cursor = data.cursor;
        if (!data.more) break;
      }
    })().finally(() => (this.catchingUp = null));
    return this.catchingUp;
  }

  async onEvents(batch) {
    const events = batch.events ?? [];
    if (events.length === 0) return;
    const gap = events[0].seq > this.lastSeq + 1; // a seq at or below lastSeq is a repeat
    for (const e of events) {
      this.stats.events++;
      if (e.collection === this.collection && e.delta !== undefined) {
        this.receive(e.doc_id, fromBase64(e.delta));
        this.onReceived?.(e.doc_id);
      }
      this.lastSeq = Math.max(this.lastSeq, e.seq);
    }
    if (gap) {
      this.stats.gaps++;
      await this.catchUp();
    }
  }

  /** Pushes every queued delta; keeps them queued if the gateway cannot answer. */
  async flush() {
    for (let round = 0; round < 10 && this.outgoing.length > 0; round++) {
      const batch = this.take();
      let data;
      try {
        data = await this.request("push", { deltas: batch.map((d) => withoutEdgeId(wireDelta(d))) });
      } catch (e) {
        this.outgoing.unshift(...batch);
        throw e;
      }
      data.results.forEach((r, i) => {
        const sent = batch[i];
        if (r.status !== "rejected") this.stats[r.status]++;
        else if (r.error?.code === "MISSING_DEPENDENCIES") {
          this.outgoing.push(this.delta(sent.docId, this.diffFor(sent.docId, fromBase64(r.error.state_vector))));
          this.stats.resent++;
        } else {
          this.stats.rejected++;
          this.rejections.push({ doc_id: sent.docId, op_id: sent.opId, error: r.error });
        }
      });
    }
  }

  async close() {
    clearInterval(this.heartbeat);
    clearInterval(this.helloTimer);
    await this.control("$EDGE.PRESENCE.DEREGISTER", {}).catch(() => {});
    await this.nc?.drain().catch(() => {});
  }
}

/** The edge id travels in the subject, never in the body. */
function withoutEdgeId(d) {
  const { edge_id: _edge, ...rest } = d;
  return rest;
}
