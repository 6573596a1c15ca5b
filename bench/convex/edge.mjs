// The benchmark's edge: the shared simulated edge (@dink-convex/testkit: real Yjs documents in the
// row layout of docs/protocol.md, each local edit a Yjs update v2 delta with an op id) making
// seeded task rows and edits, and the `POST /api/dink/applyDelta` body that carries its deltas
// (docs/protocol.md). Bodies are built before a timed window opens: encoding them is the edge's
// cost, not Convex's.

import { applyDeltaBody, SimulatedEdge } from "@dink-convex/testkit";

export class BenchEdge extends SimulatedEdge {
  /** @param {{ id: string, random: () => number, collection?: string }} options */
  constructor({ id, random, collection = "tasks" }) {
    super(id, clientIdOf(id), collection);
    this.random = random;
  }

  /** A new row; returns its doc id. */
  create() {
    const id = `${this.edgeId}-row-${this.docs.size + 1}-${Math.floor(this.random() * 1e9)}`;
    this.set(id, { id, title: this.title(), completed: false });
    return id;
  }

  /** One field edit: a new title or a flipped `completed`. */
  editRow(docId, field = this.random() < 0.5 ? "title" : "completed") {
    const current = this.doc(docId).getMap("fields").get("completed") === true;
    this.set(docId, { [field]: field === "title" ? this.title() : !current });
  }

  title() {
    return `task ${Math.floor(this.random() * 1e6).toString(36)} ${"x".repeat(8 + Math.floor(this.random() * 16))}`;
  }

  /** The JSON body of one applyDelta request. */
  body(deltas) {
    return JSON.stringify(applyDeltaBody(deltas));
  }
}

/** A Yjs client id derived from the edge id (FNV-1a), so the seeded workload draws nothing for it. */
function clientIdOf(id) {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return 1 + (h % 2 ** 30);
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
