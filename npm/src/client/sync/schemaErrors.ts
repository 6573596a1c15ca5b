/**
 * Reading Convex's schema-validation errors: whether a failed write was refused by the table's
 * schema, and which field (as a path: `title`, `meta.tags[2]`) the message names.
 *
 * The Convex backend (`SchemaEnforcementError` around a `ValidationError`) writes:
 *   Failed to insert or update a document in table "tasks" because it does not match the schema:
 *   Value does not match validator.
 *   Path: .title
 *   Value: 5
 *   Validator: v.string()
 * and for object fields "Object is missing the required field `x`. ..." or "Object contains extra
 * field `x` that is not in the validator.", with a "Path: .a.b" line before "Object:" when the
 * object is nested. convex-test writes "Validator error: Missing required field `x` in object",
 * "Validator error: Unexpected field `x` in object" and, for a wrong type, "Validator error:
 * Expected `boolean`, got `5`", which names no field: there the field is unknown.
 */

/** The field the message names, as a path, or undefined when it names none. */
export function fieldFromSchemaError(message: string): string | undefined {
  const pathLine = /^Path: \.?(\S+)\s*$/m.exec(message);
  const path = pathLine === null ? "" : pathLine[1]!;
  const named =
    /(?:missing the required field|contains extra field|Missing required field|Unexpected field) `([^`]+)`/.exec(
      message,
    );
  if (named !== null) return path === "" ? named[1] : `${path}.${named[1]}`;
  return path === "" ? undefined : path;
}

/** Whether a write error is the table schema refusing the row (rather than anything else). */
export function isSchemaError(message: string): boolean {
  return /does not match the schema|Validator error|does not match validator|required field|extra field|Unexpected field/i.test(
    message,
  );
}
