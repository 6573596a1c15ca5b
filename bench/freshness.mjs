// Benchmarks measure npm/dist: refuse to run on a build older than its sources. (A session's
// first engine run once measured a wasm module built before a change to the encoder, and reported
// output that the sources no longer produce.)
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./paths.mjs";
/** Each build output, and the sources it must be newer than. */
const CHECKS = [
  { built: "npm/src/wasm/wasmBytes.js", sources: ["crates/dink-core/src", "crates/dink-wasm/src"] },
  { built: "npm/dist/wasm/wasmBytes.js", sources: ["npm/src"] },
];

/** Newest modification time (ms) of the files under `dir`, tests skipped. */
function newest(dir) {
  let out = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") out = Math.max(out, newest(path));
    } else if (!entry.name.endsWith(".test.ts")) out = Math.max(out, statSync(path).mtimeMs);
  }
  return out;
}

/** Exits with a message when a build output is missing or older than its sources. */
export function assertFreshBuild(tool) {
  for (const { built, sources } of CHECKS) {
    let time;
    try {
      time = statSync(join(ROOT, built)).mtimeMs;
    } catch {
      console.error(`${tool}: ${built} is missing; run \`make build\` first`);
      process.exit(2);
    }
    const stale = sources.filter((dir) => newest(join(ROOT, dir)) > time);
    if (stale.length > 0) {
      console.error(`${tool}: ${built} is older than ${stale.join(", ")}; run \`make build\` first`);
      process.exit(2);
    }
  }
}
