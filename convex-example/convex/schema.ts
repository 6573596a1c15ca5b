import { defineSchema } from "convex/server";
import { v } from "convex/values";
import { syncedTable } from "dink-convex";
import { internalSyncSchema } from "dink-convex";
export default defineSchema({
tasks: syncedTable({
title: v.string(),
completed: v.boolean(),
}),
...internalSyncSchema,
});
