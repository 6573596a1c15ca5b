import { describe, expect, it } from "vitest";
import { EngineError } from "./errors.js";
import { DEFAULT_LIMITS, limitsToFloat64Array, resolveLimits } from "./limits.js";

describe("limits", () => {
  it("has Convex's defaults", () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxUpdateBytes: 1 << 20,
      maxStateBytes: 1 << 20,
      maxRowBytes: 1 << 20,
      maxDepth: 16,
      maxFields: 1024,
      maxPendingStructs: 10_000,
    });
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
  });

  it("sends an empty array when nothing is overridden", () => {
    expect(limitsToFloat64Array()).toHaveLength(0);
    expect(limitsToFloat64Array({})).toHaveLength(0);
    expect(limitsToFloat64Array({ maxDepth: undefined })).toHaveLength(0);
  });

  it("fills the boundary order with defaults around overrides", () => {
    expect([...limitsToFloat64Array({ maxDepth: 4, maxPendingStructs: 7 })]).toEqual([
      1 << 20,
      1 << 20,
      1 << 20,
      4,
      1024,
      7,
    ]);
    expect([...limitsToFloat64Array({ maxUpdateBytes: 10 })]).toEqual([10, 1 << 20, 1 << 20, 16, 1024, 10_000]);
    expect(resolveLimits({ maxFields: 3 }).maxFields).toBe(3);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("rejects %s as INVALID_ARGUMENT", (bad) => {
    let caught: unknown;
    try {
      limitsToFloat64Array({ maxRowBytes: bad });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EngineError);
    expect((caught as EngineError).code).toBe("INVALID_ARGUMENT");
    expect((caught as EngineError).field).toBe("limits.maxRowBytes");
  });
});
