/**
 * Lazy loading of the engine's WebAssembly module.
 *
 * The `.wasm` bytes are embedded as base64 in a generated module (`../wasm/wasmBytes.js`), so
 * the package loads the same way in the Convex runtime, convex-test, edge-runtime and plain
 * Node, with no file access and no bundler plugin. Nothing is decoded or compiled at import
 * time: the first engine call decodes, compiles (`new WebAssembly.Module`) and instantiates
 * (`initSync` of the wasm-bindgen `--target web` glue). Convex runs module top-level code on
 * every function execution, so import must stay cheap, and the first call's decode is done by a
 * small WebAssembly decoder (base64.ts) whose compiled code, unlike a JS loop's, the isolate
 * shares between realms. Costs per phase: docs/wasm-boundary.md, "Start-up".
 *
 * A trap inside the engine (a Rust panic or abort, stack overflow, allocation failure) leaves
 * the instance's memory in an unknown state, so the instance is dropped and the next call
 * runs on a fresh one (same compiled module). The failed call raises EngineError INTERNAL.
 */
import * as glue from "../wasm/dink_wasm.js";
import { WASM_BASE64, WASM_BYTE_LENGTH } from "../wasm/wasmBytes.js";
import { decodeBase64 } from "./base64.js";
import { EngineError } from "./errors.js";

/** The raw wasm-bindgen exports (bytes, strings and numbers in, one result frame out). */
export type RawEngine = typeof glue;

export interface EngineStats {
  /** Size of the embedded WebAssembly module, in bytes. */
  wasmBytes: number;
  /**
   * Cold-start cost in ms: base64 decode + compile + instantiate on first use (0 until then).
   * Re-instantiation after a trap reuses the compiled module and is not counted here.
   */
  initMs: number;
  /** Whether an instance is ready. */
  initialized: boolean;
  /** Instances created so far in this JavaScript realm (1 + re-instantiations after traps). */
  instantiations: number;
  /**
   * The live instance's linear memory in bytes (0 before the first call). WebAssembly memory
   * only grows, so this is the engine's high-water mark in this realm.
   */
  memoryBytes: number;
}

type State = "cold" | "ready" | "poisoned";

let state: State = "cold";
let initMs = 0;
let instantiations = 0;
let compiled: WebAssembly.Module | undefined;
let memory: WebAssembly.Memory | undefined;

function now(): number {
  const perf = (globalThis as { performance?: { now?: () => number } }).performance;
  return typeof perf?.now === "function" ? perf.now() : Date.now();
}

function initialise(): void {
  const started = now();
  try {
    if (compiled === undefined) {
      const module = new WebAssembly.Module(decodeBase64(WASM_BASE64));
      memory = glue.initSync({ module }).memory;
      compiled = module;
    } else {
      // Fresh instance of the already compiled module; resets the glue's cached views. The
      // glue is initialised, so `initSync` just hands back the new instance's exports.
      glue.__wbg_reset_state();
      memory = glue.initSync({ module: compiled }).memory;
    }
  } catch (cause) {
    throw new EngineError("INTERNAL", `failed to initialise the dink engine: ${describe(cause)}`, {
      cause,
    });
  }
  instantiations++;
  if (state === "cold") initMs = now() - started;
  state = "ready";
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Compile and instantiate the engine now instead of on the first call. Idempotent. */
export function preloadEngine(): void {
  if (state !== "ready") initialise();
}

/** Size and initialisation cost of the engine. */
export function engineStats(): EngineStats {
  return {
    wasmBytes: WASM_BYTE_LENGTH,
    initMs,
    initialized: state === "ready",
    instantiations,
    memoryBytes: memory?.buffer.byteLength ?? 0,
  };
}

/**
 * Run one raw engine call. Anything thrown from inside the glue/wasm (a trap surfaces as
 * `WebAssembly.RuntimeError`, a wasm stack overflow as `RangeError`) poisons the instance and
 * becomes EngineError INTERNAL; the next call re-instantiates.
 */
export function callEngine<T>(call: (engine: RawEngine) => T): T {
  if (state !== "ready") initialise();
  try {
    return call(glue);
  } catch (cause) {
    state = "poisoned";
    const kind = cause instanceof WebAssembly.RuntimeError ? "trapped" : "failed";
    throw new EngineError("INTERNAL", `dink engine ${kind}: ${describe(cause)}`, { cause });
  }
}
