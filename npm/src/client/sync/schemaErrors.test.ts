import { describe, expect, it } from "vitest";
import { fieldFromSchemaError, isSchemaError } from "./schemaErrors.js";

// Texts as the Convex backend and convex-test 0.0.60 write them.
const PREFIX = 'Failed to insert or update a document in table "tasks" because it does not match the schema: ';

describe("fieldFromSchemaError", () => {
  it("reads the path of a value that does not match its validator", () => {
    expect(
      fieldFromSchemaError(
        `${PREFIX}Value does not match validator.\nPath: .completed\nValue: "yes"\nValidator: v.boolean()`,
      ),
    ).toBe("completed");
    expect(
      fieldFromSchemaError(
        `${PREFIX}Value does not match validator.\nPath: .sections[0]\nValue: {a: 1}\nValidator: v.string()`,
      ),
    ).toBe("sections[0]");
  });

  it("names a missing or extra top-level field", () => {
    expect(
      fieldFromSchemaError(
        `${PREFIX}Object is missing the required field \`title\`. Consider wrapping the field validator in \`v.optional(...)\` if this is expected.\n\nObject: {id: "a"}\nValidator: v.object({title: v.string()})`,
      ),
    ).toBe("title");
    expect(
      fieldFromSchemaError(
        `${PREFIX}Object contains extra field \`nick\` that is not in the validator.\n\nObject: {nick: "b"}\nValidator: v.object({})`,
      ),
    ).toBe("nick");
  });

  it("joins the path of a nested object with the field it lacks or adds", () => {
    expect(
      fieldFromSchemaError(
        `${PREFIX}Object is missing the required field \`x\`. Consider wrapping the field validator in \`v.optional(...)\` if this is expected.\n\nPath: .meta\nObject: {}\nValidator: v.object({x: v.number()})`,
      ),
    ).toBe("meta.x");
  });

  it("reads convex-test's messages, and knows when they name no field", () => {
    expect(fieldFromSchemaError("Validator error: Missing required field `title` in object")).toBe("title");
    expect(fieldFromSchemaError("Validator error: Unexpected field `nick` in object")).toBe("nick");
    expect(fieldFromSchemaError("Validator error: Expected `boolean`, got `5`")).toBeUndefined();
  });
});

describe("isSchemaError", () => {
  it("tells schema refusals from other failures", () => {
    expect(isSchemaError(`${PREFIX}Value does not match validator.\nPath: .a`)).toBe(true);
    expect(isSchemaError("Validator error: Expected `boolean`, got `5`")).toBe(true);
    expect(isSchemaError("Document is too large")).toBe(false);
  });
});
