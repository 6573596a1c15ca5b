/**
 * Ingest of one edge delta (the body of `applyDeltaFromEdge`): idempotency, collection check,
 * CRDT merge in wasm, validation, then the writes. Every check that can reject runs before the
 * first write, and the first write is the user row (where Convex's own schema check is the last
 * line of defence), so a rejected delta leaves no trace in any table.
 */
import type {
  GenericDatabaseWriter,
  GenericDataModel,
  GenericDocument,
  GenericSchema,
  SchemaDefinition,
} from "convex/server";
import type { GenericId } from "convex/values";
import { EngineError, ingest, validate, type EngineLimits, type Fields } from "../../engine/index.js";
import { edgeIdProblem, idProblem } from "./ids.js";
import { fieldFromSchemaError, isSchemaError } from "./schemaErrors.js";
import { findOp, loadDocument, recordChange, syncWriter, type SyncWriter } from "./rows.js";
import type { DeltaError, DeltaResult, EdgeDelta } from "./validators.js";

/** How `applyDeltaFromEdge` learns which tables are synced and how to validate their rows. */
export interface IngestOptions {
  /**
   * Names of the synced tables. Without it (and without `schema`), a table counts as synced when
   * it has the `by_doc_id` index `syncedTable` adds; internal (`sync_*`) and system tables never do.
   */
  collections?: readonly string[];
  /**
   * The app's schema (`convex/schema.ts` default export). With it, rows are validated by the
   * engine against the table's validator before the write and errors name the field; without
   * it, Convex's own write-time schema check does the job and the field is parsed from its error.
   */
  schema?: SchemaDefinition<GenericSchema, boolean>;
  /** Engine limits for ingested deltas (defaults follow Convex's document limits). */
  limits?: Partial<EngineLimits>;
}

class Rejection extends Error {
  constructor(readonly error: DeltaError) {
    super(error.message);
  }
}

function reject(code: DeltaError["code"], message: string, extra: Partial<DeltaError> = {}): never {
  throw new Rejection({ code, message, ...extra });
}

/** Table names the probe may try: plain identifiers, never system or sync-internal tables. */
const TABLE_NAME = /^[a-zA-Z][a-zA-Z0-9_]*$/;

type UserDb = GenericDatabaseWriter<GenericDataModel>;

/**
 * The user row with this id, or null; rejects with UNKNOWN_COLLECTION when `collection` is not a
 * synced table. The same `by_doc_id` lookup serves as the probe when no explicit list is given.
 */
async function findUserRow(
  db: UserDb,
  collection: string,
  docId: string,
  options: IngestOptions,
): Promise<GenericDocument | null> {
  const unknown = () => reject("UNKNOWN_COLLECTION", `"${collection}" is not a synced table`);
  if (!TABLE_NAME.test(collection) || collection.startsWith("sync_")) unknown();
  if (options.collections !== undefined && !options.collections.includes(collection)) unknown();
  if (options.schema !== undefined && tableValidatorJson(options.schema, collection) === undefined) unknown();
  try {
    return await db
      .query(collection)
      .withIndex("by_doc_id", (q) => q.eq("id", docId))
      .first();
  } catch {
    // The table or its by_doc_id index does not exist: not a synced table.
    return unknown();
  }
}

/** JSON of a synced table's document validator in `schema`, or undefined if not synced. */
function tableValidatorJson(schema: SchemaDefinition<GenericSchema, boolean>, collection: string): unknown {
  const tables = schema.tables as Record<string, { validator?: { json?: unknown } } | undefined>;
  if (!Object.prototype.hasOwnProperty.call(tables, collection)) return undefined;
  const json = tables[collection]?.validator?.json as { type?: string; value?: Record<string, unknown> } | undefined;
  if (json?.type !== "object" || json.value?.id === undefined || json.value?.timestamp === undefined) {
    return undefined;
  }
  return json;
}

/** The user row to write: the CRDT's fields with `id` fixed to the document id and a fresh timestamp. */
function userRowOf(fields: Fields, docId: string, now: number): Fields {
  if (fields.id !== undefined && fields.id !== docId) {
    reject("VALIDATION_ERROR", `field "id" (${JSON.stringify(fields.id)}) differs from docId "${docId}"`, {
      field: "id",
    });
  }
  const row: Fields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key.startsWith("_")) {
      reject("VALIDATION_ERROR", `field "${key}" is reserved (names starting with "_" are Convex system fields)`, {
        field: key,
      });
    }
    // `timestamp` is server-managed: the sync write time, whatever the edge put in its document.
    if (key !== "timestamp") row[key] = value;
  }
  row.id = docId;
  row.timestamp = now;
  return row;
}

async function writeUserRow(
  db: UserDb,
  collection: string,
  existing: GenericDocument | null,
  row: Fields,
): Promise<void> {
  try {
    if (existing === null) await db.insert(collection, row);
    else await db.replace(existing._id as GenericId<string>, row);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!isSchemaError(message)) throw error;
    const field = fieldFromSchemaError(message);
    reject("VALIDATION_ERROR", `row does not match the "${collection}" schema: ${message.split("\n")[0]}`, {
      ...(field === undefined ? {} : { field }),
    });
  }
}

function engineRejection(error: EngineError): DeltaError {
  const code = error.code === "INVALID_ARGUMENT" ? "BAD_REQUEST" : error.code;
  if (code === "INTERNAL") throw error;
  return {
    code,
    message: error.message,
    ...(error.field === undefined ? {} : { field: error.field }),
    ...(error.stateVector === undefined ? {} : { stateVector: error.stateVector.slice().buffer }),
  };
}

/**
 * Apply one edge delta. Writes use the raw `db` the caller passes (never a trigger-wrapped one),
 * so an edge write is not turned into a second "convex" delta: no echo loop.
 */
export async function applyEdgeDelta(
  rawDb: UserDb,
  d: EdgeDelta,
  options: IngestOptions,
  now: number,
  /** The mutation ctx, for forwarding the change to Replicate (see `replicate/index.ts`). */
  ctx?: unknown,
): Promise<DeltaResult> {
  const db: SyncWriter = syncWriter(rawDb);
  try {
    for (const [field, problem] of [
      ["opId", idProblem("opId", d.opId)],
      // An empty collection is UNKNOWN_COLLECTION below, like any name that is not a synced table.
      ["collection", d.collection === "" ? null : idProblem("collection", d.collection)],
      ["docId", idProblem("docId", d.docId)],
      ["edgeId", edgeIdProblem(d.edgeId)],
    ] as const) {
      if (problem !== null) reject("BAD_REQUEST", problem, { field });
    }
    const seen = await findOp(db, d.edgeId, d.opId);
    if (seen !== null) return { opId: d.opId, status: "duplicate", version: seen.version };

    const userRow = await findUserRow(rawDb, d.collection, d.docId, options);
    const existing = await loadDocument(db, d.collection, d.docId);
    let result;
    try {
      result = ingest(
        existing === null ? null : new Uint8Array(existing.state),
        new Uint8Array(d.delta),
        d.format,
        options.limits,
        d.docId,
      );
    } catch (error) {
      if (!(error instanceof EngineError)) throw error;
      const rejection = engineRejection(error);
      if (rejection.code === "MISSING_DEPENDENCIES" && rejection.stateVector === undefined) {
        // The edge resends a diff against what the server has (empty when it has nothing).
        rejection.stateVector = existing === null ? new Uint8Array([0]).buffer : existing.stateVector;
      }
      throw new Rejection(rejection);
    }
    // Nothing new (every struct already known). Nothing is written, not even the opId: a retry
    // of the same delta is again a noop, which is the same answer.
    if (!result.changed) return { opId: d.opId, status: "noop" };

    if (result.deleted) {
      // Tombstoned: the row leaves the user table; the state stays, so a late edit of a field
      // merges into the tombstone instead of resurrecting the row.
      if (userRow !== null) await rawDb.delete(userRow._id as GenericId<string>);
    } else {
      const row = userRowOf(result.fields, d.docId, now);
      const json = options.schema === undefined ? undefined : tableValidatorJson(options.schema, d.collection);
      if (json !== undefined) {
        try {
          validate(row, json);
        } catch (error) {
          if (error instanceof EngineError) throw new Rejection(engineRejection(error));
          throw error;
        }
      }
      // First write of the delta: if Convex refuses the row, nothing else has been written.
      await writeUserRow(rawDb, d.collection, userRow, row);
    }

    const version = await recordChange(
      db,
      {
        collection: d.collection,
        docId: d.docId,
        existing,
        state: result.state,
        stateVector: result.stateVector,
        deleted: result.deleted,
        delta: result.delta,
        origin: d.edgeId,
        opId: d.opId,
        now,
      },
      ctx,
    );
    return { opId: d.opId, status: "applied", version };
  } catch (error) {
    if (error instanceof Rejection) return { opId: d.opId, status: "rejected", error: error.error };
    throw error;
  }
}
