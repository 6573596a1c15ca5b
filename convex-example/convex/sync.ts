import { createSyncMutations } from "dink-convex";
import { mutation, query } from "./_generated/server";
export const { applyDeltaFromEdge, getDocumentState, listDocuments, listDocumentsPaginated } =
createSyncMutations({ mutation, query });
