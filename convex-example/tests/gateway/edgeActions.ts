/**
 * Test module (mounted as `convex/edgeActions.ts`): Convex actions that use the edge helpers, as
 * an app would write them.
 */
import { v } from "convex/values";
import {
  callEdge,
  callEdgeResult,
  createEdgeKey,
  describeEdgeServices,
  discoverEdges,
  getLLMContext,
  kickEdge,
  listEdgeKeys,
  revokeEdgeKey,
  scatterCall,
  scatterCallResult,
} from "dink-convex";
import { dinkTokenValidator, extractAndVerifyDink } from "dink-convex/auth";
import { action } from "../../convex/_generated/server";

export const call = action({
  args: { edgeId: v.string(), method: v.string(), payload: v.any(), timeoutMs: v.optional(v.number()) },
  returns: callEdgeResult,
  handler: (ctx, a) =>
    callEdge(ctx, {
      edgeId: a.edgeId,
      service: "Echo",
      method: a.method,
      payload: a.payload,
      ...(a.timeoutMs === undefined ? {} : { timeoutMs: a.timeoutMs }),
    }),
});

export const scatter = action({
  args: {
    method: v.string(),
    edgeIds: v.optional(v.array(v.string())),
    labels: v.optional(v.record(v.string(), v.string())),
  },
  returns: scatterCallResult,
  handler: (ctx, a) =>
    scatterCall(ctx, { service: "Echo", method: a.method, edgeIds: a.edgeIds, labels: a.labels, payload: { n: 1 } }),
});

export const discover = action({
  args: { service: v.optional(v.string()), onlineOnly: v.optional(v.boolean()) },
  handler: async (ctx, a) => {
    const edges = await discoverEdges(ctx, {
      ...(a.service === undefined ? {} : { service: a.service }),
      ...(a.onlineOnly === undefined ? {} : { onlineOnly: a.onlineOnly }),
    });
    return edges.map((e) => ({ id: e.id, status: e.status, services: e.services }));
  },
});

export const kick = action({
  args: { edgeId: v.string(), reason: v.optional(v.string()) },
  handler: (ctx, a) => kickEdge(ctx, a.reason === undefined ? a.edgeId : { edgeId: a.edgeId, reason: a.reason }),
});

export const createKey = action({
  args: { edgeId: v.string() },
  handler: (ctx, a) => createEdgeKey(ctx, { edgeId: a.edgeId }),
});

export const listKeys = action({ args: {}, handler: (ctx) => listEdgeKeys(ctx) });

export const revokeKey = action({
  args: { keyId: v.string(), reason: v.string() },
  handler: (ctx, a) => revokeEdgeKey(ctx, a.keyId, a.reason),
});

export const describe = action({ args: { name: v.string() }, handler: (ctx, a) => describeEdgeServices(ctx, a.name) });

export const llm = action({
  args: { names: v.optional(v.array(v.string())) },
  handler: (ctx, a) => getLLMContext(ctx, a.names),
});

/** A function an edge calls through the bridge: verifies the token, returns who called. */
export const bridged = action({
  args: { _dink: dinkTokenValidator, value: v.number() },
  handler: async (_ctx, raw) => {
    const { identity, args } = await extractAndVerifyDink(raw, process.env.DINK_BRIDGE_SECRET);
    return { identity, args };
  },
});
