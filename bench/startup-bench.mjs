#!/usr/bin/env node
// Benchmark (not a test): what the engine costs to start in a fresh JavaScript realm, as Convex
// runs every query and mutation (module code evaluated again, V8's compiled code reused inside a
// warm isolate), against yjs doing the same first operation.
//
//   node bench/startup-bench.mjs          run everything, write bench/results/startup.{json,md}
//   (internal) --cold KIND BUNDLE         one cold-process sample (fresh `node` per sample)
//
// Env: STARTUP_SAMPLES (30 warm contexts per variant), STARTUP_WARMUP (5), STARTUP_COLD (9).
//
// Needs `make build` (npm/dist for `dink-convex/engine`, npm/src/wasm for the phase bundle).
//
// Each bundle is an esbuild IIFE (as Convex deploys functions: one script, no module loader),
// evaluated with `vm.Script` in a fresh `vm` context whose globals are what a Convex isolate
// offers: JS builtins, WebAssembly, TextEncoder/TextDecoder, atob/btoa, crypto, console; no
// Buffer, no process. Node 20's Uint8Array has no `fromBase64`, so the portable paths are what
// run; the `native` decode row uses the host's Buffer only to show what a native decoder costs.
//
// Bundles:
//   engine      `dink-convex/engine` (npm/dist) + one ingest: the shipped path, end to end
//   engine-js   the same with the loader's decoder forced to the JS one (the old behaviour)
//   yjs         testkit/reference.mjs (yjs) + the same ingest
//   phases      the loader's steps one by one (decode, compile, instantiate, first raw call)
//               from npm/src, with the decoder as a parameter

import { RESULTS, ROOT, TMP } from "./paths.mjs";
import { assertFreshBuild } from "./freshness.mjs";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import os from "node:os";

const args = process.argv.slice(2);
if (!args.includes("--cold")) assertFreshBuild("startup-bench");

const SAMPLES = Math.max(5, Number(process.env.STARTUP_SAMPLES ?? 30));
const WARMUP = Math.max(1, Number(process.env.STARTUP_WARMUP ?? 5));
const COLD = Math.max(3, Number(process.env.STARTUP_COLD ?? 9));

/** The globals of a Convex isolate that matter here (no Buffer, no fromBase64 in Node 20). */
function convexLikeContext(extra = {}) {
  return vm.createContext({
    TextEncoder,
    TextDecoder,
    atob,
    btoa,
    crypto: globalThis.crypto,
    console,
    ...extra,
  });
}

/** A fresh copy of the source text, as a runtime that loads module source per request has. */
const freshCopy = (buf) => buf.toString("utf8");

// --- one sample ---------------------------------------------------------------------------------

/** Evaluate a bundle in a fresh context and do one ingest: { evalMs, firstMs, totalMs }. */
function runTotal(kind, source, input) {
  const context = convexLikeContext();
  const t0 = performance.now();
  new vm.Script(source, { filename: `${kind}.js` }).runInContext(context);
  const t1 = performance.now();
  const out = context.__bench.ingest(input.state, input.update, 2);
  const t2 = performance.now();
  if (!out?.state?.length) throw new Error(`${kind}: ingest produced nothing`);
  return { evalMs: t1 - t0, firstMs: t2 - t1, totalMs: t2 - t0 };
}

/** The loader's steps one at a time, with `decoder` as the base64 decoder. */
function runPhases(decoder, source, input) {
  const extra = decoder === "native" ? { __hostDecode: (s) => new Uint8Array(Buffer.from(s, "base64")) } : {};
  const context = convexLikeContext(extra);
  const t0 = performance.now();
  new vm.Script(source, { filename: "phases.js" }).runInContext(context);
  const p = context.__phases;
  const t1 = performance.now();
  p.decode(decoder);
  const t2 = performance.now();
  p.compile();
  const t3 = performance.now();
  p.instantiate();
  const t4 = performance.now();
  p.call(input.state, input.update);
  const t5 = performance.now();
  return {
    evalMs: t1 - t0,
    decodeMs: t2 - t1,
    compileMs: t3 - t2,
    instantiateMs: t4 - t3,
    firstMs: t5 - t4,
    totalMs: t5 - t0,
  };
}

// --- cold-process child mode ----------------------------------------------------------------------

if (args[0] === "--cold") {
  const [, kind, file] = args;
  const input = JSON.parse(readFileSync(join(TMP, "startup-input.json"), "utf8"));
  const decoded = {
    state: new Uint8Array(Buffer.from(input.state, "base64")),
    update: new Uint8Array(Buffer.from(input.update, "base64")),
  };
  const source = readFileSync(file, "utf8");
  const r = kind.startsWith("phases:") ? runPhases(kind.slice(7), source, decoded) : runTotal(kind, source, decoded);
  process.stdout.write(JSON.stringify(r));
  process.exit(0);
}

// --- bundles ------------------------------------------------------------------------------------

const esbuild = await import("esbuild");
mkdirSync(TMP, { recursive: true });

const SRC = join(ROOT, "npm", "src");
const PHASES_ENTRY = `
import * as glue from ${JSON.stringify(join(SRC, "wasm", "dink_wasm.js"))};
import { WASM_BASE64, WASM_BYTE_LENGTH } from ${JSON.stringify(join(SRC, "wasm", "wasmBytes.js"))};
import { decodeBase64Portable, decodeBase64Wasm } from ${JSON.stringify(join(SRC, "engine", "base64.ts"))};
import { limitsToFloat64Array } from ${JSON.stringify(join(SRC, "engine", "limits.ts"))};
let bytes, module;
const decoders = {
  js: decodeBase64Portable,
  wasm: decodeBase64Wasm,
  // atob (Convex has it, as an op) and a copy loop
  atob: (text) => {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  },
  // the host's Buffer: what a native decoder (Uint8Array.fromBase64) would cost; not in Convex
  native: (text) => globalThis.__hostDecode(text),
};
globalThis.__phases = {
  decode(kind) {
    bytes = decoders[kind](WASM_BASE64);
    if (bytes.length !== WASM_BYTE_LENGTH) throw new Error("decoded " + bytes.length + " bytes");
  },
  compile() { module = new WebAssembly.Module(bytes); },
  instantiate() { glue.initSync({ module }); },
  call(state, update) {
    const frame = glue.ingest(state, true, update, 2, limitsToFloat64Array(undefined), null);
    if (!frame || frame.length === 0) throw new Error("no frame");
  },
};
`;

const ENGINE_ENTRY = `import { ingest, engineStats } from "dink-convex/engine";\nglobalThis.__bench = { ingest, stats: engineStats };\n`;
const YJS_ENTRY = `import { ingest } from ${JSON.stringify(join(ROOT, "testkit", "reference.mjs"))};\nglobalThis.__bench = { ingest };\n`;

/** esbuild plugin: the engine's loader gets the JS decoder, as before the wasm decoder existed. */
const forceJsDecoder = {
  name: "force-js-decoder",
  setup(build) {
    build.onResolve({ filter: /^\.\/base64\.js$/ }, (a) =>
      /[\\/]engine[\\/]loader\.[jt]s$/.test(a.importer) ? { path: "shim", namespace: "force-js" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "force-js" }, () => ({
      contents: `export { decodeBase64Portable as decodeBase64 } from ${JSON.stringify(
        join(ROOT, "npm", "dist", "engine", "base64.js"),
      )};`,
      loader: "js",
      resolveDir: ROOT,
    }));
  },
};

async function bundle(name, contents, plugins = []) {
  const file = join(TMP, `startup-${name}.js`);
  await esbuild.build({
    stdin: { contents, resolveDir: ROOT, loader: "js" },
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    outfile: file,
    logLevel: "silent",
    plugins,
  });
  const buf = readFileSync(file);
  return { name, file, buf, bytes: buf.length };
}

const bundles = {
  engine: await bundle("engine", ENGINE_ENTRY),
  "engine-js": await bundle("engine-js", ENGINE_ENTRY, [forceJsDecoder]),
  yjs: await bundle("yjs", YJS_ENTRY),
  phases: await bundle("phases", PHASES_ENTRY),
};

// --- input: a 12-field row and an update to one field -------------------------------------------

const Y = await import("yjs");
function makeInput() {
  const doc = new Y.Doc({ gc: true });
  doc.clientID = 7;
  const fields = doc.getMap("fields");
  doc.transact(() => {
    fields.set("id", "row-1");
    for (let i = 0; i < 11; i++) fields.set(`f${i}`, i % 2 ? `value ${i}` : i * 1.5);
  });
  const state = Y.encodeStateAsUpdateV2(doc);
  const before = Y.encodeStateVector(doc);
  fields.set("f3", "edited");
  const update = Y.encodeStateAsUpdateV2(doc, before);
  return { state, update };
}
const input = makeInput();
writeFileSync(
  join(TMP, "startup-input.json"),
  JSON.stringify({
    state: Buffer.from(input.state).toString("base64"),
    update: Buffer.from(input.update).toString("base64"),
  }),
);

// --- warm isolate: N fresh contexts in this process ---------------------------------------------

const load = () => os.loadavg().map((x) => Number(x.toFixed(2)));
const loadBefore = load();
const fromBase64InNode = typeof Uint8Array.fromBase64 === "function";

const TOTAL_KINDS = ["engine", "engine-js", "yjs"];
const DECODERS = ["wasm", "js", "atob", "native"];
const warm = { total: {}, phases: {} };
for (const k of TOTAL_KINDS) warm.total[k] = [];
for (const d of DECODERS) warm.phases[d] = [];

for (let s = -WARMUP; s < SAMPLES; s++) {
  // Interleave the variants and rotate their order, so drift in load hits them alike.
  const jobs = [
    ...TOTAL_KINDS.map((k) => () => ["total", k, runTotal(k, freshCopy(bundles[k].buf), input)]),
    ...DECODERS.map((d) => () => ["phases", d, runPhases(d, freshCopy(bundles.phases.buf), input)]),
  ];
  const shift = ((s % jobs.length) + jobs.length) % jobs.length;
  for (const job of [...jobs.slice(shift), ...jobs.slice(0, shift)]) {
    const [group, key, r] = job();
    if (s >= 0) warm[group][key].push(r);
  }
}
const loadAfterWarm = load();

// --- cold process: a fresh node per sample ------------------------------------------------------

const COLD_KINDS = ["engine", "engine-js", "yjs", "phases:wasm", "phases:js"];
const cold = Object.fromEntries(COLD_KINDS.map((k) => [k, []]));
const me = fileURLToPath(import.meta.url);
for (let s = 0; s < COLD; s++) {
  const order = s % 2 ? [...COLD_KINDS].reverse() : COLD_KINDS;
  for (const kind of order) {
    const file = kind.startsWith("phases:") ? bundles.phases.file : bundles[kind].file;
    const res = spawnSync(process.execPath, [me, "--cold", kind, file], { encoding: "utf8" });
    if (res.status !== 0) throw new Error(`cold ${kind} failed: ${res.stderr}`);
    cold[kind].push(JSON.parse(res.stdout));
  }
}
const loadAfter = load();

// --- report -------------------------------------------------------------------------------------

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
};
const r3 = (x) => Number(x.toFixed(3));
function stats(rows) {
  const out = {};
  for (const key of Object.keys(rows[0])) {
    const xs = rows.map((r) => r[key]);
    out[key] = { median: r3(quantile(xs, 0.5)), p90: r3(quantile(xs, 0.9)) };
  }
  return out;
}

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadavg: { before: loadBefore, afterWarm: loadAfterWarm, after: loadAfter },
  samples: { warm: SAMPLES, warmup: WARMUP, cold: COLD },
  uint8ArrayFromBase64InNode: fromBase64InNode,
  bundleBytes: Object.fromEntries(Object.values(bundles).map((b) => [b.name, b.bytes])),
  warm: {
    total: Object.fromEntries(TOTAL_KINDS.map((k) => [k, stats(warm.total[k])])),
    phases: Object.fromEntries(DECODERS.map((d) => [d, stats(warm.phases[d])])),
  },
  cold: Object.fromEntries(COLD_KINDS.map((k) => [k, stats(cold[k])])),
};
result.ratios = {
  warmEngineOverYjs: r3(result.warm.total.engine.totalMs.median / result.warm.total.yjs.totalMs.median),
  warmEngineJsOverYjs: r3(result.warm.total["engine-js"].totalMs.median / result.warm.total.yjs.totalMs.median),
  coldEngineOverYjs: r3(result.cold.engine.totalMs.median / result.cold.yjs.totalMs.median),
  coldEngineJsOverYjs: r3(result.cold["engine-js"].totalMs.median / result.cold.yjs.totalMs.median),
};

writeFileSync(join(RESULTS, "startup.json"), JSON.stringify(result, null, 2) + "\n");

const f = (s) => `${s.median.toFixed(2)} / ${s.p90.toFixed(2)}`;
const md = [];
md.push("# Start-up in a fresh realm: engine vs yjs");
md.push("");
md.push(
  `Generated by \`node bench/startup-bench.mjs\` on ${result.date} (Node ${result.node}, ${result.cpus} CPUs, ` +
    `load average ${loadBefore.join(" ")} before, ${loadAfter.join(" ")} after). Times in ms, median / p90.`,
);
md.push("");
md.push(
  `Warm isolate: ${SAMPLES} fresh \`vm\` contexts per row (after ${WARMUP} warm-ups) in one Node process, each ` +
    "evaluating an esbuild IIFE bundle and doing one ingest of a one-field update into a 12-field row. " +
    `Cold: a fresh \`node\` process per sample (${COLD} each). The contexts have no Buffer and ` +
    `\`Uint8Array.fromBase64\` is ${fromBase64InNode ? "present" : "absent (Node 20 lacks it)"}, so the ` +
    "portable decoders run; `native` uses the host's Buffer only to show what a native decoder costs.",
);
md.push("");
md.push("## Total: evaluate the bundle + first ingest");
md.push("");
md.push(
  "| bundle | bytes | warm evaluate | warm first ingest | warm total | cold evaluate | cold first ingest | cold total |",
);
md.push("|---|---:|---:|---:|---:|---:|---:|---:|");
const label = { engine: "engine (wasm decoder)", "engine-js": "engine (old JS decoder)", yjs: "yjs" };
for (const k of TOTAL_KINDS) {
  const w = result.warm.total[k];
  const c = result.cold[k];
  md.push(
    `| ${label[k]} | ${bundles[k].bytes} | ${f(w.evalMs)} | ${f(w.firstMs)} | ${f(w.totalMs)} | ` +
      `${f(c.evalMs)} | ${f(c.firstMs)} | ${f(c.totalMs)} |`,
  );
}
md.push("");
md.push(
  `Engine / yjs, medians: warm ${result.ratios.warmEngineOverYjs} (old JS decoder ${result.ratios.warmEngineJsOverYjs}), ` +
    `cold ${result.ratios.coldEngineOverYjs} (old ${result.ratios.coldEngineJsOverYjs}).`,
);
md.push("");
md.push("## Engine phases (warm isolate), by base64 decoder");
md.push("");
md.push("| decoder | evaluate | decode | compile | instantiate | first call | total |");
md.push("|---|---:|---:|---:|---:|---:|---:|");
for (const d of DECODERS) {
  const p = result.warm.phases[d];
  md.push(
    `| ${d} | ${f(p.evalMs)} | ${f(p.decodeMs)} | ${f(p.compileMs)} | ${f(p.instantiateMs)} | ${f(p.firstMs)} | ${f(p.totalMs)} |`,
  );
}
md.push("");
md.push("## Engine phases (cold process)");
md.push("");
md.push("| decoder | evaluate | decode | compile | instantiate | first call | total |");
md.push("|---|---:|---:|---:|---:|---:|---:|");
for (const d of ["wasm", "js"]) {
  const p = result.cold[`phases:${d}`];
  md.push(
    `| ${d} | ${f(p.evalMs)} | ${f(p.decodeMs)} | ${f(p.compileMs)} | ${f(p.instantiateMs)} | ${f(p.firstMs)} | ${f(p.totalMs)} |`,
  );
}
md.push("");
md.push(
  "`first call` in the phase rows is the raw wasm-bindgen call (no result decoding); `first ingest` in the " +
    "totals is the public `ingest`, which includes the loader's decode, compile and instantiate.",
);
md.push("");
writeFileSync(join(RESULTS, "startup.md"), md.join("\n"));
console.log(md.join("\n"));
