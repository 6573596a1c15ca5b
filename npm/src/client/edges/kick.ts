/** `kickEdge`: the gateway tells the edge to disconnect (its `OnKick` callback runs) and forgets its presence. */
import { DinkGatewayError, gatewayRequest } from "./gateway.js";
import { recordAudit } from "./audit.js";
import { CONTROL_TIMEOUT_MS, ROUTES } from "./routes.js";
import type { EdgeActionCtx } from "./rpc.js";
import type { KickEdgeResult } from "./validators.js";

export type KickEdgeOptions = { edgeId: string; reason?: string };

/**
 * ```ts
 * await kickEdge(ctx, "edge-7");
 * await kickEdge(ctx, { edgeId: "edge-7", reason: "decommissioned" });
 * ```
 * An unknown edge is not an error: `{success: true, edgeId, message}` (it may already be gone).
 */
export async function kickEdge(ctx: EdgeActionCtx, edgeOrOptions: string | KickEdgeOptions): Promise<KickEdgeResult> {
  const { edgeId, reason } =
    typeof edgeOrOptions === "string" ? { edgeId: edgeOrOptions, reason: undefined } : edgeOrOptions;
  try {
    await gatewayRequest<unknown>({
      method: "POST",
      path: ROUTES.kick(edgeId),
      body: reason === undefined ? {} : { reason },
      timeoutMs: CONTROL_TIMEOUT_MS,
    });
  } catch (error) {
    if (error instanceof DinkGatewayError && (error.status === 404 || error.code === "EDGE_NOT_FOUND")) {
      return { success: true, edgeId, message: `edge ${edgeId} was not found (it may already be disconnected)` };
    }
    throw error;
  }
  await recordAudit(ctx, "kick", edgeId, reason);
  return { success: true, edgeId };
}
