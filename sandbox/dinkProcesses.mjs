// The real gateway side for tests and benchmarks: `dink-gateway dev` (which starts its own
// nats-server) and `dink-edge` processes, on free 127.0.0.1 ports, each ended by its pid. Every
// wait is bounded in time. Used by convex-example/tests/gateway/ and bench/gateway-bench.mjs.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, JSONCodec } from "nats";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
let BIN = join(ROOT, "target", "debug");

/**
 * Builds the two binaries (a no-op when cargo finds them current) and uses them from then on:
 * "debug" for tests, "release" for benchmarks.
 */
export function buildBinaries(profile = "debug") {
  BIN = join(ROOT, "target", profile);
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

function start(command, args) {
  const child = spawn(command, args, { cwd: ROOT, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d) => (out += d.toString()));
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
  };
}

/** `dink-gateway dev` on free ports with its own nats-server and data directory. */
export async function startGateway() {
  const natsPort = await freePort();
  const httpPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "dink-gw-"));
  const proc = start(join(BIN, "dink-gateway"), [
    "dev",
    "--nats-port",
    String(natsPort),
    "--http-port",
    String(httpPort),
    "--data-dir",
    dataDir,
  ]);
  const httpUrl = `http://127.0.0.1:${httpPort}`;
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
  return {
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    httpUrl,
    proc,
    dataDir,
    stop: async () => {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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

/** The key id the gateway derives from a key ("k" + 24 hex digits of its SHA-256). */
export function keyId(key) {
  return `k${createHash("sha256").update(key).digest("hex").slice(0, 24)}`;
}

/**
 * One control-plane request as a key holder makes it: connected with the key as token, replies on
 * the key's private inbox (`_INBOX.<key id>`, the only one the gateway lets it read), the key in
 * `Authorization: Bearer`. Resolves to the reply envelope.
 */
export async function keyRequest(natsUrl, key, subject, body) {
  const nc = await connect({ servers: natsUrl, token: key, inboxPrefix: `_INBOX.${keyId(key)}`, timeout: 5_000 });
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
