/**
 * `createSyncCrons`: the outbox's safety net. Drains are normally started by writes
 * (`scheduleOutboxProcessing`) and keep themselves going; the cron restarts delivery after a
 * crash, a deploy or a missing environment variable, and purges delivered items.
 */
import { cronJobs, type Crons, type FunctionReference } from "convex/server";
import type { ProcessOutboxBatchArgs, ProcessOutboxBatchResult } from "./outboxTypes.js";

export interface SyncCronsOptions {
  /** Seconds between safety-net drain starts (default 30). */
  drainIntervalSeconds?: number;
  /** Hours between retention purges of sent items (default 1). */
  purgeIntervalHours?: number;
}

type ProcessRef = FunctionReference<
  "action",
  "internal",
  ProcessOutboxBatchArgs,
  ProcessOutboxBatchResult
>;

/**
 * `internal` is the app's generated `internal`, typed loosely on purpose: the app's `api.ts`
 * imports the types of `crons.ts`, so depending on the type of `internal` would be circular.
 */
export function createSyncCrons(
  { internal }: { internal: object },
  options: SyncCronsOptions = {},
): Crons {
  const processOutboxBatch = (internal as { outboxProcessor?: { processOutboxBatch?: ProcessRef } })
    .outboxProcessor?.processOutboxBatch;
  if (processOutboxBatch === undefined) {
    throw new Error(
      "createSyncCrons: `internal.outboxProcessor.processOutboxBatch` is missing; export the outbox functions from convex/outboxProcessor.ts",
    );
  }
  const crons = cronJobs();
  // Overlapping runs are harmless: the drain lease lets only one drain work at a time.
  crons.interval(
    "dink outbox drain",
    { seconds: options.drainIntervalSeconds ?? 30 },
    processOutboxBatch,
    {},
  );
  crons.interval(
    "dink outbox retention purge",
    { hours: options.purgeIntervalHours ?? 1 },
    processOutboxBatch,
    { purge: true },
  );
  return crons;
}
