#!/usr/bin/env node
// Benchmark (not a test): the Convex side of dink-convex, run in convex-test as the local sandbox
// (sandbox/convexSandbox.mjs: the example app's convex/*.ts with the dink component, importing
// dink-convex from npm/dist). Writes bench/results/convex.json and bench/results/convex.md.
//
//   1. HTTP ingest path   POST /api/dink/applyDelta, batches of 1 and 50, t.fetch and 127.0.0.1
//   2. trigger path       tasks.create / tasks.toggle (syncMutation) vs the same plain mutation
//   3. outbox throughput  pending items drained by processOutboxBatch into a 127.0.0.1 sink
//   4. bytes per row      one row after 1 / 100 / 1,000 edits from Convex, an edge, or both
//   5. writes per change  documents written per synced create / toggle, and copies of the delta
//
// Engine time vs glue time. Engine time is measured by wrapping the engine's exports in timers
// (bench/convex/engineTiming.mjs: Node module hooks hand every importer of npm/dist/engine a
// timing shim; no package source changes). Hooks make every dynamic import() a round trip to the
// hooks thread (~150 µs), and convex-test imports a function's module on every call, so hooks
// would inflate glue time. Hence two passes over the same seeded workload: this process measures
// wall time with no hooks; a child process (`--engine-pass`) runs sections 1-3 again with the
// timing shim and reports only engine time. Glue = wall (pass 1) - engine (pass 2).
//
// Env: BENCH_ROUNDS (5; at least 5), BENCH_SEED (1), BENCH_DELTAS_PER_ROUND (100),
//      BENCH_WRITES_PER_ROUND (100), BENCH_OUTBOX_ITEMS (2000), BENCH_OUTBOX_FAILURE_RATE (0.1),
//      BENCH_OUTBOX_REPEATS (3: runs without failures in pass 1; pass 2 and the failure row run
//      once, their wall time being set by backoff), BENCH_STORAGE_EDITS (1000),
//      BENCH_FILLER_ROWS ("0,2000,8000": database sizes for the ingest scaling rows).
// Needs the built package (`npm run build -w npm`).

import { RESULTS, ROOT, TMP } from "./paths.mjs";
import { assertFreshBuild } from "./freshness.mjs";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { prng } from "@dink-convex/testkit";

const cfg = {
  rounds: Math.max(5, Number(process.env.BENCH_ROUNDS ?? 5)),
  seed: Number(process.env.BENCH_SEED ?? 1),
  deltasPerRound: Number(process.env.BENCH_DELTAS_PER_ROUND ?? 100),
  writesPerRound: Number(process.env.BENCH_WRITES_PER_ROUND ?? 100),
  outboxItems: Number(process.env.BENCH_OUTBOX_ITEMS ?? 2000),
  outboxFailureRate: Number(process.env.BENCH_OUTBOX_FAILURE_RATE ?? 0.1),
  outboxRepeats: Math.max(1, Number(process.env.BENCH_OUTBOX_REPEATS ?? 3)),
  storageEdits: Number(process.env.BENCH_STORAGE_EDITS ?? 1000),
  fillerRows: (process.env.BENCH_FILLER_ROWS ?? "0,2000,8000").split(",").map(Number),
};
const checkpoints = [1, 100, 1000, 10_000].filter((n) => n <= cfg.storageEdits);
if (!checkpoints.includes(cfg.storageEdits)) checkpoints.push(cfg.storageEdits);

const argv = process.argv.slice(2);
const enginePassOut = argv.includes("--engine-pass") ? argv[argv.indexOf("--engine-pass") + 1] : undefined;
const pass = enginePassOut ? "engine" : "wall";
const startedAt = Date.now();
const log = (msg) =>
  console.log(`[convex-bench ${pass} ${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

assertFreshBuild("convex-bench");
if (!existsSync(join(ROOT, "npm", "dist", "client", "index.js"))) {
  console.error("convex-bench: npm/dist is missing; run `npm run build -w npm` first");
  process.exit(2);
}

let timing = null;
if (pass === "engine") {
  const { installEngineTiming } = await import("./convex/engineTiming.mjs");
  timing = await installEngineTiming();
}
// Imported after the hooks (engine pass) so the package loads through them.
const sections = await import("./convex/sections.mjs");
const { buildResults, renderMarkdown } = await import("./convex/report.mjs");
process.env.DINK_APP_SYNC_KEY = sections.SYNC_KEY;

/** Sections 1-3, run by both passes on the same seeded workload. */
async function timedSections() {
  const random = prng(cfg.seed);
  const ctx = { random, rounds: cfg.rounds, log, timing };
  log(`1/4 HTTP ingest path: ${cfg.rounds} rounds (+1 warm-up) x 8 configurations x ${cfg.deltasPerRound} deltas`);
  const ingest = await sections.ingestSection(ctx, { deltasPerRound: cfg.deltasPerRound, fillerSizes: cfg.fillerRows });
  log(
    `2/4 trigger path: ${cfg.rounds} rounds (+1 warm-up) x ${cfg.writesPerRound} creates and toggles, synced and plain`,
  );
  const trigger = await sections.triggerSection(ctx, { writesPerRound: cfg.writesPerRound });
  const repeats = pass === "wall" ? cfg.outboxRepeats : 1;
  log(
    `3/4 outbox: ${cfg.outboxItems} items, ${repeats} run(s) without failures, 1 with failure rate ${cfg.outboxFailureRate}`,
  );
  const outbox = [];
  for (const failureRate of [0, cfg.outboxFailureRate]) {
    for (let i = 0; i < (failureRate === 0 ? repeats : 1); i++) {
      const run = await sections.outboxRun(ctx, { items: cfg.outboxItems, failureRate });
      outbox.push(run);
      log(
        `outbox run (failure rate ${failureRate}): ${run.items} items in ${run.wallMs.toFixed(0)} ms, ${run.requests} requests, ${run.failedRequests} failed`,
      );
    }
  }
  return { ingest, trigger, outbox };
}

if (pass === "engine") {
  const result = await timedSections();
  writeFileSync(enginePassOut, JSON.stringify(result));
  log(`engine times written to ${enginePassOut}`);
  process.exit(0);
}

// --- wall pass (the parent) -----------------------------------------------------------------------
console.log("dink-convex Convex-side benchmark: LOCAL SANDBOX (convex-test in Node), NOT A CONVEX DEPLOYMENT");
const wall = await timedSections();
log("4/4 bytes stored per row");
const storage = [];
for (const writers of ["convex", "edge", "mixed"]) {
  const run = await sections.storageRun(
    { random: prng(cfg.seed + 1), rounds: cfg.rounds, log, timing: null },
    { writers, checkpoints },
  );
  storage.push(run);
  const p = run.points.at(-1);
  log(
    `storage (${writers}): after ${p.edits} edits state ${p.stateBytes} B, ${p.deltaRows} delta rows (${p.deltaRowBytes} B), ${p.outboxRows} outbox rows`,
  );
}

log("5/5 documents written per synced change");
const writes = await sections.writesRun({ random: prng(cfg.seed + 2) }, { writes: 20 });
log(
  `writes: create ${JSON.stringify(writes.create.documentsPerTable)}, toggle ${JSON.stringify(writes.toggle.documentsPerTable)}, delta copies ${writes.toggle.deltaCopies}`,
);

log("engine pass: the same sections 1-3 in a child process with the engine timing shim");
mkdirSync(TMP, { recursive: true });
const engineFile = join(TMP, "convex-engine-pass.json");
await new Promise((ok, fail) => {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--engine-pass", engineFile], {
    stdio: "inherit",
    env: process.env,
  });
  child.on("exit", (code) => (code === 0 ? ok() : fail(new Error(`engine pass exited with ${code}`))));
});
const engine = JSON.parse(readFileSync(engineFile, "utf8"));

const results = buildResults({
  cfg,
  checkpoints,
  environment: {
    node: process.version,
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    platform: `${os.platform()} ${os.arch()}`,
  },
  wall,
  engine,
  storage,
  writes,
  elapsedS: (Date.now() - startedAt) / 1000,
});
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, "convex.json"), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(RESULTS, "convex.md"), renderMarkdown(results));
log("results in bench/results/convex.md and bench/results/convex.json");
process.exit(0);
