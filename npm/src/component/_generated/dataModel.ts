/* eslint-disable */
/**
 * Generated data model types for the dink component.
 *
 * `npx convex codegen` needs a deployment, which cannot run offline; the `_generated/` files are
 * kept current by `scripts/codegen.mjs` (checked by a test) and have the shape Convex generates.
 * @module
 */
import type {
  DataModelFromSchemaDefinition,
  DocumentByName,
  TableNamesInDataModel,
  SystemTableNames,
} from "convex/server";
import type { GenericId } from "convex/values";
import schema from "../schema.js";

export type TableNames = TableNamesInDataModel<DataModel>;
export type Doc<TableName extends TableNames> = DocumentByName<DataModel, TableName>;
export type Id<TableName extends TableNames | SystemTableNames> = GenericId<TableName>;
export type DataModel = DataModelFromSchemaDefinition<typeof schema>;
