import { convexToJson, jsonToConvex } from "convex/values";
import { describe, expect, test } from "vitest";
import { fieldsToJson } from "./values.js";

describe("fieldsToJson", () => {
  test("plain rows take the fast path and equal convexToJson's encoding", () => {
    const row = { id: "a", n: 1.5, ok: true, none: null, tags: ["x", { deep: [1, 2] }] };
    const text = fieldsToJson(row, "fields");
    // Same JSON value (key order may differ: convexToJson sorts keys, the engine does not care).
    expect(JSON.parse(text)).toEqual(convexToJson(row));
    expect(jsonToConvex(JSON.parse(text))).toEqual(row);
  });

  test.each([
    ["int64", 5n],
    ["bytes", new Uint8Array([1, 2]).buffer],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-0", -0],
    ["nested int64", { a: [1n] }],
  ])("%s goes through convexToJson and survives", (_name, value) => {
    const row = { id: "a", v: value };
    const text = fieldsToJson(row, "fields");
    expect(text).toBe(JSON.stringify(convexToJson(row)));
    expect(text).toContain('"$');
    const back = jsonToConvex(JSON.parse(text)) as Record<string, unknown>;
    expect(
      Object.is(back.v, value) ||
        JSON.stringify(convexToJson(back.v as never)) === JSON.stringify(convexToJson(value as never)),
    ).toBe(true);
  });
});
