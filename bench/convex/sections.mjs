// The four measurements of bench/convex-bench.mjs. Each takes a context
//   { random, rounds, log, timing }   (timing: engineTiming.mjs's meter, or null)
// and returns plain data. Every timed window is wall-clock time in this process; when `timing` is
// set the same window also records the engine time (see convex-bench.mjs for why the two come
// from two processes).

import { anyApi } from "convex/server";
import { getDocumentSize } from "convex/values";
import { startConvexSandbox } from "../../sandbox/convexSandbox.mjs";
import { startConvexSite } from "../../sandbox/convexSite.mjs";
import { startSink } from "../../sandbox/sink.mjs";
import { BenchEdge, postDeltas } from "./edge.mjs";
import { startPlainSandbox } from "./plainSandbox.mjs";
import { holdScheduledFunctions } from "./timers.mjs";

export const SYNC_KEY = "bench-app-sync-key";
const now = performance.now.bind(performance);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Runs `work` as one timed window: wall ms, and the engine's share when metered. */
async function window(ctx, work) {
  const before = ctx.timing?.snapshot();
  const started = now();
  const result = await work();
  const wallMs = now() - started;
  const engine = ctx.timing ? ctx.timing.delta(before) : null;
  return { wallMs, engine, result };
}

/** The scheduled work convex-test still has queued or running (outbox drains), untimed. */
async function settle(t) {
  for (let i = 0; i < 50; i++) {
    try {
      await t.finishAllScheduledFunctions(() => {});
      return;
    } catch (e) {
      if (!String(e?.message).includes("too many iterations")) throw e;
    }
  }
}

// --- 1. HTTP ingest path --------------------------------------------------------------------------

/** Documents in the app's namespace: convex-test's index queries scan all of them. */
export async function documentCount(t) {
  return await t.run(async (c) => {
    let n = 0;
    for (const table of [
      "tasks",
      "sync_documents",
      "sync_deltas",
      "sync_feed_shards",
      "sync_outbox",
      "sync_sessions",
      "sync_config",
    ]) {
      n += (await c.db.query(table).collect()).length;
    }
    return n;
  });
}

/** Unrelated app rows, so a window runs against a database of a given size. */
async function addFiller(t, count) {
  for (let done = 0; done < count; done += 1000) {
    await t.run(async (c) => {
      for (let i = done; i < Math.min(count, done + 1000); i++) {
        await c.db.insert("tasks", { id: `filler-${i}`, title: `filler row ${i}`, completed: false, timestamp: 0 });
      }
    });
  }
}

/**
 * One timed window of `deltas` edge deltas on a fresh deployment: inserts create new rows, updates
 * edit one field of rows the same edge created before the window (each row once per window).
 * `filler` unrelated rows are added first (database size, see documentCount).
 */
async function ingestWindow(ctx, { kind, batch, via, deltas, filler = 0 }) {
  const t = await startConvexSandbox();
  const gateway = via === "gateway" ? await startConvexSite(t) : null;
  const send = gateway ? (path, init) => fetch(`${gateway.url}${path}`, init) : (path, init) => t.fetch(path, init);
  try {
    await addFiller(t, filler);
    const edge = new BenchEdge({ id: "bench-edge-ingest", random: ctx.random });
    const pool = [];
    if (kind === "update") {
      // The rows to edit, created untimed through the same path, 50 per request.
      for (let i = 0; i < deltas; i++) pool.push(edge.create());
      const created = edge.take();
      for (let i = 0; i < created.length; i += 50) {
        const part = created.slice(i, i + 50);
        (await postDeltas(send, SYNC_KEY, edge.body(part), part.length))();
      }
    }
    const bodies = [];
    for (let sent = 0; sent < deltas; sent += batch) {
      for (let i = 0; i < batch; i++) {
        if (kind === "insert") edge.create();
        else edge.editRow(pool[sent + i]);
      }
      const ds = edge.take();
      bodies.push({ body: edge.body(ds), count: ds.length });
    }
    const docsBefore = await documentCount(t);
    const checks = [];
    const w = await window(ctx, async () => {
      for (const { body, count } of bodies) checks.push(await postDeltas(send, SYNC_KEY, body, count));
    });
    for (const check of checks) check();
    return {
      wallMs: w.wallMs,
      engine: w.engine,
      deltas,
      requests: bodies.length,
      docsBefore,
      docsAfter: await documentCount(t),
    };
  } finally {
    await gateway?.close();
  }
}

/**
 * POST /api/dink/applyDelta with real Yjs deltas, through `t.fetch` (the httpAction called in
 * process) and through the sandbox gateway (a real HTTP server on 127.0.0.1), batches of 1 and
 * 50; each round of each configuration on a fresh deployment. Then the database-size series:
 * single-delta updates with unrelated rows added first.
 */
export async function ingestSection(ctx, { deltasPerRound, fillerSizes }) {
  const configs = [];
  for (const kind of ["insert", "update"]) {
    for (const batch of [1, 50]) {
      for (const via of ["t.fetch", "gateway"]) configs.push({ kind, batch, via, rounds: [] });
    }
  }
  // Round 0 warms up (engine compile, V8 tiers) and is not reported.
  for (let round = 0; round <= ctx.rounds; round++) {
    for (const config of configs) {
      const w = await ingestWindow(ctx, { ...config, deltas: deltasPerRound });
      if (round > 0) config.rounds.push(w);
    }
    ctx.log(`ingest round ${round}/${ctx.rounds}${round === 0 ? " (warm-up)" : ""} done`);
  }
  const scaling = [];
  for (const filler of fillerSizes) {
    const rounds = [];
    for (let round = 0; round < 3; round++) {
      rounds.push(
        await ingestWindow(ctx, {
          kind: "update",
          batch: 1,
          via: "t.fetch",
          deltas: Math.max(1, Math.floor(deltasPerRound / 4)),
          filler,
        }),
      );
    }
    scaling.push({ filler, rounds });
    ctx.log(`ingest with ${filler} unrelated rows done`);
  }
  return { configs, scaling };
}

// --- 2. Trigger path ------------------------------------------------------------------------------

/**
 * tasks.create and tasks.toggle (syncMutation) against the same handlers written with a plain
 * `mutation` in a second deployment, both fresh each round. Scheduled outbox drains are held back
 * during each window and run (untimed, against a local sink) between windows.
 */
export async function triggerSection(ctx, { writesPerRound }) {
  const sink = await startSink({ syncKey: SYNC_KEY, edges: [], failureRate: 0, random: ctx.random });
  process.env.DINK_HTTP_URL = sink.url;
  const series = {};
  for (const name of ["sync", "plain"]) for (const op of ["create", "toggle"]) series[`${name}.${op}`] = [];
  let scheduled = 0;
  let synced;
  for (let round = 0; round <= ctx.rounds; round++) {
    // Fresh deployments each round: convex-test's index queries scan every document, so a
    // database that grew round after round would make later rounds slower.
    synced = await startConvexSandbox();
    const plain = await startPlainSandbox();
    const targets = {
      sync: { t: synced, create: anyApi.tasks.create, toggle: anyApi.tasks.toggle, ids: [] },
      plain: { t: plain, create: anyApi.benchPlainTasks.create, toggle: anyApi.benchPlainTasks.toggle, ids: [] },
    };
    // Alternate which deployment goes first, so drift (GC, heap growth) hits both alike.
    const order = round % 2 === 0 ? ["sync", "plain"] : ["plain", "sync"];
    for (const name of order) {
      const target = targets[name];
      for (const op of ["create", "toggle"]) {
        const args = [];
        for (let i = 0; i < writesPerRound; i++) {
          args.push(
            op === "create" ? { title: `bench task ${round}.${i}` } : { id: target.ids[i % target.ids.length] },
          );
        }
        const docsBefore = await documentCount(target.t);
        const release = holdScheduledFunctions();
        let w;
        try {
          w = await window(ctx, async () => {
            const out = [];
            for (const a of args) out.push(await target.t.mutation(target[op], a));
            return out;
          });
        } finally {
          scheduled += release();
        }
        if (op === "create") target.ids.push(...w.result);
        await settle(target.t);
        if (round > 0)
          series[`${name}.${op}`].push({ wallMs: w.wallMs, engine: w.engine, writes: writesPerRound, docsBefore });
      }
    }
    ctx.log(`trigger round ${round}/${ctx.rounds}${round === 0 ? " (warm-up)" : ""} done`);
  }
  const outbox = await synced.run(async (c) => {
    const items = await c.db.query("sync_outbox").collect();
    return { total: items.length, sent: items.filter((i) => i.status === "sent").length };
  });
  await sink.close();
  return { series, scheduledHeld: scheduled, outbox, pushesDelivered: sink.stats.delivered };
}

// --- 3. Outbox throughput -------------------------------------------------------------------------

async function outboxCounts(t) {
  return await t.run(async (c) => {
    const out = { total: 0, pending: 0, sending: 0, sent: 0, dead: 0, attempts: 0, retried: 0 };
    for (const item of await c.db.query("sync_outbox").collect()) {
      out.total++;
      out[item.status]++;
      out.attempts += item.attempts;
      if (item.attempts > 1) out.retried++;
    }
    return out;
  });
}

/**
 * `items` pending outbox rows (each with a real Yjs insert delta) drained by one call of
 * outboxProcessor.processOutboxBatch, which then schedules
 * itself batch after batch, against the sandbox sink (sandbox/sink.mjs) on 127.0.0.1.
 */
export async function outboxRun(ctx, { items, failureRate }) {
  const sink = await startSink({ syncKey: SYNC_KEY, edges: [], failureRate, random: ctx.random });
  process.env.DINK_HTTP_URL = sink.url;
  const t = await startConvexSandbox();
  // The rows the ingest path writes to sync_outbox (rows.ts, recordChange), with real insert
  // deltas, written directly: filling through ingest would also grow the other sync tables, and
  // convex-test's index queries scan every document (see the report).
  const edge = new BenchEdge({ id: "bench-edge-outbox", random: ctx.random });
  for (let i = 0; i < items; i++) edge.create();
  const deltas = edge.take();
  for (let done = 0; done < items; done += 1000) {
    await t.run(async (c) => {
      const at = Date.now();
      for (const d of deltas.slice(done, done + 1000)) {
        await c.db.insert("sync_outbox", {
          eventId: `tasks:${d.docId}:1`,
          collection: "tasks",
          docId: d.docId,
          delta: d.delta,
          version: 1,
          originEdgeId: edge.edgeId,
          status: "pending",
          attempts: 0,
          nextAttemptAt: at,
          createdAt: at,
        });
      }
    });
  }
  const before = await outboxCounts(t);
  if (before.pending !== items) throw new Error(`outbox fill: ${before.pending} pending, wanted ${items}`);
  const w = await window(ctx, async () => {
    await t.action(anyApi.outboxProcessor.processOutboxBatch, {});
    // The drain continues through scheduled functions; retries wait on backoff timers.
    while (sink.stats.delivered < items) {
      await settle(t);
      if (sink.stats.delivered < items) await sleep(5);
    }
    await settle(t);
  });
  const after = await outboxCounts(t);
  await sink.close();
  if (after.sent !== items || after.dead !== 0) throw new Error(`outbox drain: ${JSON.stringify(after)}`);
  return {
    items,
    failureRate,
    wallMs: w.wallMs,
    engine: w.engine,
    requests: sink.stats.requests,
    failedRequests: sink.stats.failed,
    duplicatesAtSink: sink.stats.duplicates,
    attempts: after.attempts,
    retriedItems: after.retried,
  };
}

// --- 4. Bytes stored per row ----------------------------------------------------------------------

/** Sizes of everything stored for one row (Convex's own document size accounting). */
async function rowFootprint(t, docId) {
  return await t.run(async (c) => {
    const task = await c.db
      .query("tasks")
      .withIndex("by_doc_id", (q) => q.eq("id", docId))
      .unique();
    const doc = await c.db
      .query("sync_documents")
      .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", docId))
      .unique();
    const deltas = await c.db
      .query("sync_deltas")
      .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", docId))
      .collect();
    const outbox = (await c.db.query("sync_outbox").collect()).filter((o) => o.docId === docId);
    const sum = (rows, f) => rows.reduce((n, r) => n + f(r), 0);
    return {
      taskRowBytes: task === null ? 0 : getDocumentSize(task),
      title: task?.title ?? null,
      stateBytes: doc.state.byteLength,
      stateVectorBytes: doc.stateVector.byteLength,
      syncDocumentRowBytes: getDocumentSize(doc),
      version: doc.version,
      deltaRows: deltas.length,
      deltaPayloadBytes: sum(deltas, (d) => d.delta.byteLength),
      deltaRowBytes: sum(deltas, (d) => getDocumentSize(d)),
      outboxRows: outbox.length,
      outboxSent: outbox.filter((o) => o.status === "sent").length,
      outboxRowBytes: sum(outbox, (o) => getDocumentSize(o)),
    };
  });
}

/**
 * One row edited `max(checkpoints)` times by Convex (tasks.toggle), by an edge (title or
 * completed through applyDelta), or both taking turns (the edge first merges what Convex holds,
 * as a live edge does from pushes). Outbox drains run against a local sink as they are scheduled.
 */
export async function storageRun(ctx, { writers, checkpoints }) {
  const sink = await startSink({ syncKey: SYNC_KEY, edges: [], failureRate: 0, random: ctx.random });
  process.env.DINK_HTTP_URL = sink.url;
  const t = await startConvexSandbox();
  const edge = new BenchEdge({ id: "bench-edge-storage", random: ctx.random });
  const send = (p, init) => t.fetch(p, init);
  const rowId = await t.mutation(anyApi.tasks.create, { title: "a row edited many times" });
  const docId = (await t.run((c) => c.db.get(rowId))).id;
  const edgeEdit = async () => {
    const state = await t.run(async (c) => {
      const d = await c.db
        .query("sync_documents")
        .withIndex("by_doc", (q) => q.eq("collection", "tasks").eq("docId", docId))
        .unique();
      return d.state;
    });
    edge.receive(docId, new Uint8Array(state));
    edge.editRow(docId);
    const deltas = edge.take();
    (await postDeltas(send, SYNC_KEY, edge.body(deltas), deltas.length))();
  };
  const points = [];
  const last = Math.max(...checkpoints);
  for (let edit = 1; edit <= last; edit++) {
    const convexTurn = writers === "convex" || (writers === "mixed" && edit % 2 === 1);
    if (convexTurn) await t.mutation(anyApi.tasks.toggle, { id: rowId });
    else await edgeEdit();
    if (checkpoints.includes(edit)) {
      // Edge deltas do not start a drain (the cron does, every 30 s): run one as the cron would.
      await settle(t);
      await t.action(anyApi.outboxProcessor.processOutboxBatch, {});
      await settle(t);
      points.push({ edits: edit, ...(await rowFootprint(t, docId)) });
    }
  }
  await settle(t);
  await sink.close();
  return { writers, points };
}

// --- 5. Documents written per synced change --------------------------------------------------------

const WRITE_TABLES = ["tasks", "sync_documents", "sync_deltas", "sync_feed_shards", "sync_outbox", "sync_sessions"];

/** Every document of the app tables and the scheduler: id -> {table, json, bytes}. */
async function writeSnapshot(t) {
  const entries = await t.run(async (c) => {
    const out = [];
    const json = (doc) =>
      JSON.stringify(doc, (_k, v) => (v instanceof ArrayBuffer ? Buffer.from(v).toString("hex") : v));
    for (const table of WRITE_TABLES) {
      for (const doc of await c.db.query(table).collect()) {
        out.push([doc._id, { table, json: json(doc), bytes: getDocumentSize(doc) }]);
      }
    }
    for (const job of await c.db.system.query("_scheduled_functions").collect()) {
      out.push([job._id, { table: "_scheduled_functions", json: JSON.stringify({ name: job.name }), bytes: 0 }]);
    }
    return out;
  });
  return new Map(entries);
}

/**
 * `writes` synced creates, then as many toggles (and the same through the plain mutations), each
 * between two snapshots of every table: documents inserted or changed per table, their bytes
 * (Convex's document size), and in how many documents the change's delta bytes sit. Same counts as
 * convex-example/tests/writes.test.ts, which asserts them.
 */
export async function writesRun(ctx, { writes }) {
  const sink = await startSink({ syncKey: SYNC_KEY, edges: [], failureRate: 0, random: ctx.random });
  process.env.DINK_HTTP_URL = sink.url;
  const t = await startConvexSandbox();
  const plain = await startPlainSandbox();
  const out = {};
  for (const op of ["create", "toggle"]) {
    const perTable = {};
    let bytes = 0;
    let deltaBytes = 0;
    let deltaCopies = 0;
    let ids = [];
    if (op === "toggle") ids = await t.run(async (c) => (await c.db.query("tasks").collect()).map((d) => d._id));
    await t.mutation(anyApi.tasks.create, { title: "warm-up" }); // the shard counters exist from here on
    for (let i = 0; i < writes; i++) {
      const before = await writeSnapshot(t);
      if (op === "create") await t.mutation(anyApi.tasks.create, { title: `row ${i}` });
      else await t.mutation(anyApi.tasks.toggle, { id: ids[i % ids.length] });
      const after = await writeSnapshot(t);
      const written = [...after].filter(([id, d]) => before.get(id)?.json !== d.json).map(([, d]) => d);
      for (const d of written) {
        perTable[d.table] = (perTable[d.table] ?? 0) + 1;
        bytes += d.bytes;
      }
      const logged = written.find((d) => d.table === "sync_deltas");
      const hex = JSON.parse(logged.json).delta;
      deltaBytes += hex.length / 2;
      // The create's delta is the row's whole first state, so sync_documents holding the same bytes is the
      // state, not a copy of the delta.
      deltaCopies += written.filter((d) => d.table !== "sync_documents" && d.json.includes(hex)).length;
      await settle(t);
    }
    let plainBytes = 0;
    const plainIds = [];
    for (let i = 0; i < writes; i++) {
      if (op === "create") plainIds.push(await plain.mutation(anyApi.benchPlainTasks.create, { title: `row ${i}` }));
    }
    if (op === "create") {
      plainBytes = await plain.run(async (c) => {
        let n = 0;
        for (const d of await c.db.query("tasks").collect()) n += getDocumentSize(d);
        return n;
      });
    }
    const per = (x) => Math.round((x / writes) * 100) / 100;
    out[op] = {
      writes,
      documentsPerTable: Object.fromEntries(Object.entries(perTable).map(([k, v]) => [k, per(v)])),
      syncDocuments: per(
        Object.entries(perTable)
          .filter(([k]) => k.startsWith("sync_"))
          .reduce((n, [, v]) => n + v, 0),
      ),
      scheduled: per(perTable._scheduled_functions ?? 0),
      bytesWritten: per(bytes),
      deltaBytes: per(deltaBytes),
      deltaCopies: per(deltaCopies),
      ...(op === "create" ? { plainBytesWritten: per(plainBytes) } : {}),
    };
  }
  await settle(t);
  await sink.close();
  return out;
}
