// The real gateway side for tests, the demo and benchmarks: `dink-gateway dev` (which starts its
// own nats-server), more `dink-gateway serve` processes on the same NATS, and `dink-edge`
// processes (RPC only, or syncing with a local store and driven over stdin/stdout), on free
// 127.0.0.1 ports, each ended by its pid. Every wait is bounded in time. Used by
// convex-example/tests/gateway/, convex-example/tests/loop/, demo/run.mjs and bench/.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, JSONCodec } from "nats";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
let BIN = join(ROOT, "target", "debug");

/**
 * Builds the two binaries (a no-op when cargo finds them current) and uses them from then on:
 * "debug" for tests, "release" for benchmarks. `DINK_SKIP_CARGO_BUILD=1` uses them as they are.
 */
export function buildBinaries(profile = "debug") {
  BIN = join(ROOT, "target", profile);
  // For iterating on the Node side while the Rust side is being edited: use the binaries as built.
  if (process.env.DINK_SKIP_CARGO_BUILD === "1") return;
  const release = profile === "release" ? ["--release"] : [];
  const result = spawnSync("cargo", ["build", "--quiet", ...release, "-p", "dink-gateway", "-p", "dink-edge"], {
    cwd: ROOT,
    stdio: "inherit",
    timeout: 15 * 60_000,
  });
  if (result.status !== 0) throw new Error(`cargo build of dink-gateway and dink-edge failed (${result.status})`);
}

export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it is truthy, at most `timeoutMs`. */
export async function waitFor(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function start(command, args, { env = process.env, stdin = "ignore", onStdout } = {}) {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: [stdin, "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d.toString();
    onStdout?.(d);
  });
  child.stderr?.on("data", (d) => (out += d.toString()));
  const exited = new Promise((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!done) child.kill("SIGKILL");
      await exited;
    },
    /** SIGKILL, as a crash would end it. */
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Waits (bounded) until the gateway at `httpUrl` answers, failing early if `proc` exited. */
async function waitHttp(proc, httpUrl) {
  await waitFor(
    "the gateway's HTTP server",
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`dink-gateway exited:\n${proc.output()}`);
      try {
        return (await fetch(`${httpUrl}/`)).ok;
      } catch {
        return false;
      }
    },
    60_000,
  );
}

/**
 * `dink-gateway dev` on free ports with its own nats-server and data directory. `options` reuse
 * the ports and data directory of an earlier one (a restart: same JetStream store, same keys)
 * and add command-line arguments.
 * @param {{ natsPort?: number, httpPort?: number, dataDir?: string, args?: string[] }} [options]
 */
export async function startGateway(options = {}) {
  const natsPort = options.natsPort ?? (await freePort());
  const httpPort = options.httpPort ?? (await freePort());
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "dink-gw-"));
  const args = ["dev", "--nats-port", String(natsPort), "--http-port", String(httpPort), "--data-dir", dataDir];
  const proc = start(join(BIN, "dink-gateway"), [...args, ...(options.args ?? [])]);
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  await waitHttp(proc, httpUrl);
  return {
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    natsPort,
    httpPort,
    httpUrl,
    proc,
    dataDir,
    stop: async () => {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One more gateway, `dink-gateway serve`, on the NATS of a `dev` gateway (its credentials from
 * the dev data directory's nats-creds.json): the way a deployment adds gateways. Its own HTTP
 * port; stopping it leaves the dev gateway and NATS running.
 * @param {{ natsUrl: string, dataDir: string }} dev
 * @param {{ httpPort?: number, args?: string[] }} [options]
 */
export async function startServeGateway(dev, options = {}) {
  const creds = JSON.parse(readFileSync(join(dev.dataDir, "nats-creds.json"), "utf8"));
  const httpPort = options.httpPort ?? (await freePort());
  const env = {
    ...process.env,
    DINK_GW_STATE_USER: creds.state_user,
    DINK_GW_STATE_PASSWORD: creds.state_password,
    DINK_GW_BUS_USER: creds.bus_user,
    DINK_GW_BUS_PASSWORD: creds.bus_password,
    DINK_GW_ISSUER_SEED: creds.issuer_seed,
    DINK_GW_SYS_USER: creds.sys_user,
    DINK_GW_SYS_PASSWORD: creds.sys_password,
  };
  const args = ["serve", "--nats-url", dev.natsUrl, "--http-port", String(httpPort), "--data-dir", dev.dataDir];
  const proc = start(join(BIN, "dink-gateway"), [...args, "--env", "dev", ...(options.args ?? [])], { env });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  await waitHttp(proc, httpUrl);
  return { httpPort, httpUrl, proc, stop: () => proc.stop() };
}

const codec = JSONCodec();

/** `$DEV.SETUP` over NATS (dev mode lets an anonymous connection ask), as `dink dev setup` does. */
export async function devSetup(natsUrl, appName, edgeNames) {
  const nc = await connect({ servers: natsUrl, timeout: 5_000 });
  try {
    const reply = await nc.request(
      "$DEV.SETUP",
      codec.encode({ app_name: appName, edge_count: edgeNames.length, edge_names: edgeNames }),
      { timeout: 10_000 },
    );
    const body = codec.decode(reply.data);
    if (!body.success || body.data === undefined) throw new Error(`$DEV.SETUP failed: ${JSON.stringify(body.error)}`);
    return {
      appId: body.data.app.id,
      syncKey: body.data.sync_key,
      adminKey: body.data.admin_key,
      edgeKeys: Object.fromEntries(body.data.edge_keys.map((k) => [k.edge_id, k.api_key])),
    };
  } finally {
    await nc.close();
  }
}

/** A `dink-edge` process (serves Echo.Echo and Echo.Fail), resolved once it is online. */
export async function startEdge(natsUrl, key) {
  const proc = start(join(BIN, "dink-edge"), ["--server", natsUrl, "--key", key, "--heartbeat-secs", "1"]);
  await waitFor("the edge to come online", () => {
    if (proc.child.exitCode !== null) throw new Error(`dink-edge exited:\n${proc.output()}`);
    return proc.output().includes("online");
  });
  return proc;
}

/** The real `dink` CLI 2.29.0 (npm @fatagnus/dink-linux-x64). */
export const DINK_CLI = join(ROOT, "node_modules", "@fatagnus", "dink-linux-x64", "dink");

/**
 * The real CLI's own edge, `dink tunnel --port <port> --name <name>`, with an edge key; resolved
 * with the public URL the gateway gave it once it is registered (it exits 1 when registering
 * fails, which rejects this).
 */
export async function startTunnel(natsUrl, key, { port, name }) {
  const proxyAddr = `127.0.0.1:${await freePort()}`;
  const proc = start(
    DINK_CLI,
    [
      "tunnel",
      "--port",
      String(port),
      "--name",
      name,
      "--server",
      natsUrl,
      "--api-key",
      key,
      "--proxy-addr",
      proxyAddr,
    ],
    { env: { ...process.env, DINK_API_KEY: "", DINK_APP_ID: "", DINK_SERVER: "" } },
  );
  const url = await waitFor(
    "dink tunnel to register",
    () => {
      if (proc.child.exitCode !== null) throw new Error(`dink tunnel exited:\n${proc.output()}`);
      return proc.output().match(/Internet:\s+(\S+)/)?.[1];
    },
    20_000,
  );
  return { proc, url };
}

/** The key id the gateway derives from a key ("k" + 24 hex digits of its SHA-256). */
export function keyId(key) {
  return `k${createHash("sha256").update(key).digest("hex").slice(0, 24)}`;
}

/**
 * One control-plane request as a key holder makes it: connected with the key as token, replies on
 * the key's private inbox (`_INBOX_<key id>`, the only one the gateway lets it read), the key in
 * `Authorization: Bearer`. Resolves to the reply envelope.
 */
export async function keyRequest(natsUrl, key, subject, body) {
  const nc = await connect({ servers: natsUrl, token: key, inboxPrefix: `_INBOX_${keyId(key)}`, timeout: 5_000 });
  try {
    const { headers } = await import("nats");
    const h = headers();
    h.set("Authorization", `Bearer ${key}`);
    const reply = await nc.request(subject, codec.encode(body), { timeout: 5_000, headers: h });
    return codec.decode(reply.data);
  } finally {
    await nc.close();
  }
}

/**
 * A syncing `dink-edge` process: its own store directory and collections, driven over the
 * line-based JSON control protocol on stdin/stdout (docs/edge.md). `cmd` sends one command and
 * resolves to its reply; `events` holds the unsolicited lines (`online`, `rejected`, `kicked`, …)
 * in arrival order. Resolved once the edge printed `{"event":"online"}` (or, with
 * `waitOnline: false`, at once: an edge may start offline, e.g. with a revoked key).
 * @param {string} natsUrl
 * @param {string} key
 * @param {{ store: string, collections: string[], heartbeatSecs?: number, waitOnline?: boolean,
 *           pushTimeoutSecs?: number }} options
 */
export async function startSyncEdge(natsUrl, key, options) {
  let buffer = "";
  let nextId = 1;
  const waiting = new Map();
  const events = [];
  const onLine = (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not a protocol line (the protocol keeps stdout to JSON; be lenient anyway)
    }
    if (msg.event !== undefined) events.push(msg);
    else if (waiting.has(msg.id)) {
      waiting.get(msg.id)(msg);
      waiting.delete(msg.id);
    }
  };
  const args = ["--server", natsUrl, "--key", key, "--store", options.store];
  for (const c of options.collections) args.push("--collection", c);
  args.push("--heartbeat-secs", String(options.heartbeatSecs ?? 1));
  if (options.pushTimeoutSecs !== undefined) args.push("--push-timeout-secs", String(options.pushTimeoutSecs));
  const proc = start(join(BIN, "dink-edge"), args, {
    stdin: "pipe",
    onStdout: (d) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        onLine(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    },
  });
  proc.child.stdin.on("error", () => {}); // a killed edge closes its stdin under us
  const exitedWithReplies = proc.exited.then((code) => {
    for (const [, resolve] of waiting)
      resolve({ ok: false, error: { code: "EXITED", message: `edge exited ${code}` } });
    waiting.clear();
    return code;
  });
  /** Sends one command; resolves to the reply (`{ok, ...}`), bounded by `timeoutMs`. */
  const cmd = (command, timeoutMs = 60_000) => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      return Promise.resolve({ ok: false, error: { code: "EXITED", message: "the edge process has exited" } });
    }
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve({ ok: false, error: { code: "NO_REPLY", message: `no reply to ${command.cmd} in ${timeoutMs} ms` } });
      }, timeoutMs);
      waiting.set(id, (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      proc.child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
    });
  };
  const edge = {
    proc,
    events,
    cmd,
    exited: exitedWithReplies,
    /** Resolves to the first event matching `pred` (already seen or future), bounded in time. */
    waitEvent: (what, pred, timeoutMs = 30_000) =>
      waitFor(
        what,
        () => {
          const found = events.find(pred);
          if (found) return found;
          if (proc.child.exitCode !== null && !events.some(pred)) {
            throw new Error(`dink-edge exited before ${what}:\n${proc.output()}`);
          }
          return undefined;
        },
        timeoutMs,
      ),
    /** Every row of `collection` as the edge's store holds it (tombstones included). */
    rows: async (collection) => {
      const r = await cmd({ cmd: "rows", collection });
      if (!r.ok) throw new Error(`rows ${collection}: ${JSON.stringify(r.error)}`);
      return r.rows;
    },
    /** Asks the edge to quit cleanly; kills it if it does not within 5 s. */
    stop: async () => {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.stdin.write(`${JSON.stringify({ cmd: "quit", id: nextId++ })}\n`);
        const done = await Promise.race([proc.exited.then(() => true), sleep(5_000).then(() => false)]);
        if (!done) await proc.stop();
      }
    },
    kill: () => proc.kill(),
  };
  if (options.waitOnline !== false) {
    await edge.waitEvent("the edge to come online", (e) => e.event === "online", 60_000);
  }
  return edge;
}

/** `$ADMIN.APPS.CONFIGURE_CONVEX` with `key` (the app's master or the bootstrap admin key). */
export async function configureConvex(natsUrl, key, { appId, siteUrl, syncKey }) {
  const reply = await keyRequest(natsUrl, key, "$ADMIN.APPS.CONFIGURE_CONVEX", {
    app_id: appId,
    convex_url: siteUrl,
    convex_site_url: siteUrl,
    sync_key: syncKey,
  });
  if (!reply.success) throw new Error(`CONFIGURE_CONVEX failed: ${JSON.stringify(reply.error)}`);
  return reply.data;
}
