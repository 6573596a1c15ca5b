/**
 * Outbox options, their defaults, and how a push attempt's HTTP outcome maps onto the engine's
 * state machine events (delivered / failed transient / failed permanent).
 */

/** The engine's retry policy (crates/dink-core/src/outbox/policy.rs); every field optional. */
export interface OutboxRetryPolicy {
  /** Delivery attempts per item before it is dead-lettered (default 8). */
  maxAttempts?: number;
  /** Backoff ceiling after the first failure in ms, doubling per attempt (default 1000). */
  baseDelayMs?: number;
  /** Cap on the backoff ceiling in ms (default 300000). */
  maxDelayMs?: number;
  /** How long a claim lasts before another drain may take the item over (default 30000). */
  leaseMs?: number;
}

export interface OutboxOptions {
  policy?: OutboxRetryPolicy;
  /** Items claimed and pushed per batch (one POST). Default 100. */
  batchSize?: number;
  /** Abort the push after this many ms and count it as a transient failure. Default 10000. */
  requestTimeoutMs?: number;
  /** Sent items older than this are deleted by the retention purge. Default 24 h. */
  retentionMs?: number;
  /** Sent items deleted per purge mutation (the purge reschedules itself). Default 500. */
  purgeBatchSize?: number;
  /**
   * Changes older than this leave the catch-up feed's delta log (`sync_deltas`) in the same
   * purge; a feed cursor older than that is answered with a snapshot. Default 7 days.
   */
  deltaRetentionMs?: number;
  /** Name the component was installed under (`app.use(dink, { name })`). Default "dink". */
  componentName?: string;
}

export interface ResolvedOutboxOptions {
  policy: Required<OutboxRetryPolicy>;
  batchSize: number;
  requestTimeoutMs: number;
  retentionMs: number;
  purgeBatchSize: number;
  deltaRetentionMs: number;
  componentName: string;
  /** How long one drain run may hold the drain lease: a claim, one push, a record. */
  drainLeaseMs: number;
}

export const DEFAULT_RETRY_POLICY: Required<OutboxRetryPolicy> = {
  maxAttempts: 8,
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  leaseMs: 30_000,
};

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`createOutboxProcessor: ${name} must be a positive number, got ${value}`);
  }
  return value;
}

export function resolveOutboxOptions(options: OutboxOptions = {}): ResolvedOutboxOptions {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  positive("policy.maxAttempts", policy.maxAttempts, 8);
  positive("policy.leaseMs", policy.leaseMs, 30_000);
  const requestTimeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs, 10_000);
  // The push must end (or be aborted) before the items' lease runs out, or another drain could
  // take them over while this one is still sending: that would be two deliveries at once.
  if (requestTimeoutMs >= policy.leaseMs) {
    throw new Error(
      `createOutboxProcessor: requestTimeoutMs (${requestTimeoutMs}) must be below policy.leaseMs (${policy.leaseMs})`,
    );
  }
  return {
    policy,
    batchSize: Math.floor(positive("batchSize", options.batchSize, 100)),
    requestTimeoutMs,
    retentionMs: positive("retentionMs", options.retentionMs, 24 * 60 * 60 * 1000),
    purgeBatchSize: Math.floor(positive("purgeBatchSize", options.purgeBatchSize, 500)),
    deltaRetentionMs: positive("deltaRetentionMs", options.deltaRetentionMs, 7 * 24 * 60 * 60 * 1000),
    componentName: options.componentName ?? "dink",
    drainLeaseMs: policy.leaseMs,
  };
}

/** The outcome of one push, as the state machine needs it. */
export type PushOutcome = { kind: "delivered" } | { kind: "failed"; permanent: boolean; error: string };

/**
 * Maps an HTTP status to an outcome. 5xx, 408 (timeout) and 429 (rate limit) are transient and
 * retried with backoff; any other 4xx means dinkd refused the payload (bad auth, malformed
 * body), which a retry cannot fix, so the items are dead-lettered with the reason.
 */
export function outcomeOfStatus(status: number, detail: string): PushOutcome {
  if (status >= 200 && status < 300) return { kind: "delivered" };
  const error = `HTTP ${status}${detail === "" ? "" : `: ${detail}`}`;
  const transient = status >= 500 || status === 408 || status === 429 || status < 400;
  return { kind: "failed", permanent: !transient, error };
}
