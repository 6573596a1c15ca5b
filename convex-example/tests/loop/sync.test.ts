// @vitest-environment node
/**
 * The whole sync loop with real processes: nats-server 2.15.1 and `dink-gateway` (dev), syncing
 * `dink-edge` processes with their own redb stores, and the example app in convex-test behind a
 * real HTTP site on 127.0.0.1 (the LOCAL SANDBOX standing in for a deployment: no Convex backend
 * runs offline). Every test ends with the convergence check (the Convex table and every edge
 * store hold the same rows) and a count check (nothing lost, duplicated or stuck pending).
 */
import { randomUUID } from "node:crypto";
import { api } from "../../convex/_generated/api";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convexTest } from "convex-test";
import { register } from "dink-convex/test";
import schema from "../../convex/schema";
import { modules } from "../harness";
import { purgeDeltaLog } from "../../../npm/src/client/sync/retention";
import { buildBinaries, sleep, startServeGateway, waitFor } from "../../../sandbox/dinkProcesses.mjs";
import { startSyncLoop, type SyncLoop } from "../../../sandbox/syncLoop.mjs";
import { YjsNatsEdge } from "../../../sandbox/yjsNatsEdge.mjs";

const EDGES = ["edge-a", "edge-b", "edge-c", "yjs-1"];
let loop: SyncLoop;
let t: ReturnType<typeof makeTest>;

/** The example app plus one bridged function (bridgeActions.ts) for the bridge relay test. */
function makeTest() {
  const test = convexTest(schema, { ...modules, "../convex/bridgeActions.ts": () => import("./bridgeActions") });
  register(test);
  return test;
}

beforeAll(async () => {
  buildBinaries();
  t = makeTest();
  // Edges resend an unanswered push after 10 s (not 40): a gateway killed mid-batch costs less.
  loop = await startSyncLoop({
    t,
    edgeNames: EDGES,
    edgePushTimeoutSecs: 10,
    log: (m) => console.log(`[loop] ${m}`),
  });
  for (const name of ["edge-a", "edge-b", "edge-c"]) await loop.startEdge(name);
}, 20 * 60_000);

afterAll(async () => {
  await loop?.stop();
}, 120_000);

const edge = (name: string) => {
  const e = loop.edges.get(name);
  if (e === undefined) throw new Error(`no edge ${name}`);
  return e;
};

/** A new task written on `name`; resolves to its doc id once the edge's store has it. */
async function put(name: string, fields: Record<string, unknown>, docId: string = randomUUID()) {
  const reply = await edge(name).cmd({ cmd: "put", collection: "tasks", doc_id: docId, fields });
  expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
  return docId;
}

async function convexCreate(title: string) {
  await t.mutation(api.tasks.create, { title });
}

/** Settles the loop and asserts convergence, nothing pending, and exactly `expectedIds` in Convex. */
async function expectConverged(expectedIds?: Set<string>) {
  const diffs = await loop.settle(90_000);
  expect(diffs, loop.edgeLogs()).toEqual([]);
  for (const [name, e] of loop.edges) {
    if (e.proc.child.exitCode !== null || e.proc.child.signalCode !== null) continue;
    const status = await e.cmd({ cmd: "status" });
    expect(status, `${name} ${JSON.stringify(status)}`).toMatchObject({ ok: true, pending: 0 });
  }
  const convex = await loop.convexRows();
  const docs = await t.run((ctx) => ctx.db.query("tasks").collect());
  expect(docs.length).toBe(convex.size); // one Convex row per doc id: nothing duplicated
  if (expectedIds !== undefined) for (const id of expectedIds) expect(convex.has(id), id).toBe(true);
  return convex;
}

// Each test waits for the loop to settle (bounded: 90 s in settle), so they get more than the
// suite's default 30 s.
const LOOP_TEST = { timeout: 180_000 };

describe("the loop", LOOP_TEST, () => {
  test("edge writes reach Convex and the other edges; Convex writes reach every edge", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add(await put("edge-a", { title: `a${i}`, completed: false }));
    for (let i = 0; i < 3; i++) ids.add(await put("edge-b", { title: `b${i}`, completed: i % 2 === 0 }));
    for (let i = 0; i < 3; i++) await convexCreate(`convex ${i}`);
    const convex = await expectConverged(ids);
    expect(convex.size).toBe(11);
    // Every edge row reports Convex's acknowledgement with a version.
    const rows = await edge("edge-a").rows("tasks");
    const own = rows.find((r) => r.doc_id === [...ids][0]);
    expect(own?.status).toMatchObject({ state: "applied" });
    expect(typeof own?.status.version).toBe("number");
  });

  test("an edge update and a delete made on one edge apply everywhere", async () => {
    const id = await put("edge-c", { title: "to change", completed: false });
    await expectConverged(new Set([id]));
    await put("edge-a", { completed: true }, id);
    await expectConverged();
    expect((await loop.convexRows()).get(id)).toMatchObject({ completed: true, title: "to change" });
    expect(await edge("edge-b").cmd({ cmd: "delete", collection: "tasks", doc_id: id })).toMatchObject({ ok: true });
    const convex = await expectConverged();
    expect(convex.has(id)).toBe(false);
  });

  test("a write Convex rejects is reported to the callback and reverted on the edge", async () => {
    const good = await put("edge-a", { title: "valid", completed: false });
    await expectConverged(new Set([good]));
    // An update with a wrong type, and a create missing a required field.
    await put("edge-a", { completed: "yes" }, good);
    const bad = await put("edge-a", { title: "no completed flag" });
    const rejectedUpdate = await edge("edge-a").waitEvent(
      "the update's rejection",
      (e) => e.event === "rejected" && e.doc_id === good,
    );
    expect(rejectedUpdate).toMatchObject({ collection: "tasks", error: { code: "VALIDATION_ERROR" } });
    await edge("edge-a").waitEvent("the create's rejection", (e) => e.event === "rejected" && e.doc_id === bad);
    await expectConverged();
    // The edge holds the server's row again, and no trace of the refused create.
    const row = (await edge("edge-a").cmd({ cmd: "get", collection: "tasks", doc_id: good })).row as {
      fields: Record<string, unknown>;
    };
    expect(row.fields).toMatchObject({ title: "valid", completed: false });
    expect((await loop.edgeRows("edge-a")).has(bad)).toBe(false);
    expect((await loop.convexRows()).has(bad)).toBe(false);
  });

  test("the gateway's status page, read in headless Chromium, shows the edges and the rejection", async () => {
    // Debian's Chromium (scripts/ensure-tools.sh installs it), flags as this machine needs them.
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      const response = await page.goto(`${loop.gateway.httpUrl}/status`);
      expect(response?.status()).toBe(200);
      const app = page.locator(`section.app[data-app="${loop.setup.appId}"]`);
      const field = (name: string) => app.locator(`[data-field="${name}"]`).first().innerText();
      expect(await field("convex-configured")).toBe("true");
      expect(Number(await field("edges-online"))).toBeGreaterThanOrEqual(3);
      expect(Number(await field("applied"))).toBeGreaterThan(0);
      expect(Number(await field("rejected"))).toBeGreaterThanOrEqual(2);
      expect(Number(await field("backlog"))).toBeGreaterThanOrEqual(0);
      const rejections = app.locator("tr.rejection");
      expect(await rejections.count()).toBeGreaterThanOrEqual(2);
      expect(await rejections.first().innerText()).toContain("VALIDATION_ERROR");
    } finally {
      await browser.close();
    }
  });

  test("edits made offline on an edge and in Convex meanwhile converge when it reconnects", async () => {
    expect(await edge("edge-b").cmd({ cmd: "offline" })).toMatchObject({ ok: true });
    const ids = new Set<string>();
    for (let i = 0; i < 4; i++) ids.add(await put("edge-b", { title: `offline ${i}`, completed: false }));
    for (let i = 0; i < 2; i++) await convexCreate(`while b was away ${i}`);
    ids.add(await put("edge-a", { title: "a while b was away", completed: true }));
    await sleep(500);
    const b = (await loop.edgeRows("edge-b")).size;
    expect(b).toBeLessThan((await loop.convexRows()).size + 4); // b has not seen the others' rows
    expect(await edge("edge-b").cmd({ cmd: "online" })).toMatchObject({ ok: true });
    await expectConverged(ids);
  });
});

describe("faults", LOOP_TEST, () => {
  test("Convex answering 5xx, then hanging, for a while: nothing lost, nothing applied twice", async () => {
    const ids = new Set<string>();
    loop.site.faults.status = 503;
    for (let i = 0; i < 4; i++) ids.add(await put("edge-a", { title: `during 5xx ${i}`, completed: false }));
    await sleep(1_500);
    loop.site.faults.status = 0;
    loop.site.faults.hang = true;
    for (let i = 0; i < 3; i++) ids.add(await put("edge-c", { title: `during hang ${i}`, completed: true }));
    await sleep(1_500);
    // Nothing reached the app while faulty, so nothing may be reported applied.
    const rows = await edge("edge-a").rows("tasks");
    for (const r of rows.filter((r) => ids.has(r.doc_id))) expect(r.status.state).not.toBe("applied");
    loop.site.clearFaults();
    await expectConverged(ids);
    expect(loop.site.stats.faulted).toBeGreaterThan(0);
  });

  test("an edge killed between writing and the acknowledgement resends after restart", async () => {
    const ids = new Set<string>();
    loop.site.faults.hang = true; // keeps the writes unacknowledged while the edge dies
    for (let i = 0; i < 5; i++) ids.add(await put("edge-c", { title: `before crash ${i}`, completed: false }));
    await sleep(300);
    await edge("edge-c").kill();
    loop.site.clearFaults();
    await loop.startEdge("edge-c");
    const status = await edge("edge-c").cmd({ cmd: "status" });
    expect(status).toMatchObject({ ok: true });
    await expectConverged(ids);
  });

  test("the gateway and nats-server killed mid-batch and restarted: edges reconnect and resend", async () => {
    const ids = new Set<string>();
    loop.site.faults.hang = true; // a batch in flight when the gateway dies
    for (let i = 0; i < 4; i++) ids.add(await put("edge-a", { title: `mid-batch ${i}`, completed: false }));
    await sleep(300);
    await loop.restartGateway({ kill: true });
    loop.site.clearFaults();
    for (let i = 0; i < 2; i++) ids.add(await put("edge-b", { title: `after restart ${i}`, completed: true }));
    await convexCreate("convex after restart");
    await expectConverged(ids);
  });

  test("two gateways share the load; one killed mid-batch, the other serves", async () => {
    const second = await startServeGateway(loop.gateway);
    try {
      const ids = new Set<string>();
      loop.site.faults.hang = true;
      for (let i = 0; i < 6; i++)
        ids.add(await put(i % 2 ? "edge-a" : "edge-b", { title: `two gw ${i}`, completed: false }));
      await sleep(300);
      await second.proc.kill();
      loop.site.clearFaults();
      await expectConverged(ids);
    } finally {
      await second.stop();
    }
  });

  test("an edge offline past the retention window catches up from a snapshot", async () => {
    expect(await edge("edge-c").cmd({ cmd: "offline" })).toMatchObject({ ok: true });
    for (let i = 0; i < 3; i++) await convexCreate(`during c's long absence ${i}`);
    const ids = new Set([await put("edge-a", { title: "a during c's absence", completed: false })]);
    await loop.drained();
    // The retention window elapses: the purge deletes every logged delta (cutoff now), so c's
    // cursor is below the compaction floor.
    const purged = await t.run((ctx) => purgeDeltaLog(ctx.db, Date.now() + 1, 100_000));
    expect(purged.purged).toBeGreaterThan(0);
    const before = await edge("edge-c").cmd({ cmd: "status" });
    expect(await edge("edge-c").cmd({ cmd: "online" })).toMatchObject({ ok: true });
    await expectConverged(ids);
    const after = await edge("edge-c").cmd({ cmd: "status" });
    const catchups = (s: typeof after) => (s.stats as { catchups: number }).catchups;
    expect(catchups(after)).toBeGreaterThan(catchups(before));
  });

  test("a kicked edge disconnects, rejoins with a new key and its store", async () => {
    const id = await put("edge-b", { title: "before the kick", completed: false });
    await expectConverged(new Set([id]));
    const kick = await fetch(`${loop.gateway.httpUrl}/api/edges/edge-b/kick`, {
      method: "POST",
      headers: { authorization: `Bearer ${loop.setup.syncKey}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "rotate keys" }),
    });
    expect(kick.status).toBe(200);
    await edge("edge-b").waitEvent("the kick", (e) => e.event === "kicked");
    expect(await edge("edge-b").exited).toBe(3);
    await convexCreate("while b was kicked");
    const key = await loop.newEdgeKey("edge-b");
    await loop.startEdge("edge-b", { key });
    const ids = new Set([id, await put("edge-b", { title: "after rejoining", completed: true })]);
    await expectConverged(ids);
  });
});

describe("bridge", LOOP_TEST, () => {
  test("an edge calls a Convex function through the gateway's relay with its cached bridge token", async () => {
    const configured = await loop.admin("$ADMIN.APPS.CONFIGURE_BRIDGE", {
      app_id: loop.setup.appId,
      deploy_key: "",
      secret: "",
      services: [{ name: "Notes", methods: [{ name: "Echo", type: "action", bridgeFunction: "bridgeActions:echo" }] }],
    });
    expect(configured).toMatchObject({ success: true, data: { status: "configured" } });
    const secret = (configured.data as { bridge_secret: string }).bridge_secret;
    process.env.DINK_BRIDGE_SECRET = secret;
    try {
      // Five concurrent calls: every one verified by the function, one token request in all.
      const reply = await edge("edge-a").cmd({
        cmd: "call_center",
        service: "Notes",
        method: "Echo",
        payload: { text: "from the edge" },
        count: 5,
      });
      expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, token_fetches: 1 });
      const results = reply.results as unknown[];
      expect(results).toHaveLength(5);
      for (const r of results) {
        expect(r).toEqual({
          success: true,
          result: { edgeId: "edge-a", appId: loop.setup.appId, text: "from the edge" },
        });
      }
      // A method the bridge does not name.
      const unknown = await edge("edge-a").cmd({ cmd: "call_center", service: "Notes", method: "Nope", payload: {} });
      expect(unknown).toMatchObject({ ok: true, results: [{ success: false, error: { code: "METHOD_NOT_FOUND" } }] });
      // The function refuses tokens signed with another secret: the edge gets Convex's message.
      process.env.DINK_BRIDGE_SECRET = "0".repeat(64);
      const refused = await edge("edge-a").cmd({
        cmd: "call_center",
        service: "Notes",
        method: "Echo",
        payload: { text: "x" },
      });
      expect(refused).toMatchObject({ ok: true, results: [{ success: false, error: { code: "CONVEX_ERROR" } }] });
      expect(JSON.stringify(refused)).toContain("Invalid Dink token signature");
    } finally {
      delete process.env.DINK_BRIDGE_SECRET;
    }
  });
});

describe("interop", LOOP_TEST, () => {
  test("a plain yjs edge (npm nats client) over the same subjects converges with dink-edge edges", async () => {
    const yjsEdge = await new YjsNatsEdge({
      natsUrl: loop.gateway.natsUrl,
      key: loop.setup.edgeKeys["yjs-1"]!,
      appId: loop.setup.appId,
      edgeId: "yjs-1",
      clientId: 777_001,
    }).start();
    try {
      const mine = randomUUID();
      yjsEdge.set(mine, { id: mine, title: "from yjs", completed: false });
      await yjsEdge.flush();
      expect(yjsEdge.stats.applied).toBe(1);
      const theirs = await put("edge-a", { title: "from dink-edge to yjs", completed: true });
      await expectConverged(new Set([mine, theirs]));
      const yjsDiff = async () => {
        const convex = await loop.convexRows();
        const live = new Map(
          [...yjsEdge.rows()].filter(([, r]) => !r.deleted).map(([id, r]) => [id, sorted(r.fields)]),
        );
        const out: string[] = [];
        for (const [id, fields] of convex) {
          const mine = JSON.stringify(live.get(id));
          if (mine !== JSON.stringify(fields)) out.push(`${id}: yjs ${mine}, Convex ${JSON.stringify(fields)}`);
        }
        for (const id of live.keys()) if (!convex.has(id)) out.push(`${id}: only on the yjs edge`);
        return out;
      };
      await waitFor("the yjs edge to hold every Convex row", async () => (await yjsDiff()).length === 0).catch(
        async (e: Error) => {
          const diff = (await yjsDiff()).slice(0, 5);
          const status = await (await fetch(`${loop.gateway.httpUrl}/status.json`)).text();
          throw new Error(`${e.message}: ${JSON.stringify(diff)} stats ${JSON.stringify(yjsEdge.stats)}; ${status}`);
        },
      );
      // The dink-edge row reached it through the fan-out, not only through its start-up catch-up.
      expect(yjsEdge.stats.events).toBeGreaterThan(0);
    } finally {
      await yjsEdge.close();
    }
  });
});

function sorted(fields: Record<string, unknown>) {
  return Object.fromEntries(
    Object.keys(fields)
      .sort()
      .map((k) => [k, fields[k]]),
  );
}
