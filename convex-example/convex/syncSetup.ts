import { createSyncMutation } from "dink-convex";
import { mutation } from "./_generated/server";
import { internal } from "./_generated/api";
export const syncMutation = createSyncMutation(mutation, ["tasks"], {
getInternal: () => internal,
});
