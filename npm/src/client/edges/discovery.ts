/** `discoverEdges`: the app's edges from the gateway's presence store, filtered. */
import { gatewayRequest } from "./gateway.js";
import { CONTROL_TIMEOUT_MS, ROUTES } from "./routes.js";
import type { EdgeActionCtx } from "./rpc.js";
import type { EdgeInfo } from "./validators.js";
import { edgeInfoOf, list } from "./wire.js";

export interface DiscoverEdgesOptions {
  /** Only edges that registered this service. */
  service?: string;
  /** Only edges with all these labels. */
  labels?: Record<string, string>;
  /** Only edges online now (heartbeating). Default false: offline edges are listed too. */
  onlineOnly?: boolean;
}

/**
 * ```ts
 * const sensors = await discoverEdges(ctx, { service: "SensorService", onlineOnly: true });
 * ```
 */
export async function discoverEdges(_ctx: EdgeActionCtx, options: DiscoverEdgesOptions = {}): Promise<EdgeInfo[]> {
  const labels = Object.entries(options.labels ?? {})
    .map(([k, v]) => `${k}:${v}`)
    .join(",");
  const data = await gatewayRequest<unknown>({
    method: "GET",
    path: ROUTES.edges,
    query: {
      service: options.service,
      labels: labels === "" ? undefined : labels,
      online_only: options.onlineOnly === true ? "true" : undefined,
    },
    timeoutMs: CONTROL_TIMEOUT_MS,
  });
  return list(data, "data").map((e, i) => edgeInfoOf(e, `data[${i}]`));
}
