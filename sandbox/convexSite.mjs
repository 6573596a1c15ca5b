// The sandbox deployment's site URL (what `<deployment>.convex.site` is on Convex): a real HTTP
// server on 127.0.0.1 that hands every request to the app's HTTP router (convex/http.ts) running
// in convex-test (convexSandbox.mjs, or a vitest convexTest instance). The real dink-gateway
// calls it as it would call a deployment; so do the benchmark's simulated edges.
//
// Faults, for the failure tests and the demo: `site.faults.status = 503` answers every request
// with that status without reaching the app; `site.faults.hang = true` holds requests unanswered
// (the caller's timeout decides); `site.faults.failNext = n` fails the next n requests with 503.
// A request that reached the app is never failed afterwards: a fault means "Convex did nothing".

import http from "node:http";

/**
 * @param {{ fetch(url: string, init: object): Promise<Response> }} t a convex-test instance
 */
export async function startConvexSite(t) {
  const stats = { requests: 0, served: 0, faulted: 0, byPath: {}, msByPath: {} };
  const faults = { status: 0, hang: false, failNext: 0 };
  const hanging = new Set();
  const server = http.createServer(async (req, res) => {
    stats.requests++;
    const path = (req.url ?? "/").split("?")[0];
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      if (faults.hang) {
        stats.faulted++;
        hanging.add(res);
        res.once("close", () => hanging.delete(res));
        return;
      }
      if (faults.status !== 0 || faults.failNext > 0) {
        if (faults.failNext > 0) faults.failNext--;
        stats.faulted++;
        res.writeHead(faults.status || 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ success: false, error: { code: "SANDBOX_FAULT", message: "injected fault" } }));
        return;
      }
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const started = performance.now();
      const response = await t.fetch(req.url ?? "/", { method: req.method, headers, body });
      stats.msByPath[path] = (stats.msByPath[path] ?? 0) + (performance.now() - started);
      stats.served++;
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (e) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ success: false, error: { code: "SANDBOX_ERROR", message: String(e?.message ?? e) } }));
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats,
    faults,
    /** Ends the fault and drops the requests it held (their callers see a closed connection). */
    clearFaults() {
      faults.status = 0;
      faults.hang = false;
      faults.failNext = 0;
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
    get requests() {
      return stats.requests;
    },
    close: () =>
      new Promise((ok) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}
