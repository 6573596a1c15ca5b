/**
 * A bridged Convex function for the loop test: an edge's `call_center("Notes", "Echo", …)`
 * reaches it through the gateway's relay, with the edge's bridge token as `_dink`, verified
 * with `DINK_BRIDGE_SECRET` exactly as the functions `dink codegen --convex-bridge` writes.
 */
import { actionGeneric } from "convex/server";
import { v } from "convex/values";
import { dinkTokenValidator, extractAndVerifyDink } from "dink-convex/auth";

export const echo = actionGeneric({
  args: { _dink: dinkTokenValidator, text: v.string() },
  handler: async (_ctx, raw) => {
    const { identity, args } = await extractAndVerifyDink(raw, process.env.DINK_BRIDGE_SECRET);
    return { edgeId: identity.edgeId, appId: identity.appId, text: args.text };
  },
});
