/**
 * The drain lease: one `sync_config` row (key "outboxDrain") that lets at most one drain run at
 * a time, whoever started it (the self-scheduling drain, the safety-net cron, a trigger via
 * `scheduleOutboxProcessing`). Every start and every continuation goes through it inside a
 * mutation, so Convex's serializable transactions make the check-and-take atomic.
 *
 * The row also remembers the one scheduled wake-up for items waiting on backoff, so drains that
 * end one after another do not pile up scheduled functions.
 */
import type { SyncMutationCtx } from "./types.js";

export const DRAIN_KEY = "outboxDrain";

export type DrainState = {
  /** Token of the drain holding the lease, or null when free. */
  token: string | null;
  /** Lease expiry (ms); a crashed drain's lease lapses and the next start takes over. */
  until: number;
  /** When the scheduled wake-up runs, or null when none is scheduled. */
  wakeAt: number | null;
};

const FREE: DrainState = { token: null, until: 0, wakeAt: null };

function parse(value: unknown): DrainState {
  if (typeof value !== "object" || value === null) return FREE;
  const v = value as Partial<DrainState>;
  return {
    token: typeof v.token === "string" ? v.token : null,
    until: typeof v.until === "number" ? v.until : 0,
    wakeAt: typeof v.wakeAt === "number" ? v.wakeAt : null,
  };
}

async function row(ctx: SyncMutationCtx) {
  return await ctx.db
    .query("sync_config")
    .withIndex("by_key", (q) => q.eq("key", DRAIN_KEY))
    .unique();
}

export async function readDrain(ctx: SyncMutationCtx): Promise<DrainState> {
  return parse((await row(ctx))?.value);
}

async function write(ctx: SyncMutationCtx, state: DrainState): Promise<void> {
  const existing = await row(ctx);
  if (existing === null) await ctx.db.insert("sync_config", { key: DRAIN_KEY, value: { ...state } });
  else await ctx.db.replace(existing._id, { key: DRAIN_KEY, value: { ...state } });
}

/**
 * Takes (or, for the holder, extends) the lease. False when another live drain holds it.
 * `wokeAt` is set by a scheduled wake-up run: that wake-up has happened, so it is forgotten
 * (whether or not the lease is free) and the next drain to end schedules a new one.
 */
export async function acquireDrain(
  ctx: SyncMutationCtx,
  token: string,
  now: number,
  leaseMs: number,
  wokeAt?: number,
): Promise<boolean> {
  const state = await readDrain(ctx);
  const wakeAt = wokeAt !== undefined && state.wakeAt === wokeAt ? null : state.wakeAt;
  if (state.token !== null && state.token !== token && state.until > now) {
    if (wakeAt !== state.wakeAt) await write(ctx, { ...state, wakeAt });
    return false;
  }
  await write(ctx, { token, until: now + leaseMs, wakeAt });
  return true;
}

/** Whether `token` still holds a live lease (a drain that lost it must not continue). */
export async function holdsDrain(ctx: SyncMutationCtx, token: string, now: number): Promise<boolean> {
  const state = await readDrain(ctx);
  return state.token === token && state.until > now;
}

/** Frees the lease if `token` holds it; keeps a scheduled wake-up. */
export async function releaseDrain(ctx: SyncMutationCtx, token: string): Promise<void> {
  const state = await readDrain(ctx);
  if (state.token !== token) return;
  await write(ctx, { ...state, token: null, until: 0 });
}

/**
 * Records a wake-up at `at` unless one at or before it is already pending. Returns true when
 * the caller should schedule it.
 */
export async function claimWake(ctx: SyncMutationCtx, at: number, now: number): Promise<boolean> {
  const state = await readDrain(ctx);
  // A wake-up more than a minute overdue is taken as lost (the cron covers the gap meanwhile).
  const pending = state.wakeAt !== null && state.wakeAt > now - 60_000;
  if (pending && state.wakeAt !== null && state.wakeAt <= at) return false;
  await write(ctx, { ...state, wakeAt: at });
  return true;
}
