// @vitest-environment node
/**
 * How the helpers treat a gateway that fails: unreachable, slow, answering non-JSON or a bare
 * HTTP error, or a refusal envelope. The server here is a stand-in that misbehaves on purpose;
 * the helpers against the real dink-gateway are tested in tests/gateway/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { callEdge, scatterCall } from "./rpc.js";
import { kickEdge } from "./kick.js";
import { discoverEdges } from "./discovery.js";
import { DinkGatewayError } from "./gateway.js";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handler: Handler = (_req, _body, res) => res.end();
let server: Server;
let base = "";
const seen: Array<{ method: string; url: string; auth: string | undefined; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  vi.unstubAllEnvs();
  seen.length = 0;
});

const configure = () => {
  vi.stubEnv("DINK_HTTP_URL", base);
  vi.stubEnv("DINK_APP_SYNC_KEY", "sync-key-1");
};
const json =
  (status: number, body: unknown): Handler =>
  (_req, _body, res) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };
const ctx = {};

describe("configuration", () => {
  it("throws the seed's message when a variable is missing", async () => {
    vi.stubEnv("DINK_HTTP_URL", "");
    vi.stubEnv("DINK_URL", "");
    vi.stubEnv("DINK_APP_SYNC_KEY", "k");
    await expect(callEdge(ctx, { edgeId: "e", service: "S", method: "M" })).rejects.toThrow(
      "DINK_HTTP_URL environment variable is not configured",
    );
    vi.stubEnv("DINK_HTTP_URL", base);
    vi.stubEnv("DINK_APP_SYNC_KEY", "");
    await expect(kickEdge(ctx, "e")).rejects.toThrow("DINK_APP_SYNC_KEY environment variable is not configured");
  });

  it("DINK_URL works as the base URL too", async () => {
    vi.stubEnv("DINK_HTTP_URL", "");
    vi.stubEnv("DINK_URL", base);
    vi.stubEnv("DINK_APP_SYNC_KEY", "sync-key-1");
    handler = json(200, { success: true, data: [] });
    expect(await discoverEdges(ctx)).toEqual([]);
    expect(seen[0]).toMatchObject({ method: "GET", url: "/api/edges", auth: "Bearer sync-key-1" });
  });
});

describe("callEdge", () => {
  it("sends the documented body and unwraps the edge's reply", async () => {
    configure();
    handler = json(200, {
      success: true,
      data: { edge_id: "e1", success: true, result: { success: true, result: { value: 21.5 } }, error: null },
    });
    const result = await callEdge(ctx, {
      edgeId: "e1",
      service: "SensorService",
      method: "ReadSensor",
      payload: { sensorId: "t" },
    });
    expect(result).toEqual({ edgeId: "e1", success: true, result: { value: 21.5 } });
    expect(JSON.parse(seen[0]!.body)).toEqual({
      edge_id: "e1",
      service_name: "SensorService",
      method_name: "ReadSensor",
      payload: { sensorId: "t" },
      timeout_ms: 30000,
    });
  });

  it("an edge's own error and a gateway refusal both come back as coded results", async () => {
    configure();
    handler = json(200, {
      success: true,
      data: { edge_id: "e1", success: false, error: { code: "SENSOR_OFFLINE", message: "probe unplugged" } },
    });
    expect(await callEdge(ctx, { edgeId: "e1", service: "S", method: "M" })).toEqual({
      edgeId: "e1",
      success: false,
      error: { code: "SENSOR_OFFLINE", message: "probe unplugged" },
    });
    handler = json(404, { success: false, error: { code: "EDGE_NOT_FOUND", message: "no edge e9" } });
    expect(await callEdge(ctx, { edgeId: "e9", service: "S", method: "M" })).toEqual({
      edgeId: "e9",
      success: false,
      error: { code: "EDGE_NOT_FOUND", message: "no edge e9" },
    });
  });

  it("non-JSON replies, bare HTTP errors, an unreachable gateway and a slow one are coded, not crashes", async () => {
    configure();
    handler = (_req, _body, res) => {
      res.writeHead(502, { "Content-Type": "text/html" });
      res.end("<html>bad gateway</html>");
    };
    const html = await callEdge(ctx, { edgeId: "e1", service: "S", method: "M" });
    expect(html.error?.code).toBe("BAD_RESPONSE");
    expect(html.error?.message).toContain("502");

    handler = json(500, { oops: true });
    expect((await callEdge(ctx, { edgeId: "e1", service: "S", method: "M" })).error?.code).toBe("BAD_RESPONSE");

    handler = () => undefined; // never answers
    const slow = await callEdge(ctx, { edgeId: "e1", service: "S", method: "M", timeoutMs: 1 });
    expect(slow.error?.code).toBe("TIMEOUT");

    vi.stubEnv("DINK_HTTP_URL", "http://127.0.0.1:1");
    const down = await callEdge(ctx, { edgeId: "e1", service: "S", method: "M" });
    expect(down.error?.code).toBe("NETWORK_ERROR");
  }, 15_000);
});

describe("scatterCall", () => {
  it("counts per-edge outcomes, partial failure included", async () => {
    configure();
    handler = json(200, {
      success: true,
      data: {
        results: [
          { edge_id: "a", success: true, result: 1 },
          { edge_id: "b", success: false, error: { code: "TIMEOUT", message: "edge did not respond in time" } },
        ],
        total_edges: 2,
        successful_count: 1,
        failed_count: 1,
      },
    });
    expect(await scatterCall(ctx, { service: "S", method: "M", labels: { site: "x" }, payload: {} })).toEqual({
      results: [
        { edgeId: "a", success: true, result: 1 },
        { edgeId: "b", success: false, error: { code: "TIMEOUT", message: "edge did not respond in time" } },
      ],
      totalEdges: 2,
      successfulCount: 1,
      failedCount: 1,
    });
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ labels: { site: "x" } });
  });
});

describe("kickEdge", () => {
  it("an unknown edge is success with a message; other refusals throw DinkGatewayError", async () => {
    configure();
    handler = json(404, { success: false, error: { code: "EDGE_NOT_FOUND", message: "no edge" } });
    expect(await kickEdge(ctx, { edgeId: "gone", reason: "cleanup" })).toEqual({
      success: true,
      edgeId: "gone",
      message: "edge gone was not found (it may already be disconnected)",
    });
    expect(seen[0]).toMatchObject({ method: "POST", url: "/api/edges/gone/kick" });
    expect(JSON.parse(seen[0]!.body)).toEqual({ reason: "cleanup" });
    handler = json(401, { success: false, error: { code: "UNAUTHORIZED", message: "bad key" } });
    await expect(kickEdge(ctx, "e1")).rejects.toBeInstanceOf(DinkGatewayError);
  });
});
