/**
 * The gateway's HTTP routes the helpers call (docs/gateway.md has the bodies). `/api/edge/call`,
 * `/api/edge/scatter` and `GET /api/edges` are dinkd's documented routes; dinkd documents keys,
 * kick and service description only over NATS, so their HTTP routes are the ones dink-gateway
 * defines, kept here once for every helper.
 */
const segment = (value: string): string => encodeURIComponent(value);

export const ROUTES = {
  call: "/api/edge/call",
  scatter: "/api/edge/scatter",
  edges: "/api/edges",
  kick: (edgeId: string) => `/api/edges/${segment(edgeId)}/kick`,
  keys: "/api/keys",
  key: (keyId: string) => `/api/keys/${segment(keyId)}`,
  revokeKey: (keyId: string) => `/api/keys/${segment(keyId)}/revoke`,
  services: "/api/services",
  service: (name: string) => `/api/services/${segment(name)}`,
} as const;

/** Default time an RPC may take (the dink CLI's default). */
export const DEFAULT_RPC_TIMEOUT_MS = 30_000;
/** Time a control-plane request (keys, kick, describe) may take. */
export const CONTROL_TIMEOUT_MS = 10_000;
