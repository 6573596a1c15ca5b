/** The edge helpers for Convex actions: RPC, discovery, kick, keys, introspection. */
export { callEdge, scatterCall, type CallEdgeOptions, type EdgeActionCtx, type ScatterCallOptions } from "./rpc.js";
export { discoverEdges, type DiscoverEdgesOptions } from "./discovery.js";
export { kickEdge, type KickEdgeOptions } from "./kick.js";
export {
  createEdgeKey,
  listEdgeKeys,
  revokeEdgeKey,
  type CreateEdgeKeyOptions,
  type RevokeEdgeKeyOptions,
} from "./keys.js";
export { describeEdgeServices, getLLMContext } from "./introspection.js";
export { renderLLMText } from "./llmText.js";
export { DinkGatewayError, type GatewayFailureCode } from "./gateway.js";
export * from "./validators.js";
