// Engine time, measured from outside the package: registers engineHooks.mjs so every module that
// imports the built engine gets its functions wrapped in timers (index.js: ingest, change,
// validate, diff, outboxTransition, ...; loader.js: callEngine, the raw wasm call). Must run
// before anything imports `dink-convex`.
//
// `engineMs` is the time inside the engine's public functions (argument encoding, the wasm call,
// decoding its result frame); `wasmMs` is the part inside `callEngine` (the wasm-bindgen call
// itself, plus the one-off compile on first use). Everything else a request or mutation spends
// is "glue".

import { createRequire, register } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** @typedef {{ calls: number, ms: number }} Slot */

/** The export names of an ES module, from the esbuild the Convex CLI ships (no evaluation). */
async function exportNames(file) {
  const requireFromConvex = createRequire(createRequire(import.meta.url).resolve("convex/package.json"));
  const esbuild = requireFromConvex("esbuild");
  const result = await esbuild.build({
    entryPoints: [file],
    bundle: false,
    write: false,
    metafile: true,
    format: "esm",
    outdir: "unused",
    logLevel: "error",
  });
  return Object.values(result.metafile.outputs).flatMap((o) => o.exports);
}

/**
 * @returns {{ snapshot(): { engineMs: number, wasmMs: number, calls: Record<string, Slot> },
 *             delta(before: ReturnType<any>): { engineMs: number, wasmMs: number, calls: Record<string, Slot> } }}
 */
export async function installEngineTiming() {
  const now = performance.now.bind(performance);
  /** @type {Map<string, Slot>} */
  const slots = new Map();
  const slot = (name) => {
    let s = slots.get(name);
    if (!s) slots.set(name, (s = { calls: 0, ms: 0 }));
    return s;
  };
  globalThis.__dinkBenchEngineTiming = {
    wrap(name, fn) {
      if (typeof fn !== "function") return fn;
      const s = slot(name);
      return function timed(...args) {
        const started = now();
        try {
          return fn.apply(this, args);
        } finally {
          s.ms += now() - started;
          s.calls++;
        }
      };
    },
  };
  const engineFile = resolve(ROOT, "npm/dist/engine/index.js");
  const loaderFile = resolve(ROOT, "npm/dist/engine/loader.js");
  const exports = {};
  for (const file of [engineFile, loaderFile]) exports[pathToFileURL(file).href] = await exportNames(file);
  if (!exports[pathToFileURL(engineFile).href].includes("ingest")) {
    throw new Error(`engine timing: ${engineFile} does not export ingest; is npm/dist built?`);
  }
  register(pathToFileURL(resolve(ROOT, "bench/convex/engineHooks.mjs")).href, {
    data: {
      engineUrl: pathToFileURL(engineFile).href,
      loaderUrl: pathToFileURL(loaderFile).href,
      exports,
    },
  });
  const snapshot = () => {
    const calls = {};
    let engineMs = 0;
    let wasmMs = 0;
    for (const [name, s] of slots) {
      calls[name] = { calls: s.calls, ms: s.ms };
      if (name === "wasm") wasmMs += s.ms;
      else engineMs += s.ms;
    }
    return { engineMs, wasmMs, calls };
  };
  return {
    snapshot,
    /** What was spent since `before` (a snapshot). */
    delta(before) {
      const after = snapshot();
      const calls = {};
      for (const [name, s] of Object.entries(after.calls)) {
        const b = before.calls[name] ?? { calls: 0, ms: 0 };
        if (s.calls > b.calls) calls[name] = { calls: s.calls - b.calls, ms: s.ms - b.ms };
      }
      return { engineMs: after.engineMs - before.engineMs, wasmMs: after.wasmMs - before.wasmMs, calls };
    },
  };
}
