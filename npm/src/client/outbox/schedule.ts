/**
 * Scheduling the outbox drain from a synced write, with an error that says what to fix when the
 * app's outbox module is missing or renamed.
 *
 * The seed fixes the module: `convex/outboxProcessor.ts` exports the functions
 * `createOutboxProcessor` makes. Convex refuses to schedule a function that does not exist
 * ("Attempted to schedule function at nonexistent path: ..."), which on its own does not say
 * which file the app lacks; this adds it.
 */
import type { FunctionReference, GenericMutationCtx, GenericDataModel } from "convex/server";
import { getFunctionName, makeFunctionReference } from "convex/server";

/** Where the seed puts the outbox functions, and the reference the sync paths schedule. */
export const OUTBOX_MODULE = "outboxProcessor";
export const SCHEDULE_FUNCTION = "scheduleOutboxProcessing";

/**
 * `internal.outboxProcessor.scheduleOutboxProcessing` by name, for the sync paths that have no
 * `internal` (createSyncMutations, createSyncTriggersWithHandlers).
 */
export const SCHEDULE_OUTBOX_REFERENCE = makeFunctionReference<"mutation">(
  `${OUTBOX_MODULE}:${SCHEDULE_FUNCTION}`,
) as unknown as FunctionReference<"mutation", "internal">;

export const OUTBOX_MODULE_HINT =
  `export the outbox functions from convex/${OUTBOX_MODULE}.ts: ` +
  "export const { processOutboxBatch, queryPendingItems, updateItemStatus, scheduleOutboxProcessing } = " +
  "createOutboxProcessor({ internalAction, internalMutation, internalQuery, internal })";

/** The error a synced write throws when the outbox module cannot be reached. */
export class OutboxModuleError extends Error {
  constructor(detail: string) {
    super(
      `dink-convex: cannot schedule internal.${OUTBOX_MODULE}.${SCHEDULE_FUNCTION} (${detail}); ${OUTBOX_MODULE_HINT}`,
    );
    this.name = "OutboxModuleError";
  }
}

/** Whether a scheduler error is Convex saying the function or its module does not exist. */
function isMissingFunction(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /nonexistent path|no exported function|Could not find (module|function)/i.test(message);
}

/** Schedules `ref` now; a missing module or export becomes an {@link OutboxModuleError}. */
export async function scheduleDrain(
  ctx: Pick<GenericMutationCtx<GenericDataModel>, "scheduler">,
  ref: FunctionReference<"mutation" | "action", "internal">,
): Promise<void> {
  try {
    await ctx.scheduler.runAfter(0, ref, {});
  } catch (error) {
    if (!isMissingFunction(error)) throw error;
    let name = "?";
    try {
      name = getFunctionName(ref);
    } catch {
      // a malformed reference: the message below still says what to export
    }
    throw new OutboxModuleError(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
