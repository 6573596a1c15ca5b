// The sandbox's dinkd: a real HTTP server on 127.0.0.1 answering `POST /api/sync/convex-push`
// (docs/protocol.md) and fanning each event out to every simulated edge except the one it came
// from, as dinkd does over NATS. Like NATS with `Nats-Msg-Id`, an event id it has already
// accepted is not broadcast again. It fails a share of requests with 503 so the outbox's retries
// and backoff are exercised.

import http from "node:http";

/**
 * `edges` are the connected edges (demo/edge.mjs): `deliver(event)` hands one convex-push event
 * to an edge. The benchmark passes none.
 * @param {{ syncKey: string, edges: { edgeId: string, deliver(event: object): void }[],
 *           failureRate: number, random: () => number }} options
 */
export async function startSink({ syncKey, edges, failureRate, random }) {
  const stats = { requests: 0, failed: 0, unauthorized: 0, events: 0, delivered: 0, duplicates: 0, fanout: 0 };
  const seen = new Set();
  const server = http.createServer(async (req, res) => {
    stats.requests++;
    const reply = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (req.method !== "POST" || req.url !== "/api/sync/convex-push") {
      return reply(404, { success: false, error: { code: "NOT_FOUND", message: `${req.method} ${req.url}` } });
    }
    if (req.headers.authorization !== `Bearer ${syncKey}`) {
      stats.unauthorized++;
      return reply(401, { success: false, error: { code: "UNAUTHORIZED", message: "bad app sync key" } });
    }
    if (random() < failureRate) {
      stats.failed++;
      return reply(503, { success: false, error: { code: "UNAVAILABLE", message: "sandbox: injected failure" } });
    }
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(400, { success: false, error: { code: "BAD_REQUEST", message: "body is not JSON" } });
    }
    if (!Array.isArray(body?.events)) {
      return reply(400, { success: false, error: { code: "BAD_REQUEST", message: "events must be an array" } });
    }
    for (const event of body.events) {
      stats.events++;
      if (seen.has(event.event_id)) {
        stats.duplicates++;
        continue;
      }
      seen.add(event.event_id);
      stats.delivered++;
      for (const edge of edges) {
        if (edge.edgeId === event.origin_edge_id) continue;
        edge.deliver(event);
        stats.fanout++;
      }
    }
    reply(200, { success: true, data: { accepted: body.events.length } });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats,
    close: () => new Promise((ok) => server.close(ok)),
  };
}
