// The sandbox deployment's site URL (what `<deployment>.convex.site` is on Convex): a real HTTP
// server on 127.0.0.1 that hands every request to the app's HTTP router (convex/http.ts) running
// in convex-test (convexSandbox.mjs, or a vitest convexTest instance). The real dink-gateway
// calls it as it would call a deployment; so do the benchmark's simulated edges.
//
// Faults, for the failure tests and the demo: `site.faults.status = 503` answers every request
// with that status without reaching the app; `site.faults.hang = true` holds requests unanswered
// (the caller's timeout decides); `site.faults.failNext = n` fails the next n requests with 503.
// A request that reached the app is never failed afterwards: a fault means "Convex did nothing".
//
// Besides the app's HTTP routes it answers Convex's public HTTP function API, `POST /api/action`,
// `/api/mutation` and `/api/query` with `{path: "module:function", args, format: "json"}`, which
// the gateway's bridge relay calls: a double of that API (the request and reply shapes Convex
// documents: `{status: "success", value}` / `{status: "error", errorMessage}`) in front of
// convex-test's `t.action` / `t.mutation` / `t.query`.

import http from "node:http";
import { makeFunctionReference } from "convex/server";

const FUNCTION_API = /^\/api\/(action|mutation|query)$/;

/** Runs one call of Convex's HTTP function API against convex-test; [status, body]. */
async function callFunction(t, kind, body) {
  let request;
  try {
    request = JSON.parse(body?.toString("utf8") ?? "");
  } catch {
    return [400, { status: "error", errorMessage: "the body is not JSON" }];
  }
  if (typeof request?.path !== "string") return [400, { status: "error", errorMessage: "path is required" }];
  try {
    const value = await t[kind](makeFunctionReference(request.path), request.args ?? {});
    return [200, { status: "success", value: value ?? null }];
  } catch (e) {
    return [400, { status: "error", errorMessage: String(e?.message ?? e) }];
  }
}

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
      const fn = req.method === "POST" ? FUNCTION_API.exec(path) : null;
      if (fn !== null) {
        const [status, reply] = await callFunction(t, fn[1], body);
        stats.served++;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(reply));
        return;
      }
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
