/**
 * `createSyncCrons`: the outbox's safety net. Drains are normally started by writes
 * (`scheduleOutboxProcessing`) and keep themselves going; the cron restarts delivery after a
 * crash, a deploy or a missing environment variable, and purges delivered items.
 */
import { cronJobs, type Crons, type FunctionReference } from "convex/server";
import { OUTBOX_MODULE, OUTBOX_MODULE_HINT } from "./schedule.js";
import type { OutboxInternalApi, ProcessOutboxBatchArgs, ProcessOutboxBatchResult } from "./types.js";

export interface SyncCronsOptions {
  /** Seconds between safety-net drain starts (default 30). */
  drainIntervalSeconds?: number;
  /** Hours between retention purges of sent items (default 1). */
  purgeIntervalHours?: number;
}

type ProcessRef = FunctionReference<"action", "internal", ProcessOutboxBatchArgs, ProcessOutboxBatchResult>;

/**
 * The crons of the outbox. `internal` is the app's generated `internal` (see
 * {@link OutboxInternalApi}: a missing `convex/outboxProcessor.ts` is a type error here).
 *
 * ```ts
 * // convex/crons.ts
 * const crons = createSyncCrons({ internal });
 * export default crons;
 * ```
 *
 * Keep the two lines: with `export default createSyncCrons({ internal })` TypeScript has to
 * check the call to type the default export, and `internal`'s type (from the app's generated
 * `api.d.ts`, which imports this module) needs that default export's type first: a circular type
 * that makes the whole `api` `any` (TS7022). A `const` is typed from the factory's declared
 * return type alone. The same holds for `createSyncHttpRouter` in convex/http.ts.
 */
export function createSyncCrons({ internal }: { internal: OutboxInternalApi }, options: SyncCronsOptions = {}): Crons {
  const processOutboxBatch = (internal as { outboxProcessor?: { processOutboxBatch?: ProcessRef } }).outboxProcessor
    ?.processOutboxBatch;
  if (processOutboxBatch === undefined) {
    throw new Error(`dink-convex: \`internal.${OUTBOX_MODULE}.processOutboxBatch\` is missing; ${OUTBOX_MODULE_HINT}`);
  }
  const crons = cronJobs();
  // Overlapping runs are harmless: the drain lease lets only one drain work at a time.
  crons.interval("dink outbox drain", { seconds: options.drainIntervalSeconds ?? 30 }, processOutboxBatch, {});
  crons.interval("dink outbox retention purge", { hours: options.purgeIntervalHours ?? 1 }, processOutboxBatch, {
    purge: true,
  });
  return crons;
}
