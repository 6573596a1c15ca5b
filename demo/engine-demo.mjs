#!/usr/bin/env node
// Engine demo: several offline writers edit the same rows and exchange deltas in random order,
// with duplicates, until they converge.
//
//   * yjs writers (the reference `yjs` JS library, as @dink-convex/testkit's simulated edge) keep
//     one live Y.Doc per row, like an edge app; one of them speaks Yjs update v1, the others v2.
//   * engine writers (the dink-convex wasm engine through `dink-convex/engine`) keep only the
//     stored state bytes per row, exactly like the Convex side: a local write is `change()`, a
//     received delta is `ingest()`. A delta that arrives before the changes it builds on is
//     rejected with MISSING_DEPENDENCIES; the writer either puts it back in its inbox to retry
//     later, or asks the sender for a diff against the state vector carried by the error.
//
// Every writer goes offline and online at random (an offline writer keeps editing but receives
// nothing). At the end everyone comes online, inboxes drain, and the final report compares the
// canonical rows of all writers. Exit code 1 when they differ.
//
// Environment: DEMO_SEED (default: random, printed), DEMO_ROWS (50), DEMO_EDITS (3000),
// DEMO_DUP (duplicate probability, 0.2).

import * as Y from "yjs";
import { canonicalRow, prng, SimulatedEdge, toYjs } from "@dink-convex/testkit";

let engine;
try {
  engine = await import("dink-convex/engine");
} catch (e) {
  console.error(`engine-demo: cannot load dink-convex/engine (${e?.message ?? e}); run \`make build\` first.`);
  process.exit(2);
}

const SEED = Number(process.env.DEMO_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROWS = Number(process.env.DEMO_ROWS ?? 50);
const EDITS = Number(process.env.DEMO_EDITS ?? 3000);
const DUP = Number(process.env.DEMO_DUP ?? 0.2);
if (![SEED, ROWS, EDITS, DUP].every(Number.isFinite)) {
  console.error("engine-demo: DEMO_SEED, DEMO_ROWS, DEMO_EDITS and DEMO_DUP must be numbers");
  process.exit(2);
}

// An engine failure other than MISSING_DEPENDENCIES is a bug: report it in one line, exit 1.
for (const event of ["uncaughtException", "unhandledRejection"]) {
  process.on(event, (e) => {
    console.error(`FAILED: ${e?.context ? `${e.context}: ` : ""}${e?.code ? `${e.code} ` : ""}${e?.message ?? e}`);
    console.error(`(reproduce with DEMO_SEED=${SEED} node demo/engine-demo.mjs)`);
    process.exit(1);
  });
}
const withContext = (context, fn) => {
  try {
    return fn();
  } catch (e) {
    if (e && typeof e === "object" && !e.context && e.code !== "MISSING_DEPENDENCIES") e.context = context;
    throw e;
  }
};

const rand = prng(SEED);
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];
const chance = (p) => rand() < p;

const stats = {
  edits: { update: 0, remove: 0, delete: 0, insert: 0, reinsert: 0, lateEdit: 0 },
  sent: 0,
  duplicates: 0,
  delivered: 0,
  noops: 0,
  missingDeps: 0,
  retried: 0,
  repaired: 0,
  repairFailed: 0,
  maxBacklog: 0,
  resyncs: 0,
};

// --- the row model ------------------------------------------------------------------------------

const WORDS = ["alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "sierra", "tango", "zulu"];
const rowIds = Array.from({ length: ROWS }, (_, i) => `task-${String(i).padStart(3, "0")}`);

function randomValue(field) {
  switch (field) {
    case "title":
      return `${pick(WORDS)} ${pick(WORDS)} ${int(1000)}`;
    case "done":
      return chance(0.5);
    case "priority":
      return pick([0, 1, 2.5, -1, NaN, Infinity, 1e300, int(100) / 7]);
    case "version":
      return BigInt(int(2 ** 31)) * 4_294_967_296n + BigInt(int(2 ** 31)); // int64 beyond 2^53
    case "tags":
      return Array.from({ length: int(4) }, () => pick(WORDS));
    case "meta":
      return { owner: pick(WORDS), score: int(50), nested: { ok: chance(0.5), at: null } };
    case "blob": {
      const b = new Uint8Array(int(6));
      for (let i = 0; i < b.length; i++) b[i] = int(256);
      return b.buffer;
    }
    default:
      return null;
  }
}
const EDITABLE = ["title", "done", "priority", "version", "tags", "meta", "blob", "note"];

function freshRow(id) {
  const row = { id };
  for (const f of ["title", "done", "priority", "version", "tags", "meta"]) row[f] = randomValue(f);
  return row;
}

// --- writers ------------------------------------------------------------------------------------

class EngineWriter {
  constructor(name, clientId) {
    this.name = name;
    this.kind = "engine";
    this.clientId = clientId;
    this.states = new Map(); // rowId -> state bytes (v2): all it keeps
    this.inbox = [];
    this.online = true;
  }

  row(rowId) {
    const state = this.states.get(rowId);
    if (!state) return { fields: {}, deleted: false, exists: false };
    const { fields, deleted } = engine.materialize(state);
    return { fields, deleted, exists: true };
  }

  write(rowId, newFields, now) {
    const state = this.states.get(rowId) ?? null;
    const old = state ? engine.materialize(state).fields : null;
    const out = withContext(`${this.name} change(${rowId})`, () =>
      engine.change(state, old, newFields, { now, clientId: this.clientId }),
    );
    this.states.set(rowId, out.state);
    return out.delta ? { update: out.delta, format: 2 } : null;
  }

  edit(rowId, now) {
    const cur = this.row(rowId);
    if (!cur.exists || cur.deleted) {
      if (cur.exists) stats.edits.reinsert++;
      else stats.edits.insert++;
      return this.write(rowId, freshRow(rowId), now);
    }
    const r = rand();
    if (r < 0.1) {
      stats.edits.delete++;
      return this.write(rowId, null, now);
    }
    const next = { ...cur.fields };
    if (r < 0.15 && "note" in next) {
      stats.edits.remove++;
      delete next.note;
    } else {
      stats.edits.update++;
      for (let n = 1 + int(3); n > 0; n--) {
        const f = pick(EDITABLE);
        next[f] = randomValue(f);
      }
    }
    return this.write(rowId, next, now);
  }

  receive(msg) {
    const state = this.states.get(msg.rowId) ?? null;
    try {
      const out = withContext(`${this.name} ingest(${msg.rowId}) of a v${msg.format} delta from ${msg.from.name}`, () =>
        engine.ingest(state, msg.update, msg.format),
      );
      if (!out.changed) stats.noops++;
      this.states.set(msg.rowId, out.state);
      return true;
    } catch (e) {
      if (e?.code !== "MISSING_DEPENDENCIES") throw e;
      stats.missingDeps++;
      if (chance(0.5)) {
        // Repair now: the sender resends everything we lack, from the error's state vector.
        const resend = msg.from.diffFor(msg.rowId, e.stateVector);
        try {
          const out = withContext(`${this.name} ingest(${msg.rowId}) of a resend from ${msg.from.name}`, () =>
            engine.ingest(state, resend.update, resend.format),
          );
          this.states.set(msg.rowId, out.state);
          stats.repaired++;
          return true;
        } catch (e2) {
          if (e2?.code !== "MISSING_DEPENDENCIES") throw e2;
          stats.repairFailed++; // the sender itself still waits for something: retry later
        }
      }
      stats.retried++;
      return false;
    }
  }

  diffFor(rowId, stateVector) {
    const state = this.states.get(rowId);
    return { update: state ? engine.diff(state, stateVector) : emptyV2(), format: 2 };
  }

  rows() {
    return rowIds.map((id) => (this.states.has(id) ? this.row(id) : { fields: {}, deleted: false }));
  }
}

class JsWriter {
  constructor(name, clientId, format) {
    this.name = name;
    this.kind = `yjs v${format}`;
    this.w = new SimulatedEdge(name, clientId);
    this.format = format;
    this.inbox = [];
    this.online = true;
  }

  edit(rowId, now) {
    const cur = this.w.row(rowId);
    const exists = this.w.doc(rowId).getMap("fields").size > 0 || cur.deleted;
    let update;
    if (!exists) {
      stats.edits.insert++;
      const row = freshRow(rowId);
      update = this.local(rowId, (fields) => setAll(fields, row));
    } else if (cur.deleted) {
      if (chance(0.7)) {
        stats.edits.reinsert++;
        const row = freshRow(rowId);
        update = this.local(rowId, (fields, meta) => {
          meta.set("_deleted", false);
          meta.delete("_deletedAt");
          setAll(fields, row);
        });
      } else {
        // An edge that edits a row someone else deleted: must not resurrect it.
        stats.edits.lateEdit++;
        update = this.local(rowId, (fields) => fields.set("title", randomValue("title")));
      }
    } else {
      const r = rand();
      if (r < 0.1) {
        stats.edits.delete++;
        update = this.local(rowId, (_f, meta) => {
          meta.set("_deleted", true);
          meta.set("_deletedAt", now);
        });
      } else if (r < 0.15 && cur.fields.note !== undefined) {
        stats.edits.remove++;
        update = this.local(rowId, (fields) => fields.delete("note"));
      } else {
        stats.edits.update++;
        update = this.local(rowId, (fields) => {
          for (let n = 1 + int(3); n > 0; n--) {
            const f = pick(EDITABLE);
            fields.set(f, toYjs(randomValue(f), f));
          }
        });
      }
    }
    return { update, format: this.format };
  }

  /** One local transaction: the update it produced, in this writer's format (sent right away). */
  local(rowId, fn) {
    const { delta } = this.w.edit(rowId, fn, this.format);
    this.w.take();
    return new Uint8Array(delta);
  }

  receive(msg) {
    this.w.receive(msg.rowId, msg.update, msg.format); // yjs parks out-of-order structs itself
    return true;
  }

  diffFor(rowId, stateVector) {
    return { update: this.w.diffFor(rowId, stateVector, this.format), format: this.format };
  }

  rows() {
    return rowIds.map((id) => this.w.row(id));
  }
}

function setAll(fields, row) {
  for (const [k, v] of Object.entries(row)) fields.set(k, toYjs(v, k));
}
let EMPTY_V2;
function emptyV2() {
  return (EMPTY_V2 ??= Y.encodeStateAsUpdateV2(new Y.Doc()));
}

const writers = [
  new JsWriter("yjs-a", 101, 2),
  new JsWriter("yjs-b", 102, 2),
  new JsWriter("yjs-c", 103, 1),
  new EngineWriter("convex", engine.SERVER_CLIENT_ID),
  new EngineWriter("engine-edge", 0x0e9e_0002),
];

// --- network ------------------------------------------------------------------------------------

function broadcast(from, rowId, out) {
  if (!out) return;
  stats.sent++;
  for (const w of writers) {
    if (w === from) continue;
    const msg = { rowId, update: out.update, format: out.format, from };
    w.inbox.push(msg);
    if (chance(DUP)) {
      stats.duplicates++;
      w.inbox.splice(int(w.inbox.length + 1), 0, msg);
    }
  }
}

/** Delivers one random message from `w`'s inbox; a failed one goes back in. */
function deliverOne(w) {
  if (w.inbox.length === 0) return false;
  const i = int(w.inbox.length);
  const [msg] = w.inbox.splice(i, 1);
  stats.delivered++;
  if (!w.receive(msg)) w.inbox.push(msg);
  return true;
}

const backlog = () => writers.reduce((n, w) => n + w.inbox.length, 0);

// --- run ----------------------------------------------------------------------------------------

const t0 = performance.now();
console.log(`dink-convex engine demo  seed=${SEED}  (DEMO_SEED=${SEED} make demo reproduces this run)`);
console.log(
  `${ROWS} rows, ${EDITS} edits, duplicate rate ${DUP}; writers: ` +
    writers.map((w) => `${w.name} [${w.kind}]`).join(", "),
);

let clock = 1_750_000_000_000;
const step = Math.max(1, Math.floor(EDITS / 10));
for (let e = 1; e <= EDITS; e++) {
  clock += 1 + int(1000);
  // Writers drop offline and come back at random; offline writers keep editing.
  for (const w of writers) if (chance(w.online ? 0.01 : 0.04)) w.online = !w.online;
  const writer = pick(writers);
  const rowId = pick(rowIds);
  broadcast(writer, rowId, writer.edit(rowId, clock));
  for (let d = 2 + int(6); d > 0; d--) {
    const online = writers.filter((w) => w.online && w.inbox.length > 0);
    if (online.length) deliverOne(pick(online));
  }
  stats.maxBacklog = Math.max(stats.maxBacklog, backlog());
  if (e % step === 0 || e === EDITS) {
    const offline = writers.filter((w) => !w.online).map((w) => w.name);
    console.log(
      `[${String(Math.round((100 * e) / EDITS)).padStart(3)}%] edits ${e}  delivered ${stats.delivered}` +
        `  backlog ${backlog()}  missing-deps ${stats.missingDeps}` +
        `  offline: ${offline.length ? offline.join(",") : "none"}`,
    );
  }
}

// Everyone comes online; inboxes drain in random order. A message that keeps failing goes back
// in; the loop stops when nothing is left or nothing made progress for a long time.
for (const w of writers) w.online = true;
console.log(`drain: all writers online, ${backlog()} messages in flight`);
let idle = 0;
while (backlog() > 0 && idle < 50 * backlog() + 1000) {
  const before = stats.retried;
  deliverOne(pick(writers.filter((w) => w.inbox.length > 0)));
  idle = stats.retried > before ? idle + 1 : 0;
}
const stuck = backlog();

// Anti-entropy, as the y-protocols sync step does on reconnect: a yjs doc that still holds
// structs it parked as pending (yjs does not always retry them once their dependencies arrive)
// asks every peer for a diff against its state vector.
for (const w of writers) {
  if (!w.w) continue;
  for (const rowId of rowIds) {
    if (!w.w.pending(rowId)) continue;
    stats.resyncs++;
    const sv = Y.encodeStateVector(w.w.doc(rowId));
    for (const peer of writers) {
      if (peer === w) continue;
      const d = peer.diffFor(rowId, sv);
      w.w.receive(rowId, d.update, d.format);
    }
  }
}
const seconds = (performance.now() - t0) / 1000;

// --- report -------------------------------------------------------------------------------------

const views = writers.map((w) => w.rows().map(canonicalRow));
const differing = [];
for (let r = 0; r < ROWS; r++) {
  if (views.some((v) => v[r] !== views[0][r])) differing.push(r);
}
const live = writers[0].rows().filter((row) => !row.deleted && Object.keys(row.fields).length > 0).length;
const deleted = writers[0].rows().filter((row) => row.deleted).length;
const pending = writers.filter((w) => w.w?.docs && [...w.w.docs.keys()].some((id) => w.w.pending(id)));

const s = stats;
console.log(
  `edits: ${s.edits.update} updates, ${s.edits.insert} inserts, ${s.edits.delete} deletes, ` +
    `${s.edits.reinsert} re-inserts, ${s.edits.remove} field removals, ${s.edits.lateEdit} late edits of deleted rows`,
);
console.log(
  `network: ${s.sent} deltas sent, ${s.sent * (writers.length - 1) + s.duplicates} copies (${s.duplicates} duplicates), ` +
    `${s.delivered} deliveries, ${s.noops} engine no-ops, max backlog ${s.maxBacklog}`,
);
console.log(
  `out of order: ${s.missingDeps} MISSING_DEPENDENCIES at engine writers -> ${s.retried} back to the inbox ` +
    `and retried later, ${s.repaired} repaired by a diff against the error's state vector` +
    (s.repairFailed ? ` (${s.repairFailed} repairs had to wait)` : ""),
);
console.log(
  `anti-entropy: ${s.resyncs} yjs row docs still had parked (pending) structs after the drain and resynced ` +
    `by state vector; elapsed ${seconds.toFixed(1)} s`,
);
console.log("final report:");
for (const [i, w] of writers.entries()) {
  const digest = (await import("node:crypto")).createHash("sha256").update(views[i].join("\n")).digest("hex");
  console.log(`  ${w.name.padEnd(12)} ${w.kind.padEnd(7)} rows digest ${digest.slice(0, 16)}`);
}
if (differing.length === 0 && stuck === 0 && pending.length === 0) {
  console.log(
    `CONVERGED: all ${writers.length} writers hold the same ${ROWS} rows (${live} live, ${deleted} deleted).`,
  );
  process.exit(0);
}
console.log(
  `DIVERGED: ${differing.length} of ${ROWS} rows differ; ${stuck} messages undeliverable; ` +
    `${pending.length} yjs writers with pending structs.`,
);
for (const r of differing.slice(0, 3)) {
  // Show only what differs: the tombstone flag and the fields whose values disagree.
  const parsed = views.map((v) => JSON.parse(v[r]));
  const keys = [...new Set(parsed.flatMap((p) => Object.keys(p.fields)))].sort();
  const bad = keys.filter((k) => new Set(parsed.map((p) => JSON.stringify(p.fields[k]))).size > 1);
  const flagDiffers = new Set(parsed.map((p) => p.deleted)).size > 1;
  console.log(`  row ${rowIds[r]}: differs in ${[...(flagDiffers ? ["_deleted"] : []), ...bad].join(", ")}`);
  for (const [i, w] of writers.entries()) {
    const shown = bad.map((k) => `${k}=${JSON.stringify(parsed[i].fields[k]) ?? "(absent)"}`);
    if (flagDiffers) shown.unshift(`_deleted=${parsed[i].deleted}`);
    console.log(`    ${w.name.padEnd(12)} ${shown.join(" ").slice(0, 150)}`);
  }
}
process.exit(1);
