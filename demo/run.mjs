#!/usr/bin/env node
// `make demo`: the example app's sync loop end to end, in a LOCAL SANDBOX, NOT CONVEX.
//
//   simulated edges (real Yjs docs) --POST /api/dink/applyDelta--> gateway (node:http, 127.0.0.1)
//     --> convex-example/convex/http.ts in convex-test --> sync.applyDeltaFromEdge (wasm engine)
//   tasks.create/toggle/remove (syncMutation) --> delta + outbox row in the same transaction
//   outbox drain (outboxProcessor.processOutboxBatch, on an interval and self-scheduled)
//     --POST /api/sync/convex-push--> sink (node:http, plays dinkd) --> every other edge
//
// The edges are demo/edge.mjs; convex-test stands in for a deployment (sandbox/convexSandbox.mjs;
// the gateway and the sink are in sandbox/ too, shared with the benchmark). Everything on the wire
// is real HTTP on 127.0.0.1. The sink fails a share of pushes with 503 so retries show up. At the
// end the report compares every row across Convex and every edge; the exit code is 1 when they
// differ.
//
// Environment: DEMO_SEED (default random, printed), DEMO_ROUNDS (12), DEMO_EDGES (3),
// DEMO_FAILURE_RATE (0.15), DEMO_DEADLINE_MS (50000).

import { anyApi } from "convex/server";
import * as Y from "yjs";
import { prng } from "@dink-convex/testkit";
import { startConvexSandbox } from "../sandbox/convexSandbox.mjs";
import { startGateway } from "../sandbox/gateway.mjs";
import { startSink } from "../sandbox/sink.mjs";
import { DemoEdge } from "./edge.mjs";

const seed = Number(process.env.DEMO_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.DEMO_ROUNDS ?? 12);
const EDGES = Number(process.env.DEMO_EDGES ?? 3);
const FAILURE_RATE = Number(process.env.DEMO_FAILURE_RATE ?? 0.15);
const DEADLINE_MS = Number(process.env.DEMO_DEADLINE_MS ?? 50_000);
const SYNC_KEY = "sandbox-app-sync-key";
const COLLECTION = "tasks";
const startedAt = Date.now();
const deadline = startedAt + DEADLINE_MS;

// A seeded generator (mulberry32), so a run can be replayed with DEMO_SEED.
const random = prng(seed);
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const say = (msg) => console.log(`[sandbox ${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

console.log("dink-convex demo: LOCAL SANDBOX, NOT CONVEX (convex-test runs the example app's functions)");
console.log(`seed ${seed}, ${EDGES} edges, ${ROUNDS} rounds, push failure rate ${FAILURE_RATE}`);

// --- start everything ----------------------------------------------------------------------------
const edges = [];
const sink = await startSink({ syncKey: SYNC_KEY, edges, failureRate: FAILURE_RATE, random });
process.env.DINK_HTTP_URL = sink.url;
process.env.DINK_APP_SYNC_KEY = SYNC_KEY;
let t;
try {
  t = await startConvexSandbox();
} catch (e) {
  console.error(`sandbox: cannot start: ${e?.stack ?? e}`);
  process.exit(2);
}
const gateway = await startGateway(t);
for (let i = 0; i < EDGES; i++) {
  edges.push(
    new DemoEdge({
      id: `edge-${i + 1}`,
      clientId: 1000 + i,
      gatewayUrl: gateway.url,
      syncKey: SYNC_KEY,
      collection: COLLECTION,
    }),
  );
}
say(`convex-test app + dink component ready; gateway ${gateway.url}, push sink (dinkd stand-in) ${sink.url}`);

// The outbox drain on an interval, as the cron would; the processor also schedules itself.
const drain = { runs: 0, errors: 0, lastError: "" };
let draining = false;
const drainTimer = setInterval(async () => {
  if (draining) return;
  draining = true;
  try {
    await t.action(anyApi.outboxProcessor.processOutboxBatch, {});
    drain.runs++;
  } catch (e) {
    drain.errors++;
    if (drain.lastError !== String(e?.message ?? e)) {
      drain.lastError = String(e?.message ?? e);
      say(`outbox drain failed: ${drain.lastError}`);
    }
  } finally {
    draining = false;
  }
}, 200);

// --- the workload --------------------------------------------------------------------------------
const convexOps = { create: 0, toggle: 0, remove: 0 };
async function convexStep() {
  const tasks = await t.query(anyApi.tasks.list, {});
  const r = random();
  if (tasks.length === 0 || r < 0.45) {
    await t.mutation(anyApi.tasks.create, { title: `convex task ${++convexOps.create}` });
  } else if (r < 0.85) {
    await t.mutation(anyApi.tasks.toggle, { id: pick(tasks)._id });
    convexOps.toggle++;
  } else {
    await t.mutation(anyApi.tasks.remove, { id: pick(tasks)._id });
    convexOps.remove++;
  }
}

function edgeStep(edge) {
  const live = [...edge.rows()].filter(([, row]) => !row.deleted && row.fields.id !== undefined).map(([id]) => id);
  const r = random();
  if (live.length === 0 || r < 0.3) edge.create(`${edge.edgeId} task ${Math.floor(random() * 1000)}`);
  else if (r < 0.6) edge.set(pick(live), { completed: random() < 0.5 });
  else if (r < 0.9) edge.set(pick(live), { title: `${edge.edgeId} renamed ${Math.floor(random() * 1000)}` });
  else edge.remove(pick(live), Date.now());
}

async function flushAll() {
  for (const edge of edges) {
    try {
      await edge.flush();
    } catch (e) {
      say(`${edge.edgeId}: ${e.message}`);
    }
  }
}

for (let round = 1; round <= ROUNDS; round++) {
  for (const edge of edges) {
    // An offline edge keeps editing; what it queued goes out when it reconnects.
    if (random() < 0.2) edge.setOnline(!edge.online);
    for (let k = 0; k < 2; k++) edgeStep(edge);
  }
  await convexStep();
  await flushAll();
  const states = edges.map((e) => `${e.edgeId}${e.online ? "" : " (offline)"}`).join(", ");
  const o = await outboxCounts();
  say(
    `round ${String(round).padStart(2)}: ${(await t.query(anyApi.tasks.list, {})).length} rows in Convex; outbox ${o.sent}/${o.total} sent; pushes delivered ${sink.stats.delivered}, failed ${sink.stats.failed}; edges ${states}`,
  );
  await sleep(100);
}

// Two edges edit different fields of one row while both are offline; both edits must survive.
const [a, b] = edges;
a.setOnline(true);
b.setOnline(true);
const shared = a.create("edited offline by two edges");
await a.flush();
const earlyProblems = [];
if (!(await waitFor(() => b.docs.has(shared), 10_000))) {
  earlyProblems.push(
    `a row created on ${a.edgeId} did not reach ${b.edgeId} through the outbox and the sink within 10 s`,
  );
}
a.setOnline(false);
b.setOnline(false);
a.set(shared, { title: "title from edge-1 (offline)" });
b.set(shared, { completed: true });
a.setOnline(true);
b.setOnline(true);
await flushAll();
say("two offline edges edited different fields of one row and reconnected");

// Idempotency, and deltas Convex must refuse, each writing nothing.
await showIdempotency(a);
const rejectedIds = await showRejections(a);

// --- settle: everyone online, queues empty, outbox drained ----------------------------------------
for (const edge of edges) edge.setOnline(true);
let outbox;
for (;;) {
  await flushAll();
  outbox = await outboxCounts();
  const queued = edges.reduce((n, e) => n + e.outgoing.length, 0);
  if (queued === 0 && outbox.pending === 0 && outbox.sending === 0) break;
  if (Date.now() > deadline) {
    say(`deadline reached with ${queued} edge deltas queued and outbox ${JSON.stringify(outbox)}`);
    break;
  }
  await sleep(250);
}
clearInterval(drainTimer);
while (draining) await sleep(20);
await sleep(100);

// --- report --------------------------------------------------------------------------------------
const convexRows = new Map((await t.query(anyApi.tasks.list, {})).map((row) => [row.id, row]));
const problems = [...earlyProblems];
for (const edge of edges) {
  const rows = edge.rows();
  for (const [id, row] of convexRows) {
    const mine = rows.get(id);
    if (!mine || mine.deleted) problems.push(`${edge.edgeId} lacks row ${id} ("${row.title}")`);
    else if (mine.fields.title !== row.title || mine.fields.completed !== row.completed) {
      problems.push(
        `${edge.edgeId} has ${id} as ${JSON.stringify(mine.fields)}, Convex has ${JSON.stringify({ title: row.title, completed: row.completed })}`,
      );
    }
  }
  for (const [id, mine] of rows) {
    if (!mine.deleted && mine.fields.id !== undefined && !convexRows.has(id))
      problems.push(`${edge.edgeId} has row ${id} that Convex does not`);
  }
}
const sharedRow = convexRows.get(shared);
if (!sharedRow || sharedRow.title !== "title from edge-1 (offline)" || sharedRow.completed !== true) {
  problems.push(`the row edited offline by two edges lost an edit: ${JSON.stringify(sharedRow ?? null)}`);
}
for (const id of rejectedIds) if (convexRows.has(id)) problems.push(`rejected delta for ${id} reached the tasks table`);
if (outbox.dead > 0) problems.push(`${outbox.dead} outbox items are dead letters`);

const sum = (f) => edges.reduce((n, e) => n + f(e), 0);
const rejected = {};
for (const e of edges)
  for (const [code, n] of Object.entries(e.stats.rejected)) rejected[code] = (rejected[code] ?? 0) + n;
const deletedEverywhere = new Set();
for (const e of edges) for (const [id, row] of e.rows()) if (row.deleted) deletedEverywhere.add(id);

console.log("\n=== report (local sandbox, not Convex) ===");
console.log(`rows in Convex           ${convexRows.size} live, ${deletedEverywhere.size} deleted (tombstones)`);
for (const e of edges) {
  const live = [...e.rows().values()].filter((r) => !r.deleted && r.fields.id !== undefined).length;
  console.log(`rows on ${e.edgeId.padEnd(16)} ${live} live; received ${e.stats.received} pushes`);
}
console.log(
  `convex mutations         ${convexOps.create} create, ${convexOps.toggle} toggle, ${convexOps.remove} remove`,
);
console.log(
  `edge deltas              ${sum((e) => e.stats.sent)} sent: ${sum((e) => e.stats.applied)} applied, ${sum((e) => e.stats.duplicate)} duplicate, ${sum((e) => e.stats.noop)} noop, ${Object.values(rejected).reduce((x, y) => x + y, 0)} rejected ${JSON.stringify(rejected)}, ${sum((e) => e.stats.resent)} re-sent as diffs`,
);
console.log(
  `outbox                   ${outbox.total} items: ${outbox.sent} sent, ${outbox.dead} dead, ${outbox.retried} needed a retry (${outbox.attempts} attempts in all)`,
);
console.log(
  `push sink (dinkd)        ${sink.stats.requests} requests: ${sink.stats.failed} failed on purpose (503); ${sink.stats.delivered} events delivered, ${sink.stats.duplicates} redelivered duplicates dropped, ${sink.stats.fanout} fan-out messages`,
);
console.log(
  `gateway                  ${gateway.requests} HTTP requests; outbox drain ran ${drain.runs} times from the interval (${drain.errors} errors)`,
);
if (problems.length === 0) {
  console.log(
    `CONVERGED: Convex and all ${edges.length} edges hold the same ${convexRows.size} rows (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`,
  );
} else {
  console.log(`NOT CONVERGED (${problems.length} problems):`);
  for (const p of problems.slice(0, 20)) console.log(`  - ${p}`);
}
await gateway.close();
await sink.close();
process.exit(problems.length === 0 ? 0 : 1);

// --- helpers -------------------------------------------------------------------------------------
async function outboxCounts() {
  const items = await t.run((ctx) => ctx.db.query("sync_outbox").collect());
  const c = { total: items.length, pending: 0, sending: 0, sent: 0, dead: 0, retried: 0, attempts: 0 };
  for (const item of items) {
    c[item.status]++;
    c.attempts += item.attempts;
    if (item.attempts > 1) c.retried++;
  }
  return c;
}

async function waitFor(condition, ms) {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) return false;
    await flushAll();
    await sleep(50);
  }
  return true;
}

/** Re-sends an applied delta: same op id -> duplicate; same bytes, new op id -> noop. */
async function showIdempotency(edge) {
  const last = edge.lastApplied;
  if (!last) return;
  const results = await edge.post([last, { ...last, opId: `${last.opId}:again` }]);
  for (const r of results) {
    edge.stats[r.status] = (edge.stats[r.status] ?? 0) + 1;
    say(`edge delta ${r.op_id} sent again: ${r.status}`);
  }
}

/** Sends deltas Convex must refuse and returns the ids they named (none may appear in Convex). */
async function showRejections(edge) {
  const bad = new Y.Doc();
  const badId = `rejected-${seed}`;
  bad.getMap("fields").set("id", badId);
  bad.getMap("fields").set("title", "completed is not a boolean");
  bad.getMap("fields").set("completed", "yes");
  const validationError = Y.encodeStateAsUpdateV2(bad);
  const good = new Y.Doc();
  const otherId = `unknown-collection-${seed}`;
  good.getMap("fields").set("id", otherId);
  good.getMap("fields").set("title", "notes is not a synced table");
  const cases = [
    { ...edge.delta(badId, validationError), opId: `${edge.edgeId}:bad-validation` },
    { ...edge.delta(otherId, Y.encodeStateAsUpdateV2(good), 2, "notes"), opId: `${edge.edgeId}:bad-collection` },
    { ...edge.delta(`garbage-${seed}`, new Uint8Array([1, 2, 3, 4, 5])), opId: `${edge.edgeId}:bad-bytes` },
  ];
  const results = await edge.post(cases);
  for (const r of results) {
    if (r.status === "rejected") edge.stats.rejected[r.error.code] = (edge.stats.rejected[r.error.code] ?? 0) + 1;
    else edge.stats[r.status]++;
    say(
      `edge delta ${r.op_id}: ${r.status}${r.error ? ` ${r.error.code}${r.error.field ? ` (field ${r.error.field})` : ""}: ${r.error.message}` : ""}`,
    );
  }
  return cases.map((c) => c.docId);
}
