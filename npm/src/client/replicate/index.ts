/**
 * The Replicate bridge: dink's deltas forwarded to `@trestleinc/replicate` (>= 2.0.0-preview.0),
 * so Replicate's clients see rows written by edges and by `syncMutation`.
 *
 * Every change dink records ({@link recordChange} in `sync/rows.ts`, for both the trigger path
 * and `applyDeltaFromEdge`) is also written to Replicate's delta log, in the same transaction,
 * with `components.replicate.mutations.insertDocument | updateDocument | deleteDocument` and
 * `{collection: <table>, document: <row id>, bytes: <the v2 Yjs delta>}`. dink's documents use
 * Replicate's layout (root map `fields`, one key per field including `id`; `_meta._deleted` for
 * a tombstone), so the bytes need no conversion.
 *
 * **Which component, in every module graph.** Convex evaluates each function's own module graph
 * in a fresh context: `registerReplicateComponent(components.replicate)` at the top of
 * `convex/sync.ts` runs for `sync:*` functions only, not for `tasks:create` (tasks.ts never
 * imports sync.ts). So the component is resolved per call, in this order:
 *   1. the component registered in this module graph, if any;
 *   2. else the environment variable `DINK_REPLICATE_COMPONENT` (set on the deployment, so every
 *      module graph sees it): the name `app.use(replicate)` gave the component ("replicate";
 *      `true` or `1` mean "replicate"), reached by name with `componentsGeneric()`, the same
 *      references the app's generated `components` export holds;
 *   3. else nothing: no forwarding, every path behaves exactly as without this bridge.
 *
 * **A forwarding failure aborts the transaction.** The component call runs inside the sync write's
 * mutation; if it throws, {@link ReplicateForwardError} propagates and the whole mutation fails:
 * the user row, dink's state, delta log and outbox item are not written either (a syncMutation
 * fails for its caller; `applyDeltaFromEdge` fails as a whole and dinkd resends the batch). A
 * sync write is therefore never committed without its Replicate delta, and never lost silently.
 */
import { componentsGeneric, type FunctionReference } from "convex/server";
import { stateVector } from "../../engine/index.js";
import { DinkConfigError } from "../env.js";

/** Arguments of Replicate's `insertDocument` / `updateDocument` / `deleteDocument` (v2). */
export type ReplicateWriteArgs = {
  collection: string;
  document: string;
  bytes: ArrayBuffer;
  threshold?: number;
  timeout?: number;
  retain?: number;
};
type ReplicateWrite = FunctionReference<"mutation", "internal", ReplicateWriteArgs, { success: boolean; seq: number }>;

/** The part of Replicate's component API the bridge calls (`components.replicate`). */
export interface ReplicateComponent {
  mutations: {
    insertDocument: ReplicateWrite;
    updateDocument: ReplicateWrite;
    deleteDocument: ReplicateWrite;
  };
}

/** What forwarding needs from the ctx: a mutation ctx (or anything with `runMutation`). */
export interface ReplicateCtx {
  runMutation: (reference: ReplicateWrite, args: ReplicateWriteArgs) => Promise<{ success: boolean; seq: number }>;
}

/** One delta for Replicate: the host table, the row's `id` and a Yjs update in V2 encoding. */
export interface ReplicateDelta {
  collection: string;
  document: string;
  bytes: ArrayBuffer | Uint8Array;
  /** Which Replicate function records it (the component treats them alike). Default "update". */
  operation?: "insert" | "update" | "delete";
}

/** The environment variable naming the Replicate component for every module graph. */
export const DINK_REPLICATE_COMPONENT = "DINK_REPLICATE_COMPONENT";
/** The name `app.use(replicate)` gives the component. */
export const DEFAULT_REPLICATE_NAME = "replicate";

const COMPONENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

let registered: ReplicateComponent | null = null;

/**
 * Register the app's Replicate component (`components.replicate`) for this module graph; call
 * once in the sync setup (`convex/sync.ts`). `null` unregisters. For functions whose module graph
 * does not import the registering file, set `DINK_REPLICATE_COMPONENT` (see the module doc).
 */
export function registerReplicateComponent(component: unknown): void {
  if (component === null || component === undefined) {
    registered = null;
    return;
  }
  const mutations = (component as { mutations?: Record<string, unknown> }).mutations;
  if (typeof component !== "object" || mutations === undefined || mutations === null) {
    throw new Error(
      "dink-convex: registerReplicateComponent expects the app's components.replicate (@trestleinc/replicate >= 2.0)",
    );
  }
  registered = component as ReplicateComponent;
}

function envValue(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

/** The component named by `DINK_REPLICATE_COMPONENT`, or null when it is unset (or false/0/off). */
function componentFromEnv(): ReplicateComponent | null {
  const value = envValue(DINK_REPLICATE_COMPONENT);
  if (value === undefined || /^(false|0|off|no)$/i.test(value)) return null;
  const name = /^(true|1|on|yes)$/i.test(value) ? DEFAULT_REPLICATE_NAME : value;
  if (!COMPONENT_NAME.test(name)) throw new DinkConfigError(DINK_REPLICATE_COMPONENT);
  return (componentsGeneric() as unknown as Record<string, ReplicateComponent>)[name] as ReplicateComponent;
}

/** The Replicate component deltas go to (registered here, else named by the environment), or null. */
export function getReplicateComponent(): ReplicateComponent | null {
  return registered ?? componentFromEnv();
}

/** Whether deltas are forwarded to Replicate (see {@link getReplicateComponent}). */
export function hasReplicateComponent(): boolean {
  return getReplicateComponent() !== null;
}

/** Thrown when Replicate refuses a delta; it aborts the sync write's transaction. */
export class ReplicateForwardError extends Error {
  constructor(
    readonly collection: string,
    readonly document: string,
    cause: unknown,
  ) {
    super(
      `dink-convex: forwarding ${collection}/${document} to Replicate failed, so the write was not committed: ` +
        (cause instanceof Error ? cause.message : String(cause)),
    );
    this.name = "ReplicateForwardError";
  }
}

function exactBuffer(bytes: ArrayBuffer | Uint8Array): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

async function write(
  ctx: ReplicateCtx,
  component: ReplicateComponent,
  delta: ReplicateDelta,
): Promise<{ success: boolean; seq: number }> {
  const op = delta.operation ?? "update";
  const reference =
    op === "insert"
      ? component.mutations.insertDocument
      : op === "delete"
        ? component.mutations.deleteDocument
        : component.mutations.updateDocument;
  try {
    return await ctx.runMutation(reference, {
      collection: delta.collection,
      document: delta.document,
      bytes: exactBuffer(delta.bytes),
    });
  } catch (error) {
    throw new ReplicateForwardError(delta.collection, delta.document, error);
  }
}

/**
 * Forward one delta to Replicate by hand (the sync paths do it automatically). A no-op returning
 * null when no component is registered; else Replicate's `{success, seq}`. The bytes must be a
 * Yjs update in V2 encoding: Replicate stores anything, and one undecodable row breaks its
 * compaction and recovery for that document, so they are decoded here first (an error if not).
 */
export async function forwardToReplicate(
  ctx: ReplicateCtx,
  deltaData: ReplicateDelta,
): Promise<{ success: boolean; seq: number } | null> {
  const component = getReplicateComponent();
  if (component === null) return null;
  const bytes = deltaData.bytes instanceof ArrayBuffer ? new Uint8Array(deltaData.bytes) : deltaData.bytes;
  try {
    stateVector(bytes, 2);
  } catch (error) {
    throw new ReplicateForwardError(deltaData.collection, deltaData.document, error);
  }
  return await write(ctx, component, deltaData);
}

/** A change as `recordChange` sees it: before/after tombstone flags and the engine's v2 delta. */
export interface RecordedReplicateChange {
  collection: string;
  docId: string;
  /** Whether the document existed (and was not tombstoned) before the change. */
  existedBefore: boolean;
  deleted: boolean;
  delta: Uint8Array;
}

/**
 * The automatic path: called by `recordChange` for every change, in its transaction. Does nothing
 * without a component or without a ctx that can run mutations. Insert for a document new to
 * Replicate's clients, delete for a tombstone, update otherwise.
 */
export async function forwardRecordedChange(ctx: unknown, change: RecordedReplicateChange): Promise<void> {
  const component = getReplicateComponent();
  if (component === null) return;
  if (typeof (ctx as Partial<ReplicateCtx> | undefined)?.runMutation !== "function") {
    throw new Error("dink-convex: a Replicate component is registered but the sync write has no runMutation");
  }
  const operation = change.deleted ? "delete" : change.existedBefore ? "update" : "insert";
  await write(ctx as ReplicateCtx, component, {
    collection: change.collection,
    document: change.docId,
    bytes: change.delta,
    operation,
  });
}
