// The whole sync loop on one machine, for the demo (demo/run.mjs) and the loop tests
// (convex-example/tests/loop/): a real nats-server and `dink-gateway` (dev), the app in the
// Convex sandbox (convex-test behind a real HTTP site on 127.0.0.1: LOCAL SANDBOX, NOT CONVEX),
// `$ADMIN.APPS.CONFIGURE_CONVEX` pointing the gateway at that site, the outbox drain running on an
// interval (as the app's cron would), and syncing `dink-edge` processes with their own stores.
//
//   dink-edge --$SYNC.<app>.<edge>.push--> gateway --POST /api/dink/applyDelta--> Convex sandbox
//   Convex sandbox outbox --POST /api/sync/convex-push--> gateway --$SYNC.<app>.<edge>.events--> edges

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { anyApi } from "convex/server";
import { startConvexSite } from "./convexSite.mjs";
import { configureConvex, devSetup, keyRequest, startGateway, startSyncEdge, waitFor } from "./dinkProcesses.mjs";

/**
 * @param {{ t: any, appName?: string, edgeNames: string[], collections?: string[],
 *           gatewayArgs?: string[], drainEveryMs?: number, edgePushTimeoutSecs?: number,
 *           log?: (msg: string) => void }} options
 */
export async function startSyncLoop(options) {
  const { t, edgeNames } = options;
  const collections = options.collections ?? ["tasks"];
  const log = options.log ?? (() => {});
  const storeRoot = mkdtempSync(join(tmpdir(), "dink-edges-"));
  let gateway = await startGateway({ args: options.gatewayArgs });
  const setup = await devSetup(gateway.natsUrl, options.appName ?? "tasks-app", edgeNames);
  const site = await startConvexSite(t);
  process.env.DINK_APP_SYNC_KEY = setup.syncKey;
  process.env.DINK_HTTP_URL = gateway.httpUrl;
  await configureConvex(gateway.natsUrl, setup.adminKey, {
    appId: setup.appId,
    siteUrl: site.url,
    syncKey: setup.syncKey,
  });

  // The outbox drain, as the app's cron runs it; the processor also schedules itself.
  const drain = { runs: 0, errors: 0, lastError: "", paused: false, ms: 0 };
  let draining = false;
  const drainTimer = setInterval(async () => {
    if (draining || drain.paused) return;
    draining = true;
    const started = performance.now();
    try {
      await t.action(anyApi.outboxProcessor.processOutboxBatch, {});
      drain.runs++;
      drain.ms += performance.now() - started;
    } catch (e) {
      drain.errors++;
      const message = String(e?.message ?? e);
      if (drain.lastError !== message) log(`outbox drain failed: ${message}`);
      drain.lastError = message;
    } finally {
      draining = false;
    }
  }, options.drainEveryMs ?? 100);

  const edges = new Map();
  const loop = {
    get gateway() {
      return gateway;
    },
    setup,
    site,
    drain,
    edges,
    collections,
    /** Starts (or restarts, with the same store) the syncing edge `name`, with its dev key or `key`. */
    async startEdge(name, { key, waitOnline = true } = {}) {
      const edge = await startSyncEdge(gateway.natsUrl, key ?? setup.edgeKeys[name], {
        store: join(storeRoot, name),
        collections,
        waitOnline,
        pushTimeoutSecs: options.edgePushTimeoutSecs,
      });
      edges.set(name, edge);
      return edge;
    },
    /** A new key for edge `name` (`POST /api/keys` with the sync key), as an operator rekeys an edge. */
    async newEdgeKey(name) {
      const response = await fetch(`${gateway.httpUrl}/api/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${setup.syncKey}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "edge", edge_id: name, name: `${name} (rekeyed)` }),
      });
      const body = await response.json();
      if (!body.success) throw new Error(`create key for ${name}: ${JSON.stringify(body.error)}`);
      return body.data.api_key;
    },
    /** Kills the dev gateway (and with it nats-server) and starts it again on the same ports and store. */
    async restartGateway({ kill = true } = {}) {
      if (kill) await gateway.proc.kill();
      else await gateway.proc.stop();
      gateway = await startGateway({
        natsPort: gateway.natsPort,
        httpPort: gateway.httpPort,
        dataDir: gateway.dataDir,
        args: options.gatewayArgs,
      });
      return gateway;
    },
    /** A control-plane request with the app's master key. */
    admin: (subject, body) => keyRequest(gateway.natsUrl, setup.adminKey, subject, body),
    /** The synced rows of `collection` in the Convex sandbox, by doc id: `{fields, deleted: false}`. */
    async convexRows(collection = collections[0]) {
      const docs = await t.run((ctx) => ctx.db.query(collection).collect());
      return new Map(docs.map((d) => [d.id, userFields(d)]));
    },
    /** The live rows of `collection` on edge `name`, by doc id (tombstones left out). */
    async edgeRows(name, collection = collections[0]) {
      const rows = await edges.get(name).rows(collection);
      return new Map(rows.filter((r) => !r.deleted).map((r) => [r.doc_id, userFields(r.fields)]));
    },
    /**
     * Waits (bounded) until every running edge has nothing pending and has caught up with the
     * fan-out, and the outbox is empty; returns the differences between Convex and each edge
     * (empty when converged).
     */
    async settle(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let diffs = [];
      for (;;) {
        await waitFor("the outbox to drain", () => outboxEmpty(t), Math.max(1_000, deadline - Date.now()));
        for (const [, edge] of running()) {
          await edge.cmd({ cmd: "sync", timeout_ms: Math.max(1_000, deadline - Date.now()) }, timeoutMs);
        }
        diffs = await loop.differences();
        if (diffs.length === 0 || Date.now() > deadline) return diffs;
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    /** The last lines each edge process wrote to stderr (for failure messages). */
    edgeLogs(lines = 15) {
      return [...edges]
        .map(([name, e]) => {
          const tail = e.proc
            .output()
            .split("\n")
            .filter((l) => !l.startsWith("{"))
            .slice(-lines);
          return `--- ${name}\n${tail.join("\n")}`;
        })
        .join("\n");
    },
    /** Waits (bounded) until the outbox has delivered everything (edges not consulted). */
    drained: (timeoutMs = 60_000) => waitFor("the outbox to drain", () => outboxEmpty(t), timeoutMs),
    /** Row differences between Convex and every running edge, as readable strings. */
    async differences() {
      const out = [];
      for (const collection of collections) {
        const convex = await loop.convexRows(collection);
        for (const [name] of running()) {
          const edge = await loop.edgeRows(name, collection);
          for (const [id, fields] of convex) {
            if (!edge.has(id)) out.push(`${name}: ${collection}/${id} missing (Convex has ${JSON.stringify(fields)})`);
            else if (JSON.stringify(edge.get(id)) !== JSON.stringify(fields)) {
              out.push(
                `${name}: ${collection}/${id} is ${JSON.stringify(edge.get(id))}, Convex ${JSON.stringify(fields)}`,
              );
            }
          }
          for (const id of edge.keys()) if (!convex.has(id)) out.push(`${name}: ${collection}/${id} not in Convex`);
        }
      }
      return out;
    },
    async stop() {
      clearInterval(drainTimer);
      await waitFor("the outbox drain to finish", () => !draining, 30_000).catch(() => {});
      for (const [, edge] of edges) await edge.stop().catch(() => {});
      await gateway.stop();
      await site.close();
      rmSync(storeRoot, { recursive: true, force: true });
    },
  };
  const running = () =>
    [...edges].filter(([, e]) => e.proc.child.exitCode === null && e.proc.child.signalCode === null);
  return loop;
}

/** The user's fields of a row, keys sorted, without Convex's and the sync layer's own. */
function userFields(row) {
  const out = {};
  for (const k of Object.keys(row).sort()) {
    if (k.startsWith("_") || k === "timestamp") continue;
    out[k] = row[k];
  }
  return out;
}

async function outboxEmpty(t) {
  // The outbox lives in the app's tables (internalSyncSchema); pending = not yet delivered.
  const items = await t.run((ctx) => ctx.db.query("sync_outbox").collect());
  return items.every((i) => i.status === "sent" || i.status === "dead");
}
