import { createOutboxProcessor } from "dink-convex";
import { internalAction, internalMutation, internalQuery } from "./_generated/server";
import { internal } from "./_generated/api";
export const { processOutboxBatch, queryPendingItems, updateItemStatus, scheduleOutboxProcessing } =
createOutboxProcessor({ internalAction, internalMutation, internalQuery, internal });
