/**
 * Edge RPC from a Convex action: `callEdge` (one edge) and `scatterCall` (many). The gateway
 * makes the NATS request to `edge.<app>.<edge>.services.<Service>.<Method>`; a failure of any kind
 * (timeout, no responder, unknown edge, the handler's own error, the gateway unreachable) comes
 * back as `{success: false, error: {code, message}}` rather than a throw, so one bad edge never
 * fails a caller's action. Only a missing configuration throws.
 */
import { DinkGatewayError, gatewayRequest } from "./gateway.js";
import { DEFAULT_RPC_TIMEOUT_MS, ROUTES } from "./routes.js";
import type { CallEdgeResult, ScatterCallResult } from "./validators.js";
import { callResultOf, list, num, obj } from "./wire.js";

/** Any Convex action ctx (the helpers only use `fetch` and the environment). */
export type EdgeActionCtx = object;

export interface CallEdgeOptions {
  edgeId: string;
  /** Service name as the edge registered it, e.g. "SensorService". */
  service: string;
  method: string;
  /** The request message (any JSON value). */
  payload?: unknown;
  /** Default 30,000. */
  timeoutMs?: number;
}

export interface ScatterCallOptions {
  service: string;
  method: string;
  /** Target the online edges with all these labels... */
  labels?: Record<string, string> | undefined;
  /** ...or exactly these edges. Without either, every online edge offering the service. */
  edgeIds?: string[] | undefined;
  payload?: unknown;
  timeoutMs?: number;
}

/** Extra time the HTTP request gets over the RPC timeout the gateway enforces. */
const HTTP_SLACK_MS = 5_000;

/** A gateway failure as the caller sees it: a coded result, except a missing configuration. */
function failed(edgeId: string, error: unknown): CallEdgeResult {
  if (error instanceof DinkGatewayError && error.code === "NOT_CONFIGURED") throw error;
  if (error instanceof DinkGatewayError)
    return { edgeId, success: false, error: { code: error.code, message: error.message } };
  throw error;
}

/**
 * Calls `service.method` on one edge.
 *
 * ```ts
 * export const readSensor = action({
 *   args: { edgeId: v.string() },
 *   returns: callEdgeResult,
 *   handler: (ctx, { edgeId }) =>
 *     callEdge(ctx, { edgeId, service: "SensorService", method: "ReadSensor", payload: { sensorId: "t1" } }),
 * });
 * ```
 */
export async function callEdge(_ctx: EdgeActionCtx, options: CallEdgeOptions): Promise<CallEdgeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  try {
    const data = await gatewayRequest<unknown>({
      method: "POST",
      path: ROUTES.call,
      body: {
        edge_id: options.edgeId,
        service_name: options.service,
        method_name: options.method,
        payload: options.payload ?? {},
        timeout_ms: timeoutMs,
      },
      timeoutMs: timeoutMs + HTTP_SLACK_MS,
    });
    const result = callResultOf(data, "data", true);
    return { ...result, edgeId: options.edgeId };
  } catch (error) {
    return failed(options.edgeId, error);
  }
}

/**
 * Calls `service.method` on every targeted edge at once; partial failure is normal and counted.
 *
 * ```ts
 * const { results, successfulCount } = await scatterCall(ctx, {
 *   service: "SensorService", method: "ReadSensor", labels: { site: "plant-1" }, payload: { sensorId: "t1" },
 * });
 * ```
 */
export async function scatterCall(_ctx: EdgeActionCtx, options: ScatterCallOptions): Promise<ScatterCallResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  let data: unknown;
  try {
    data = await gatewayRequest<unknown>({
      method: "POST",
      path: ROUTES.scatter,
      body: {
        service_name: options.service,
        method_name: options.method,
        ...(options.labels === undefined ? {} : { labels: options.labels }),
        ...(options.edgeIds === undefined ? {} : { edge_ids: options.edgeIds }),
        payload: options.payload ?? {},
        timeout_ms: timeoutMs,
      },
      timeoutMs: timeoutMs + HTTP_SLACK_MS,
    });
  } catch (error) {
    // No per-edge answers at all: each explicitly named edge failed the same way.
    const results = (options.edgeIds ?? []).map((edgeId) => failed(edgeId, error));
    if (results.length === 0 && !(error instanceof DinkGatewayError && error.code !== "NOT_CONFIGURED")) throw error;
    return { results, totalEdges: results.length, successfulCount: 0, failedCount: results.length };
  }
  const o = obj(data, "data");
  const results = list(o.results, "data.results").map((r, i) => callResultOf(r, `data.results[${i}]`, false));
  const successfulCount = results.filter((r) => r.success).length;
  return {
    results,
    totalEdges: o.total_edges === undefined ? results.length : num(o.total_edges, "data.total_edges"),
    successfulCount,
    failedCount: results.length - successfulCount,
  };
}
