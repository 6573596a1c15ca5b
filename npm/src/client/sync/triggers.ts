/**
 * `createSyncMutation(mutation, tables, { getInternal })`: a mutation builder whose `ctx.db`
 * turns every insert, patch, replace and delete on the listed tables into a CRDT delta, in the
 * same transaction (convex-helpers Triggers + customMutation). A mutation that throws therefore
 * leaves no delta and no outbox item; writes to other tables are untouched.
 */
import type {
  FunctionReference,
  FunctionVisibility,
  GenericDatabaseReader,
  GenericDataModel,
  GenericMutationCtx,
  MutationBuilder,
  TableNamesInDataModel,
} from "convex/server";
import { customMutation, type CustomBuilder } from "convex-helpers/server/customFunctions";
import { Triggers, type Change } from "convex-helpers/server/triggers";
import { change as engineChange, type EngineLimits } from "../../engine/index.js";
import { OutboxModuleError, SCHEDULE_OUTBOX_REFERENCE, scheduleDrain } from "../outbox/schedule.js";
import { CONVEX_ORIGIN, crdtFields, loadDocument, recordChange, syncWriter } from "./rows.js";

/**
 * The references the wrapper needs from the app's `internal` api. Typed loosely on purpose: the
 * app's generated api.ts imports the type of the module that calls this factory, so a parameter
 * typed from `typeof internal` would make the app's types circular.
 */
export interface SyncInternalRefs {
  outboxProcessor: {
    scheduleOutboxProcessing: FunctionReference<"mutation" | "action", "internal">;
  };
}

export interface SyncMutationOptions {
  /**
   * `() => internal`: lazily returns the app's `internal` api, whose
   * `outboxProcessor.scheduleOutboxProcessing` is scheduled after each mutation that queued
   * something. Without it the cron picks the outbox items up.
   *
   * Typed `unknown` on purpose, not `() => ...`: a function type gives the seed's
   * `getInternal: () => internal` a contextual signature, and TypeScript then computes the type
   * of `internal` while computing the type of `syncMutation`, which `internal`'s own type depends
   * on (the app's api.ts imports syncSetup.ts): a circular type. The shape is checked at run time.
   */
  getInternal?: unknown;
  /** Engine limits for Convex-side writes. */
  limits?: Partial<EngineLimits>;
}

/** The builder `createSyncMutation` returns: `syncMutation({ args, handler })`, as `mutation`. */
export type SyncMutationBuilder<
  DataModel extends GenericDataModel,
  Visibility extends FunctionVisibility = "public",
> = CustomBuilder<
  "mutation",
  Record<string, never>,
  { db: GenericMutationCtx<DataModel>["db"] },
  Record<string, never>,
  GenericMutationCtx<DataModel>,
  Visibility,
  Record<string, unknown>
>;

/** Per-call bookkeeping, carried on the ctx the triggers receive. */
const CALL_STATE = Symbol.for("dink-convex.syncMutation.call");
interface CallState {
  enqueued: number;
  /** Runs after each recorded delta (createSyncTriggersWithHandlers schedules the drain here). */
  onEnqueue?: () => Promise<void>;
}
type CtxWithState<DataModel extends GenericDataModel> = GenericMutationCtx<DataModel> & {
  [CALL_STATE]?: CallState;
};

function docIdOf(doc: Record<string, unknown>, table: string): string {
  const id = doc.id;
  if (typeof id !== "string" || id === "") {
    throw new Error(`dink-convex: rows of synced table "${table}" need a non-empty string "id"`);
  }
  return id;
}

function scheduleReference(getInternal: unknown): SyncInternalRefs["outboxProcessor"]["scheduleOutboxProcessing"] {
  if (typeof getInternal !== "function") {
    throw new Error("dink-convex: createSyncMutation's getInternal must be a function: () => internal");
  }
  const internal = (getInternal as () => unknown)() as Partial<SyncInternalRefs> | undefined;
  const ref = internal?.outboxProcessor?.scheduleOutboxProcessing;
  if (ref === undefined) throw new OutboxModuleError("getInternal() has no such function");
  return ref;
}

/** The trigger set both wrappers use: every write on `tables` recorded as a CRDT change. */
function syncTriggers<DataModel extends GenericDataModel>(
  tables: readonly string[],
  options: SyncMutationOptions,
): Triggers<DataModel, CtxWithState<DataModel>> {
  const triggers = new Triggers<DataModel, CtxWithState<DataModel>>();
  for (const table of new Set(tables)) {
    triggers.register(table as TableNamesInDataModel<DataModel>, async (ctx, change) => {
      const added = await recordTrigger(ctx, table, change as Change<GenericDataModel, string>, options);
      const state = ctx[CALL_STATE];
      if (added && state !== undefined) {
        state.enqueued += 1;
        await state.onEnqueue?.();
      }
    });
  }
  return triggers;
}

/**
 * `syncMutation`: a mutation builder whose `ctx.db` syncs the listed tables.
 *
 * ```ts
 * // convex/syncSetup.ts
 * export const syncMutation = createSyncMutation(mutation, ["tasks"], { getInternal: () => internal });
 * // convex/tasks.ts
 * export const create = syncMutation({ args: { title: v.string() }, handler: (ctx, args) => ctx.db.insert("tasks", {...}) });
 * ```
 */
export function createSyncMutation<
  DataModel extends GenericDataModel,
  Visibility extends FunctionVisibility = "public",
>(
  mutation: MutationBuilder<DataModel, Visibility>,
  tables: readonly TableNamesInDataModel<DataModel>[],
  options: SyncMutationOptions = {},
): SyncMutationBuilder<DataModel, Visibility> {
  if (options.getInternal !== undefined && typeof options.getInternal !== "function") {
    throw new Error("dink-convex: createSyncMutation's getInternal must be a function: () => internal");
  }
  const triggers = syncTriggers<DataModel>(tables, options);

  return customMutation(mutation, {
    args: {},
    input: (ctx: GenericMutationCtx<DataModel>) => {
      const state: CallState = { enqueued: 0 };
      const wrapped = triggers.wrapDB({ ...ctx, [CALL_STATE]: state } as CtxWithState<DataModel>);
      return {
        ctx: { db: wrapped.db },
        args: {},
        // After the handler, still inside the transaction: one drain per mutation, not per row.
        onSuccess: async () => {
          if (state.enqueued === 0 || options.getInternal === undefined) return;
          await scheduleDrain(ctx, scheduleReference(options.getInternal));
        },
      };
    },
  }) as unknown as SyncMutationBuilder<DataModel, Visibility>;
}

/** What `createSyncTriggersWithHandlers` returns: `wrapDB(ctx)` gives a ctx whose `db` syncs. */
export interface SyncTriggers {
  wrapDB<Ctx extends GenericMutationCtx<GenericDataModel>>(ctx: Ctx): Ctx;
}

/**
 * The skill doc's older form: triggers to apply in your own convex-helpers `customMutation`.
 *
 * ```ts
 * const triggers = createSyncTriggersWithHandlers(["tasks", "projects"]);
 * export const mutation = customMutation(rawMutation, {
 *   args: {},
 *   input: async (ctx: MutationCtx, args: any) => ({ ctx: triggers.wrapDB(ctx), args }),
 * });
 * ```
 *
 * Writes through the wrapped `ctx.db` behave exactly as with `createSyncMutation`: a CRDT delta
 * per changed row in the same transaction, and one outbox drain scheduled (the seed's
 * `internal.outboxProcessor.scheduleOutboxProcessing`, by name) when the first delta is queued.
 */
export function createSyncTriggersWithHandlers(
  tables: readonly string[],
  options: SyncMutationOptions = {},
): SyncTriggers {
  const triggers = syncTriggers<GenericDataModel>(tables, options);
  return {
    wrapDB<Ctx extends GenericMutationCtx<GenericDataModel>>(ctx: Ctx): Ctx {
      const state: CallState = { enqueued: 0 };
      // No hook runs after the handler here, so the drain is scheduled with the first delta:
      // still one per mutation, and only when something was queued.
      state.onEnqueue = async () => {
        if (state.enqueued === 1) await scheduleDrain(ctx, SCHEDULE_OUTBOX_REFERENCE);
      };
      return triggers.wrapDB({ ...ctx, [CALL_STATE]: state } as CtxWithState<GenericDataModel>) as unknown as Ctx;
    },
  };
}

/**
 * One trigger: the row's write as a CRDT change. Returns whether a delta was recorded (a write
 * that changes no synced field records nothing). Uses the inner db, so its own writes to the
 * sync tables fire no triggers.
 */
async function recordTrigger(
  ctx: { innerDb: unknown },
  table: string,
  change: Change<GenericDataModel, string>,
  options: SyncMutationOptions,
): Promise<boolean> {
  const innerDb = ctx.innerDb;
  const oldFields = change.oldDoc === null ? null : crdtFields(change.oldDoc);
  const newFields = change.newDoc === null ? null : crdtFields(change.newDoc);
  const docId = docIdOf((change.newDoc ?? change.oldDoc) as Record<string, unknown>, table);
  if (change.oldDoc !== null && change.newDoc !== null && docIdOf(change.oldDoc, table) !== docId) {
    // The id names the document on every edge; renaming it would orphan their copies.
    throw new Error(
      `dink-convex: the "id" of a synced row cannot change (${table} ${String(change.oldDoc.id)} -> ${docId})`,
    );
  }
  const db = syncWriter(innerDb);
  const existing = await loadDocument(db, table, docId);
  if (change.operation === "insert" && existing !== null && !existing.deleted) {
    const others = await (innerDb as GenericDatabaseReader<GenericDataModel>)
      .query(table)
      .withIndex("by_doc_id", (q) => q.eq("id", docId))
      .take(2);
    if (others.some((row) => row._id !== change.id)) {
      throw new Error(`dink-convex: a row with id "${docId}" already exists in "${table}"`);
    }
  }
  const now = Date.now();
  const result = engineChange(existing === null ? null : new Uint8Array(existing.state), oldFields, newFields, {
    now,
    docId,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  if (result.delta === null) return false;
  // The trigger's ctx is the mutation's (with `runMutation`): Replicate forwarding runs through it.
  await recordChange(
    db,
    {
      collection: table,
      docId,
      existing,
      state: result.state,
      stateVector: result.stateVector,
      deleted: result.deleted,
      delta: result.delta,
      origin: CONVEX_ORIGIN,
      now,
    },
    ctx,
  );
  return true;
}
