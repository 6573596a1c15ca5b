// The gateway benchmark (not a test): edge RPC through dink-gateway (HTTP POST /api/edge/call ->
// NATS -> dink-edge -> back) against a direct NATS request to the same edge subject (the limit),
// at 1 and 32 concurrent callers, and auth-callout connects per second. Release binaries, a real
// nats-server 2.15.1 started by `dink-gateway dev`, everything on 127.0.0.1. The same Node
// process is the client of both paths, so the difference is the gateway's HTTP hop and its work.
//
//   node bench/gateway-bench.mjs       -> bench/results/gateway.{json,md}
//   Env: BENCH_GW_CALLS (per concurrency level, default 2000), BENCH_GW_CONNECTS (default 200)
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { connect, JSONCodec } from "nats";
import { buildBinaries, devSetup, ROOT, startEdge, startGateway } from "../sandbox/dinkProcesses.mjs";

const CALLS = Number(process.env.BENCH_GW_CALLS ?? 2000);
const CONNECTS = Number(process.env.BENCH_GW_CONNECTS ?? 200);
const codec = JSONCodec();

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `once` CALLS times with `concurrency` callers; latency percentiles and throughput. */
async function measure(concurrency, once) {
  for (let i = 0; i < 50; i++) await once(); // warm-up
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < CALLS) {
        next += 1;
        const t0 = performance.now();
        await once();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    calls: latencies.length,
    p50Ms: +percentile(latencies, 50).toFixed(3),
    p99Ms: +percentile(latencies, 99).toFixed(3),
    callsPerSecond: Math.round(latencies.length / seconds),
  };
}

console.log("gateway-bench: building release binaries");
buildBinaries("release");
const gateway = await startGateway();
const edges = [];
try {
  const setup = await devSetup(gateway.natsUrl, "bench", ["bench-edge"]);
  const edgeKey = setup.edgeKeys["bench-edge"];
  edges.push(await startEdge(gateway.natsUrl, edgeKey));
  const adminKey = (await import("node:fs")).readFileSync(join(gateway.dataDir, "admin.key"), "utf8").trim();

  const payload = { text: "ping", n: 42 };
  const viaGateway = async () => {
    const res = await fetch(`${gateway.httpUrl}/api/edge/call`, {
      method: "POST",
      headers: { Authorization: `Bearer ${setup.syncKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ edge_id: "bench-edge", service_name: "Echo", method_name: "Echo", payload }),
    });
    const body = await res.json();
    if (!body.success || !body.data.success) throw new Error(`call failed: ${JSON.stringify(body)}`);
  };
  const nc = await connect({ servers: gateway.natsUrl, token: adminKey });
  const subject = `edge.${setup.appId}.bench-edge.services.Echo.Echo`;
  const direct = async () => {
    const reply = await nc.request(subject, codec.encode({ metadata: {}, payload }), { timeout: 5_000 });
    const body = codec.decode(reply.data);
    if (!body.success) throw new Error(`direct call failed: ${JSON.stringify(body)}`);
  };

  const rpc = [];
  for (const concurrency of [1, 32]) {
    console.log(`gateway-bench: RPC at ${concurrency} concurrent caller(s), ${CALLS} calls each path`);
    rpc.push({ path: "gateway (HTTP -> NATS -> edge)", ...(await measure(concurrency, viaGateway)) });
    rpc.push({ path: "direct NATS request (the limit)", ...(await measure(concurrency, direct)) });
  }
  await nc.close();

  console.log(`gateway-bench: ${CONNECTS} auth-callout connects`);
  const keyId = `k${createHash("sha256").update(edgeKey).digest("hex").slice(0, 24)}`;
  const c0 = performance.now();
  for (let i = 0; i < CONNECTS; i++) {
    const conn = await connect({
      servers: gateway.natsUrl,
      token: edgeKey,
      inboxPrefix: `_INBOX_${keyId}`,
      reconnect: false,
    });
    await conn.close();
  }
  const connectSeconds = (performance.now() - c0) / 1000;
  const connects = {
    connects: CONNECTS,
    perSecond: Math.round(CONNECTS / connectSeconds),
    meanMs: +((connectSeconds * 1000) / CONNECTS).toFixed(2),
  };

  const results = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    notes:
      "release binaries; nats-server 2.15.1; one dink-edge echoing its payload; client and servers share the machine",
    rpc,
    authCallout: connects,
  };
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "gateway.json"), `${JSON.stringify(results, null, 2)}\n`);
  const rows = rpc.map((r) => `| ${r.path} | ${r.concurrency} | ${r.p50Ms} | ${r.p99Ms} | ${r.callsPerSecond} |`);
  writeFileSync(
    join(dir, "gateway.md"),
    [
      "# Gateway benchmark",
      "",
      `Generated ${results.generatedAt} on ${results.machine.cpus} cores, Node ${results.machine.node}. ${results.notes}.`,
      "",
      "Edge RPC round trip: through the gateway (`POST /api/edge/call` -> NATS -> `dink-edge` -> back)",
      "against a direct NATS request to the same edge subject, which is the limit.",
      "",
      "| path | concurrent callers | p50 ms | p99 ms | calls/s |",
      "|---|---|---|---|---|",
      ...rows,
      "",
      `Auth callout: ${connects.connects} sequential connects with an edge key (CONNECT -> callout -> user JWT -> connected, then close):`,
      `${connects.perSecond} connects/s, ${connects.meanMs} ms each.`,
      "",
    ].join("\n"),
  );
  console.log(`gateway-bench: results in bench/results/gateway.md\n`);
  console.log(rows.join("\n"));
  console.log(`auth callout: ${connects.perSecond} connects/s`);
} finally {
  for (const edge of edges) await edge.stop();
  await gateway.stop();
}
