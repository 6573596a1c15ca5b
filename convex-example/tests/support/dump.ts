/** Full dumps of the app's tables, to prove a rejected call wrote nothing at all. */
import type { GenericMutationCtx, GenericDataModel } from "convex/server";

export const APP_TABLES = [
  "tasks",
  "sync_documents",
  "sync_deltas",
  "sync_feed_shards",
  "sync_outbox",
  "sync_sessions",
  "sync_config",
] as const;

interface Runner {
  run<R>(fn: (ctx: GenericMutationCtx<GenericDataModel>) => Promise<R>): Promise<R>;
}

export async function dumpAll(t: Runner): Promise<Record<string, unknown[]>> {
  return await t.run(async (ctx) => {
    const out: Record<string, unknown[]> = {};
    for (const table of APP_TABLES) out[table] = await ctx.db.query(table).collect();
    return out;
  });
}
