/**
 * The seed's `convex/sync.ts` with the README's "Replicate Integration" registration added, as
 * the replicate-enabled test app's `sync` module (the example's own convex/ stays verbatim).
 */
import { createSyncMutations, registerReplicateComponent } from "dink-convex";
import { components } from "../../convex/_generated/api";
import { mutation, query } from "../../convex/_generated/server";

// Register Replicate component for delta forwarding (the example's convex.config.ts does not
// install Replicate, so its generated `components` has no `replicate` key in its type).
registerReplicateComponent((components as unknown as { replicate: unknown }).replicate);

export const { applyDeltaFromEdge, getDocumentState, listDocuments, listDocumentsPaginated } = createSyncMutations({
  mutation,
  query,
});
