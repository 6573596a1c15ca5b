/**
 * Schema helpers for the app's `convex/schema.ts`: `syncedTable(fields)` for each synced user
 * table and `internalSyncSchema` for the sync engine's own tables.
 */
import { defineTable, type TableDefinition } from "convex/server";
import { v, type GenericValidator, type ObjectType, type VFloat64, type VObject, type VString } from "convex/values";
import { internalSyncTables } from "./tables.js";

/** The fields `syncedTable` adds to every synced table. */
export type SyncedFields = { id: VString<string, "required">; timestamp: VFloat64<number, "required"> };

/** The table definition `syncedTable(fields)` returns (typed indexes included). */
export type SyncedTableDefinition<Fields extends Record<string, GenericValidator>> = TableDefinition<
  VObject<ObjectType<Fields & SyncedFields>, Fields & SyncedFields>,
  { by_doc_id: ["id", "_creationTime"]; by_timestamp: ["timestamp", "_creationTime"] }
>;

/**
 * A synced user table: the given fields plus `id` (the document id shared with edge devices)
 * and `timestamp` (set by the server on every sync write), with the `by_doc_id` and
 * `by_timestamp` indexes. The layout follows @trestleinc/replicate >= 2.0, so both systems can
 * share a table. The result is an ordinary table definition: `.index(...)` chains as usual.
 */
export function syncedTable<Fields extends Record<string, GenericValidator>>(
  fields: Fields,
): SyncedTableDefinition<Fields> {
  // The generic field map defeats convex's index-path inference, hence the untyped detour;
  // the declared return type restores the precise types for the app.
  const table = defineTable({ ...fields, id: v.string(), timestamp: v.number() }) as unknown as {
    index(name: string, fields: string[]): typeof table;
  };
  return table
    .index("by_doc_id", ["id"])
    .index("by_timestamp", ["timestamp"]) as unknown as SyncedTableDefinition<Fields>;
}

/** The sync engine's tables; spread into the app's schema: `...internalSyncSchema`. */
export const internalSyncSchema = internalSyncTables;
