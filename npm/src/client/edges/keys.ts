/**
 * Edge API keys through the gateway: create (the secret is shown once), list, and revoke (kick
 * the key's edge first, then revoke, so it cannot linger on an open connection).
 */
import { DinkGatewayError, gatewayRequest } from "./gateway.js";
import { recordAudit } from "./audit.js";
import { kickEdge } from "./kick.js";
import { CONTROL_TIMEOUT_MS, ROUTES } from "./routes.js";
import type { EdgeActionCtx } from "./rpc.js";
import type { CreatedEdgeKey, EdgeKey, RevokeEdgeKeyResult } from "./validators.js";
import { edgeKeyOf, list, obj } from "./wire.js";

export interface CreateEdgeKeyOptions {
  /** The edge the key is for (letters, digits and '-'; no '_', '.', '*', '>'). */
  edgeId: string;
  /** A label for people; default the edge id. */
  name?: string;
  /** Scopes (dink-protocol §2.3); default the `bundle:edge` scope bundle. */
  scopes?: string[];
  scopeBundle?: string;
  groups?: string[];
  labels?: Record<string, string>;
  /** Lifetime such as "24h" or "7d"; default no expiry. */
  expiresIn?: string;
}

/**
 * ```ts
 * const { key, apiKey } = await createEdgeKey(ctx, { edgeId: "edge-7", expiresIn: "30d" });
 * ```
 */
export async function createEdgeKey(_ctx: EdgeActionCtx, options: CreateEdgeKeyOptions): Promise<CreatedEdgeKey> {
  const data = obj(
    await gatewayRequest<unknown>({
      method: "POST",
      path: ROUTES.keys,
      body: {
        type: "edge",
        edge_id: options.edgeId,
        name: options.name ?? options.edgeId,
        ...(options.scopes === undefined ? {} : { scopes: options.scopes }),
        scope_bundle: options.scopeBundle ?? (options.scopes === undefined ? "bundle:edge" : ""),
        ...(options.groups === undefined ? {} : { groups: options.groups }),
        ...(options.labels === undefined ? {} : { labels: options.labels }),
        expires_in: options.expiresIn ?? "",
      },
      timeoutMs: CONTROL_TIMEOUT_MS,
    }),
    "data",
  );
  if (typeof data.api_key !== "string")
    throw new DinkGatewayError("BAD_RESPONSE", "gateway reply: data.api_key is missing");
  return { key: edgeKeyOf(data.key, "data.key"), apiKey: data.api_key };
}

/** The app's edge keys (metadata only; secrets are never returned after creation). */
export async function listEdgeKeys(_ctx: EdgeActionCtx): Promise<EdgeKey[]> {
  const data = await gatewayRequest<unknown>({
    method: "GET",
    path: ROUTES.keys,
    query: { type: "edge" },
    timeoutMs: CONTROL_TIMEOUT_MS,
  });
  return list(data, "data").map((k, i) => edgeKeyOf(k, `data[${i}]`));
}

export type RevokeEdgeKeyOptions = { keyId: string; reason?: string; skipKick?: boolean };

/**
 * Looks the key up, kicks its edge, then revokes the key; `skipKick: true` only revokes.
 *
 * ```ts
 * await revokeEdgeKey(ctx, keyId, "Agent decommissioned");
 * await revokeEdgeKey(ctx, { keyId, reason: "Maintenance", skipKick: true });
 * ```
 */
export async function revokeEdgeKey(
  ctx: EdgeActionCtx,
  keyOrOptions: string | RevokeEdgeKeyOptions,
  reason?: string,
): Promise<RevokeEdgeKeyResult> {
  const options: RevokeEdgeKeyOptions =
    typeof keyOrOptions === "string"
      ? { keyId: keyOrOptions, ...(reason === undefined ? {} : { reason }) }
      : keyOrOptions;
  const key = edgeKeyOf(
    await gatewayRequest<unknown>({ method: "GET", path: ROUTES.key(options.keyId), timeoutMs: CONTROL_TIMEOUT_MS }),
    "data",
  );
  let kicked = false;
  if (options.skipKick !== true && key.edgeId !== undefined) {
    const kick = await kickEdge(ctx, { edgeId: key.edgeId, reason: options.reason ?? "key revoked" });
    kicked = kick.message === undefined;
  }
  await gatewayRequest<unknown>({
    method: "POST",
    path: ROUTES.revokeKey(options.keyId),
    body: options.reason === undefined ? {} : { reason: options.reason },
    timeoutMs: CONTROL_TIMEOUT_MS,
  });
  await recordAudit(ctx, "revoke", options.keyId, options.reason);
  return { success: true, keyId: options.keyId, ...(key.edgeId === undefined ? {} : { edgeId: key.edgeId }), kicked };
}
