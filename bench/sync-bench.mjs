// The sync benchmark (not a test): the whole loop with release binaries, a real nats-server and
// dink-gateway, the example app in the Convex sandbox (convex-test behind a 127.0.0.1 HTTP site:
// LOCAL SANDBOX, NOT CONVEX), and N simulated edges (plain yjs documents speaking the $SYNC
// subjects with the npm nats client, sandbox/yjsNatsEdge.mjs) in this process.
//
// Per edge count (1, 10, 100):
//   edge -> Convex   one edge writes a row and waits for Convex's `applied` (the push reply);
//   Convex -> edges  a `tasks.create` mutation until the row is applied on every edge;
//   sustained        every edge writing back to back, and Convex mutations back to back, for a
//                    few seconds: changes per second.
// The limit: a bare NATS request/reply on the same server plus one Convex ingest (the site's
// time in the app per applyDelta request), both measured here.
//
//   node bench/sync-bench.mjs   -> bench/results/sync.{json,md}
//   Env: BENCH_SYNC_EDGES (default "1,10,100"), BENCH_SYNC_SAMPLES (default 100),
//        BENCH_SYNC_SECONDS (default 4)
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { anyApi } from "convex/server";
import { connect } from "nats";
import { startConvexSandbox } from "../sandbox/convexSandbox.mjs";
import { buildBinaries, ROOT, sleep } from "../sandbox/dinkProcesses.mjs";
import { startSyncLoop } from "../sandbox/syncLoop.mjs";
import { YjsNatsEdge } from "../sandbox/yjsNatsEdge.mjs";

const EDGE_COUNTS = (process.env.BENCH_SYNC_EDGES ?? "1,10,100").split(",").map(Number);
const SAMPLES = Number(process.env.BENCH_SYNC_SAMPLES ?? 100);
const SECONDS = Number(process.env.BENCH_SYNC_SECONDS ?? 4);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
function summary(latencies) {
  const s = [...latencies].sort((a, b) => a - b);
  return { samples: s.length, p50Ms: +percentile(s, 50).toFixed(2), p99Ms: +percentile(s, 99).toFixed(2) };
}

/** Bare NATS request/reply on the loop's server (bootstrap admin connection both ends). */
async function bareNats(loop) {
  const adminKey = readFileSync(join(loop.gateway.dataDir, "admin.key"), "utf8").trim();
  const nc = await connect({ servers: loop.gateway.natsUrl, token: adminKey });
  const sub = nc.subscribe("bench.echo");
  (async () => {
    for await (const m of sub) m.respond(m.data);
  })();
  const payload = new Uint8Array(200);
  for (let i = 0; i < 50; i++) await nc.request("bench.echo", payload, { timeout: 5_000 });
  const latencies = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await nc.request("bench.echo", payload, { timeout: 5_000 });
    latencies.push(performance.now() - t0);
  }
  await nc.close();
  return summary(latencies);
}

async function runFor(edgeCount) {
  console.log(`sync-bench: ${edgeCount} edges`);
  const t = await startConvexSandbox();
  const names = Array.from({ length: edgeCount }, (_, i) => `sim-${i + 1}`);
  const loop = await startSyncLoop({ t, appName: `bench-${edgeCount}`, edgeNames: names, drainEveryMs: 10 });
  const edges = [];
  try {
    for (const [i, name] of names.entries()) {
      edges.push(
        await new YjsNatsEdge({
          natsUrl: loop.gateway.natsUrl,
          key: loop.setup.edgeKeys[name],
          appId: loop.setup.appId,
          edgeId: name,
          clientId: 500_000 + i,
        }).start(),
      );
    }
    // Arrival times of fan-out events: docId -> edges that applied it, and when the last did.
    const arrivals = new Map();
    for (const edge of edges) {
      edge.onReceived = (docId) => {
        const a = arrivals.get(docId) ?? { count: 0, lastAt: 0 };
        a.count++;
        a.lastAt = performance.now();
        arrivals.set(docId, a);
      };
    }
    const bare = await bareNats(loop);

    // Edge -> Convex: one write, until Convex's `applied` comes back (warm up first).
    const writer = edges[0];
    const edgeToConvex = [];
    const siteBefore = { ...loop.site.stats.msByPath };
    const requestsBefore = { ...loop.site.stats.byPath };
    for (let i = 0; i < SAMPLES + 10; i++) {
      const id = randomUUID();
      writer.set(id, { id, title: `w${i}`, completed: false });
      const t0 = performance.now();
      await writer.flush();
      if (i >= 10) edgeToConvex.push(performance.now() - t0);
    }
    const drainRuns = loop.drain.runs;
    const drainMs = loop.drain.ms;
    const path = "/api/dink/applyDelta";
    const ingestRequests = loop.site.stats.byPath[path] - (requestsBefore[path] ?? 0);
    const ingestMs = (loop.site.stats.msByPath[path] - (siteBefore[path] ?? 0)) / Math.max(1, ingestRequests);
    // The sandbox's outbox drain runs in this process too: its share of the edge -> Convex window.
    const drainShare = drainMs / Math.max(1, drainRuns);

    // Convex -> every edge: one mutation, until the row is applied on all edges.
    const convexToEdges = [];
    for (let i = 0; i < Math.min(SAMPLES, 60); i++) {
      const t0 = performance.now();
      const _id = await t.mutation(anyApi.tasks.create, { title: `c${i}` });
      const row = await t.run((ctx) => ctx.db.get(_id));
      const deadline = Date.now() + 30_000;
      while ((arrivals.get(row.id)?.count ?? 0) < edgeCount && Date.now() < deadline) await sleep(1);
      const a = arrivals.get(row.id);
      if (a === undefined || a.count < edgeCount)
        throw new Error(`row ${row.id} reached ${a?.count ?? 0}/${edgeCount} edges`);
      convexToEdges.push(a.lastAt - t0);
    }

    // Sustained edge writes: every edge writing back to back for SECONDS.
    const applied0 = edges.reduce((n, e) => n + e.stats.applied, 0);
    const until = performance.now() + SECONDS * 1000;
    const startedEdges = performance.now();
    await Promise.all(
      edges.map(async (edge, k) => {
        for (let i = 0; performance.now() < until; i++) {
          const id = randomUUID();
          edge.set(id, { id, title: `s${k}-${i}`, completed: false });
          await edge.flush();
        }
      }),
    );
    const edgeWritesPerSecond =
      (edges.reduce((n, e) => n + e.stats.applied, 0) - applied0) / ((performance.now() - startedEdges) / 1000);

    // Sustained Convex writes: mutations back to back for SECONDS, then until every edge has them.
    const before = new Set(arrivals.keys());
    const startedConvex = performance.now();
    let mutations = 0;
    while (performance.now() - startedConvex < SECONDS * 1000) {
      await t.mutation(anyApi.tasks.create, { title: `bulk ${mutations++}` });
    }
    const deadline = Date.now() + 120_000;
    const fresh = () => [...arrivals].filter(([id, a]) => !before.has(id) && a.count >= edgeCount).length;
    while (fresh() < mutations && Date.now() < deadline) await sleep(20);
    const convexSeconds =
      (Math.max(...[...arrivals].filter(([id]) => !before.has(id)).map(([, a]) => a.lastAt)) - startedConvex) / 1000;
    return {
      edges: edgeCount,
      bareNatsRoundTrip: bare,
      convexIngestMsPerRequest: +ingestMs.toFixed(2),
      sandboxDrainMsPerRun: +drainShare.toFixed(2),
      sandboxDrainRunsDuringEdgeWrites: drainRuns,
      edgeToConvex: summary(edgeToConvex),
      convexToEdges: summary(convexToEdges),
      sustained: {
        edgeWritesAppliedPerSecond: Math.round(edgeWritesPerSecond),
        convexWritesPerSecond: Math.round(mutations / SECONDS),
        convexWritesOnEveryEdgePerSecond: Math.round(fresh() / convexSeconds),
        // Fan-out batches that did not follow on (dropped by a slow consumer, say), and tails
        // found missing by `hello`: each was repaired by a catch-up from the feed.
        edgeGapsCaughtUp: edges.reduce((n, e) => n + e.stats.gaps + e.stats.tailCatchups, 0),
        eventsAppliedOnEdgesPerSecond: Math.round((fresh() * edgeCount) / convexSeconds),
      },
    };
  } finally {
    for (const e of edges) await e.close();
    await loop.stop();
  }
}

console.log("sync-bench: building release binaries");
buildBinaries("release");
const runs = [];
for (const n of EDGE_COUNTS) runs.push(await runFor(n));
const result = {
  generatedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  samples: SAMPLES,
  sustainedSeconds: SECONDS,
  runs,
};
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "sync.json"), `${JSON.stringify(result, null, 2)}\n`);
const rows = runs.map(
  (r) =>
    `| ${r.edges} | ${r.edgeToConvex.p50Ms} / ${r.edgeToConvex.p99Ms} | ${r.convexToEdges.p50Ms} / ${r.convexToEdges.p99Ms} | ${r.sustained.edgeWritesAppliedPerSecond} | ${r.sustained.convexWritesOnEveryEdgePerSecond} (${r.sustained.eventsAppliedOnEdgesPerSecond} edge applies/s; ${r.sustained.edgeGapsCaughtUp} gaps caught up) | ${r.bareNatsRoundTrip.p50Ms} + ${r.convexIngestMsPerRequest} | ${r.sandboxDrainMsPerRun} |`,
);
const md = `# Sync benchmark

Generated by \`node bench/sync-bench.mjs\` on ${result.machine.cpus} cores (${result.machine.model}), Node ${result.machine.node}, ${result.generatedAt}.
Release \`dink-gateway\` with nats-server 2.15.1; the example app in the **local sandbox (convex-test, not Convex)**
behind a 127.0.0.1 HTTP site; N simulated edges (yjs documents on the \`$SYNC\` subjects, npm \`nats\` client) in the
benchmark's own Node process, which also runs the sandbox. Latencies in ms (p50 / p99).

| edges | edge write -> applied in Convex | Convex write -> applied on every edge | sustained edge writes/s (all edges) | sustained Convex writes/s reaching every edge | limit: bare NATS RTT + one Convex ingest | sandbox outbox drain, ms per run |
|---|---|---|---|---|---|---|
${rows.join("\n")}

## Where the time goes

- **Edge -> Convex**: the edge's NATS request to the gateway, the gateway's batch window (5 ms by default: it waits
  that long for other edges' deltas to share one Convex request), one \`POST /api/dink/applyDelta\` to the site, and
  the reply. The site's own time per request (convex-test running the app's mutation, with the wasm engine) is the
  "one Convex ingest" column; the bare NATS round trip is measured on the same server. What is left is the batch
  window and the gateway's HTTP client.
- **Convex -> edges**: the mutation (trigger, delta log, outbox row), then the outbox drain (the sandbox runs it on a
  10 ms interval besides the processor's self-scheduling: on a deployment the scheduler starts it), one
  \`POST /api/sync/convex-push\` to the gateway, a JetStream publish (deduplicated), the fan-out consumer's fetch, and one
  NATS publish per online edge. With many edges the fan-out is N publishes of each batch.
- Everything shares two cores with the sandbox, and one Node process runs convex-test, its HTTP site, the outbox drain
  (every 10 ms; the last column is what one run costs, in that same event loop) and all simulated edges. An edge's
  write waits for whatever that loop is doing: an ingest, a drain run, the fan-out it causes. That, not NATS or the
  gateway, is the gap between the edge -> Convex latency and its limit, and it bounds the sustained rates: convex-test
  runs each delta's mutation in JavaScript in this one process. A deployment runs these on Convex's servers.
`;
writeFileSync(join(ROOT, "bench", "results", "sync.md"), md);
console.log(md);
process.exit(0);
