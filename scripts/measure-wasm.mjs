// Compares wasm-opt outputs: size, cold cost (compile + instantiate, in a fresh process each)
// and per-call speed of ingest/change on a typical 12-field row.
// Usage: node scripts/measure-wasm.mjs <module.wasm>...   (called by build-wasm.sh --measure)
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(import.meta.url);
const gluePath = new URL("../npm/src/wasm/dink_wasm.js", import.meta.url);

async function measureOne(file) {
  const glue = await import(gluePath.href);
  const Y = await import("yjs");
  const bytes = readFileSync(file);
  let t = performance.now();
  const module = new WebAssembly.Module(bytes);
  const compileMs = performance.now() - t;
  t = performance.now();
  glue.initSync({ module });
  const instantiateMs = performance.now() - t;

  const doc = new Y.Doc();
  doc.clientID = 1;
  const fields = doc.getMap("fields");
  for (let i = 0; i < 10; i++) fields.set(`field${i}`, `value number ${i}`);
  fields.set("count", 42);
  fields.set("done", false);
  const update = Y.encodeStateAsUpdateV2(doc);
  const noLimits = new Float64Array(0);
  const state = glue.ingest(new Uint8Array(0), false, update, 2, noLimits).subarray(1); // warm-up
  void state;
  const newJson = JSON.stringify(Object.fromEntries([...fields.entries()].map(([k, v]) => [k, v])));
  const bump = (n) => newJson.replace('"count":42', `"count":${n}`);

  const bench = (fn) => {
    for (let i = 0; i < 50; i++) fn(i); // warm up / tier up
    const n = 500;
    const start = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    return ((performance.now() - start) / n) * 1000; // µs per call
  };
  const ingestUs = bench(() => glue.ingest(new Uint8Array(0), false, update, 2, noLimits));
  const changeUs = bench((i) => glue.change(new Uint8Array(0), false, "", bump(i), 0x64696e6b, 1, noLimits));
  return { compileMs, instantiateMs, ingestUs, changeUs };
}

if (process.argv[2] === "--one") {
  console.log(JSON.stringify(await measureOne(process.argv[3])));
} else {
  const files = process.argv.slice(2);
  console.log("file                  raw-bytes  gzip-bytes  compile-ms  instantiate-ms  ingest-us  change-us");
  for (const file of files) {
    const bytes = readFileSync(file);
    // Median of 5 fresh processes (cold compile each time).
    const runs = [];
    for (let i = 0; i < 5; i++) {
      runs.push(JSON.parse(execFileSync(process.execPath, [here, "--one", file], { encoding: "utf8" })));
    }
    const median = (key) => runs.map((r) => r[key]).sort((a, b) => a - b)[2];
    const name = file.split("/").pop();
    console.log(
      `${name.padEnd(21)} ${String(bytes.length).padStart(9)}  ${String(gzipSync(bytes, { level: 9 }).length).padStart(10)}  ` +
        `${median("compileMs").toFixed(2).padStart(10)}  ${median("instantiateMs").toFixed(2).padStart(14)}  ` +
        `${median("ingestUs").toFixed(1).padStart(9)}  ${median("changeUs").toFixed(1).padStart(9)}`,
    );
  }
}
