// Node module hooks (run on the loader thread, registered by engineTiming.mjs): whoever imports
// the built engine (`npm/dist/engine/index.js`) or its wasm loader (`npm/dist/engine/loader.js`)
// gets a generated shim instead, which re-exports the real module with its engine calls wrapped
// in timers. The package source is untouched; only the benchmark process sees the shims.

/** @type {{ engineUrl: string, loaderUrl: string, exports: Record<string, string[]> } | undefined} */
let cfg;
const SHIM = "dink-bench-shim";

export function initialize(data) {
  cfg = data;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  const parent = context.parentURL ?? "";
  // The shim itself imports the real module: let that one through.
  if (parent.includes(SHIM)) return result;
  if (result.url === cfg.engineUrl || result.url === cfg.loaderUrl) {
    return { ...result, url: `${result.url}?${SHIM}`, shortCircuit: true };
  }
  return result;
}

/** Exports that are not engine calls: re-exported as they are. */
const UNTIMED = new Set(["EngineError", "isEngineError", "engineStats", "DEFAULT_LIMITS", "SERVER_CLIENT_ID"]);

export async function load(url, context, nextLoad) {
  if (!url.endsWith(`?${SHIM}`)) return nextLoad(url, context);
  const real = url.slice(0, -(SHIM.length + 1));
  // Export names come from the main thread (esbuild's metafile): importing the module here, on
  // the loader thread, deadlocks the loader.
  const names = cfg.exports[real] ?? [];
  const isLoader = real === cfg.loaderUrl;
  const lines = [`import * as real from ${JSON.stringify(real)};`, `const T = globalThis.__dinkBenchEngineTiming;`];
  for (const name of names) {
    const timed = isLoader ? name === "callEngine" : !UNTIMED.has(name);
    if (timed) {
      const bucket = isLoader ? "wasm" : name;
      lines.push(`export const ${name} = T.wrap(${JSON.stringify(bucket)}, real.${name});`);
    } else {
      lines.push(`export const ${name} = real.${name};`);
    }
  }
  return { format: "module", source: lines.join("\n"), shortCircuit: true };
}
