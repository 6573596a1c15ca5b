#!/usr/bin/env node
// `make demo`: the whole sync loop on one machine. Everything is a real process on 127.0.0.1
// except Convex itself: the example app runs in convex-test (LOCAL SANDBOX, NOT CONVEX; no
// Convex backend runs offline) behind a real HTTP site.
//
//   dink-edge processes (redb stores) --$SYNC.<app>.<edge>.push--> dink-gateway (+ nats-server 2.15.1)
//     --POST /api/dink/applyDelta--> the app's convex/http.ts in the sandbox
//   tasks.create/toggle/remove (syncMutation) --> outbox --POST /api/sync/convex-push--> dink-gateway
//     --JetStream DINK_PUSH_<app> --> $SYNC.<app>.<edge>.events--> every other edge
//
// The script runs phases: edits online, an edge offline while everyone edits, a write Convex
// refuses (reported to the edge and reverted), an edge kicked and rejoining with a new key, the
// gateway (and nats-server) killed mid-batch and restarted, and an edge offline past the
// retention window (catching up from snapshots). It ends with a report and exits 1 if Convex and
// the edges differ.
//
// Environment: DEMO_SEED (default random, printed), DEMO_EDGES (3), DEMO_ROUNDS (6 per phase).

import { randomUUID } from "node:crypto";
import { anyApi } from "convex/server";
import { prng } from "@dink-convex/testkit";
import { startConvexSandbox } from "../sandbox/convexSandbox.mjs";
import { buildBinaries, sleep } from "../sandbox/dinkProcesses.mjs";
import { startSyncLoop } from "../sandbox/syncLoop.mjs";
import { purgeDeltaLog } from "../npm/dist/client/sync/retention.js";

const seed = Number(process.env.DEMO_SEED ?? Math.floor(Math.random() * 2 ** 31));
const EDGES = Number(process.env.DEMO_EDGES ?? 3);
const ROUNDS = Number(process.env.DEMO_ROUNDS ?? 6);
const COLLECTION = "tasks";
const startedAt = Date.now();
const random = prng(seed);
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const say = (msg) => console.log(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
const phase = (title) => console.log(`\n--- ${title} ---`);

console.log("dink-convex demo: real nats-server, dink-gateway and dink-edge processes;");
console.log("the app runs in a LOCAL SANDBOX, NOT CONVEX (convex-test behind a 127.0.0.1 HTTP site)");
console.log(`seed ${seed}, ${EDGES} edges, ${ROUNDS} rounds per phase`);

say("building dink-gateway and dink-edge (cargo, debug)");
buildBinaries("debug");
const t = await startConvexSandbox();
const names = Array.from({ length: EDGES }, (_, i) => `edge-${i + 1}`);
const loop = await startSyncLoop({ t, appName: "demo-tasks", edgeNames: names, log: say });
for (const name of names) await loop.startEdge(name);
say(`nats ${loop.gateway.natsUrl}, gateway ${loop.gateway.httpUrl}, sandbox site ${loop.site.url}`);
say(`status page: ${loop.gateway.httpUrl}/status`);

const rejectedByCallback = [];
const counted = new Set();
function collectEvents() {
  for (const [name, edge] of loop.edges) {
    for (const e of edge.events) {
      if (counted.has(e)) continue;
      counted.add(e);
      if (e.event === "rejected") {
        rejectedByCallback.push({ edge: name, ...e });
        say(`${name}: onSyncRejected ${e.collection}/${e.doc_id} op ${e.op_id}: ${e.error.code} ${e.error.message}`);
      }
    }
  }
}

// --- the workload ----------------------------------------------------------------------------
const convexOps = { create: 0, toggle: 0, remove: 0 };
async function convexStep() {
  const tasks = await t.query(anyApi.tasks.list, {});
  const r = random();
  if (tasks.length < 3 || r < 0.5) {
    await t.mutation(anyApi.tasks.create, { title: `convex task ${++convexOps.create}` });
  } else if (r < 0.85) {
    await t.mutation(anyApi.tasks.toggle, { id: pick(tasks)._id });
    convexOps.toggle++;
  } else {
    await t.mutation(anyApi.tasks.remove, { id: pick(tasks)._id });
    convexOps.remove++;
  }
}

const edgeOps = { put: 0, update: 0, delete: 0 };
async function edgeStep(name) {
  const edge = loop.edges.get(name);
  const live = (await edge.rows(COLLECTION)).filter((r) => !r.deleted).map((r) => r.doc_id);
  const r = random();
  let command;
  if (live.length === 0 || r < 0.4) {
    command = {
      cmd: "put",
      doc_id: randomUUID(),
      fields: { title: `${name} task ${Math.floor(random() * 1000)}`, completed: false },
    };
    edgeOps.put++;
  } else if (r < 0.9) {
    const fields =
      random() < 0.5 ? { completed: random() < 0.5 } : { title: `${name} renamed ${Math.floor(random() * 1000)}` };
    command = { cmd: "put", doc_id: pick(live), fields };
    edgeOps.update++;
  } else {
    command = { cmd: "delete", doc_id: pick(live) };
    edgeOps.delete++;
  }
  const reply = await edge.cmd({ ...command, collection: COLLECTION });
  if (!reply.ok) say(`${name}: ${command.cmd} failed: ${JSON.stringify(reply.error)}`);
}

async function rounds(label, edgesToUse) {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of edgesToUse) await edgeStep(name);
    await convexStep();
    await sleep(50);
  }
  collectEvents();
  say(`${label}: ${(await t.query(anyApi.tasks.list, {})).length} rows in Convex`);
}

async function settle(label) {
  const diffs = await loop.settle(90_000);
  collectEvents();
  say(`${label}: ${diffs.length === 0 ? "converged" : `${diffs.length} differences`}`);
  return diffs;
}

// --- phases ----------------------------------------------------------------------------------
phase("1. everyone online");
await rounds("online edits", names);
await settle("after phase 1");

phase(`2. ${names[1]} offline while everyone edits`);
await loop.edges.get(names[1]).cmd({ cmd: "offline" });
await rounds("edits with one edge offline", names);
await loop.edges.get(names[1]).cmd({ cmd: "online" });
say(`${names[1]} back online`);
await settle("after phase 2");

phase("3. a write Convex refuses");
const refused = await loop.edges.get(names[0]).cmd({
  cmd: "put",
  collection: COLLECTION,
  doc_id: `refused-${seed}`,
  fields: { title: "completed is not a boolean", completed: "yes" },
});
say(`${names[0]} wrote ${refused.op_id} locally; Convex will refuse it`);
await loop.edges.get(names[0]).waitEvent("the rejection", (e) => e.event === "rejected", 30_000);
await settle("after phase 3");

phase(`4. ${names[EDGES - 1]} kicked; rejoins with a new key`);
const kicked = names[EDGES - 1];
await fetch(`${loop.gateway.httpUrl}/api/edges/${kicked}/kick`, {
  method: "POST",
  headers: { authorization: `Bearer ${loop.setup.syncKey}`, "content-type": "application/json" },
  body: JSON.stringify({ reason: "demo: rotate its key" }),
});
const code = await loop.edges.get(kicked).exited;
say(`${kicked} was kicked and exited (${code})`);
await rounds("edits while it is away", names.slice(0, -1));
await loop.startEdge(kicked, { key: await loop.newEdgeKey(kicked) });
say(`${kicked} rejoined with a new key and its store`);
await settle("after phase 4");

phase("5. the gateway and nats-server killed mid-batch, then restarted");
loop.site.faults.hang = true;
for (const name of names) await edgeStep(name);
await sleep(200);
await loop.restartGateway({ kill: true });
loop.site.clearFaults();
say("gateway restarted on the same ports and JetStream store");
await rounds("edits after the restart", names);
await settle("after phase 5");

phase(`6. ${names[0]} offline past the retention window`);
await loop.edges.get(names[0]).cmd({ cmd: "offline" });
await rounds("edits while it is away", names.slice(1));
await loop.drained(); // the outbox has pushed everything (the offline edge is not waited for)
const purged = await t.run((ctx) => purgeDeltaLog(ctx.db, Date.now() + 1, 100_000));
say(`retention window elapsed: the purge deleted ${purged.purged} logged deltas`);
await loop.edges.get(names[0]).cmd({ cmd: "online" });
const diffs = await settle("after phase 6");

// --- report ----------------------------------------------------------------------------------
const convex = await loop.convexRows();
const totals = { applied: 0, duplicate: 0, noop: 0, rejected: 0, resent: 0, events_received: 0, gaps: 0, catchups: 0 };
console.log("\n=== report (gateway, NATS and edges real; Convex = local sandbox) ===");
console.log(`rows in Convex            ${convex.size}`);
for (const name of names) {
  const status = await loop.edges.get(name).cmd({ cmd: "status" });
  const live = (await loop.edgeRows(name)).size;
  for (const k of Object.keys(totals)) totals[k] += status.stats?.[k] ?? 0;
  console.log(`rows on ${name.padEnd(17)} ${live}; pending ${status.pending}; ${JSON.stringify(status.stats)}`);
}
console.log(
  `convex mutations          ${convexOps.create} create, ${convexOps.toggle} toggle, ${convexOps.remove} remove`,
);
console.log(`edge writes               ${edgeOps.put} create, ${edgeOps.update} update, ${edgeOps.delete} delete`);
console.log(
  `edge deltas               ${totals.applied} applied, ${totals.duplicate} duplicate, ${totals.noop} noop, ${totals.rejected} rejected, ${totals.resent} re-sent as diffs`,
);
console.log(
  `pushes delivered to edges ${totals.events_received}; gaps detected ${totals.gaps}; catch-ups ${totals.catchups}`,
);
console.log(`rejections (callback)     ${rejectedByCallback.length}`);
console.log(
  `sandbox site              ${loop.site.stats.requests} requests, ${loop.site.stats.faulted} faulted on purpose`,
);
const ok = diffs.length === 0 && rejectedByCallback.length > 0 && !convex.has(`refused-${seed}`);
if (ok) {
  console.log(
    `CONVERGED: Convex and all ${EDGES} edges hold the same ${convex.size} rows (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`,
  );
} else {
  console.log(`NOT CONVERGED (${diffs.length} differences):`);
  for (const d of diffs.slice(0, 20)) console.log(`  - ${d}`);
  if (rejectedByCallback.length === 0) console.log("  - the refused write was not reported to the edge");
}
await loop.stop();
process.exit(ok ? 0 : 1);
