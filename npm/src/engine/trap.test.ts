// A trap inside the engine (Rust panic/abort -> WebAssembly.RuntimeError) must surface as
// EngineError INTERNAL and the next call must run on a fresh instance.
import { describe, expect, it, vi } from "vitest";
import * as glue from "../wasm/dink_wasm.js";
import { encodeState, newDoc, setFields } from "@dink-convex/testkit";
import { EngineError, engineStats, ingest } from "./index.js";

vi.mock("../wasm/dink_wasm.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../wasm/dink_wasm.js")>();
  return { ...real, ingest: vi.fn(real.ingest), __wbg_reset_state: vi.fn(real.__wbg_reset_state) };
});

describe("traps", () => {
  it("maps a trap to INTERNAL and re-instantiates on the next call", () => {
    const edge = newDoc(5);
    setFields(edge, { id: "row-1", a: 1 });
    const update = encodeState(edge);

    const first = ingest(null, update);
    expect(engineStats().instantiations).toBe(1);
    const coldInitMs = engineStats().initMs;
    expect(coldInitMs).toBeGreaterThan(0);

    vi.mocked(glue.ingest).mockImplementationOnce(() => {
      throw new WebAssembly.RuntimeError("unreachable");
    });
    let caught: unknown;
    try {
      ingest(null, update);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EngineError);
    expect((caught as EngineError).code).toBe("INTERNAL");
    expect((caught as EngineError).message).toMatch(/trapped.*unreachable/);
    expect((caught as EngineError).cause).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(engineStats().initialized).toBe(false);
    expect(glue.__wbg_reset_state).not.toHaveBeenCalled();

    // Next call: a fresh instance of the same compiled module, with working memory.
    const again = ingest(first.state, update);
    expect(glue.__wbg_reset_state).toHaveBeenCalledTimes(1);
    expect(engineStats()).toMatchObject({ initialized: true, instantiations: 2, initMs: coldInitMs });
    expect(engineStats().memoryBytes).toBeGreaterThan(0);
    expect(again.changed).toBe(false);
    expect(again.fields).toEqual({ id: "row-1", a: 1 });
  });

  it("treats any other exception out of the glue the same way", () => {
    vi.mocked(glue.ingest).mockImplementationOnce(() => {
      throw new RangeError("Maximum call stack size exceeded");
    });
    const update = encodeState(newDoc(6));
    expect(() => ingest(null, update)).toThrow(EngineError);
    expect(ingest(null, encodeState(newDoc(6))).changed).toBe(false);
    expect(engineStats().instantiations).toBe(3);
  });
});
