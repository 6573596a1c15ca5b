// The sandbox's HTTP front door: a real HTTP server on 127.0.0.1 that hands every request to the
// app's HTTP router (convex/http.ts) running in convex-test (convexSandbox.mjs), the way a Convex
// deployment's `.convex.site` URL serves `httpAction`s. Edges post to it as they would to dinkd.

import http from "node:http";

export async function startGateway(t) {
  let requests = 0;
  const server = http.createServer(async (req, res) => {
    requests++;
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const response = await t.fetch(req.url ?? "/", { method: req.method, headers, body });
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
    get requests() {
      return requests;
    },
    close: () => new Promise((ok) => server.close(ok)),
  };
}
