/**
 * Test module: the outbox factory with short timings, mounted at `outboxFast` in the test app
 * (see outbox.test.ts), so retries, timeouts and lease expiry happen in real time within a test.
 * Its `internal` points at itself, as the seed's `internal.outboxProcessor` does in the app.
 */
import {
  anyApi,
  type AnyApi,
  internalActionGeneric,
  internalMutationGeneric,
  internalQueryGeneric,
} from "convex/server";
import { createOutboxProcessor } from "dink-convex";

export const FAST = {
  policy: { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 80, leaseMs: 1_000 },
  requestTimeoutMs: 300,
  batchSize: 50,
  retentionMs: 60_000,
};

export const { processOutboxBatch, queryPendingItems, updateItemStatus, scheduleOutboxProcessing } =
  createOutboxProcessor(
    {
      internalAction: internalActionGeneric,
      internalMutation: internalMutationGeneric,
      internalQuery: internalQueryGeneric,
      internal: { outboxProcessor: anyApi.outboxFast } as AnyApi,
    },
    FAST,
  );
