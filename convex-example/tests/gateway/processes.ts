/**
 * Real processes for the gateway tests: nats-server (started by `dink-gateway dev`), the gateway
 * and `dink-edge` edges, on free 127.0.0.1 ports, each ended by its pid when the suite ends.
 * Every wait is bounded in time. Runs in Node (vitest globalSetup).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, JSONCodec, type NatsConnection } from "nats";

export const ROOT = join(import.meta.dirname, "..", "..", "..");
const BIN = join(ROOT, "target", "debug");

/** Builds the two binaries (a no-op when cargo finds them current). */
export function buildBinaries(): void {
  const result = spawnSync("cargo", ["build", "--quiet", "-p", "dink-gateway", "-p", "dink-edge"], {
    cwd: ROOT,
    stdio: "inherit",
    timeout: 15 * 60_000,
  });
  if (result.status !== 0) throw new Error(`cargo build of dink-gateway and dink-edge failed (${result.status})`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A started process with its output so far. */
export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the process has exited (code, or null when killed). */
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

function start(command: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it is truthy, at most `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export interface Gateway {
  natsUrl: string;
  httpUrl: string;
  proc: Proc;
  dataDir: string;
  stop: () => Promise<void>;
}

/** `dink-gateway dev` on free ports with its own nats-server and data directory. */
export async function startGateway(): Promise<Gateway> {
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

export interface DevSetup {
  appId: string;
  syncKey: string;
  adminKey: string;
  edgeKeys: Record<string, string>;
}

const codec = JSONCodec();

/** `$DEV.SETUP` over NATS (dev mode lets an anonymous connection ask), as `dink dev setup` does. */
export async function devSetup(natsUrl: string, appName: string, edgeNames: string[]): Promise<DevSetup> {
  const nc: NatsConnection = await connect({ servers: natsUrl, timeout: 5_000 });
  try {
    const reply = await nc.request(
      "$DEV.SETUP",
      codec.encode({ app_name: appName, edge_count: edgeNames.length, edge_names: edgeNames }),
      { timeout: 10_000 },
    );
    const body = codec.decode(reply.data) as {
      success: boolean;
      data?: {
        app: { id: string };
        admin_key: string;
        sync_key: string;
        edge_keys: Array<{ edge_id: string; api_key: string }>;
      };
      error?: unknown;
    };
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

/** A `dink-edge` process (serves Echo.Echo and Echo.Fail), online once it says so. */
export async function startEdge(natsUrl: string, key: string): Promise<Proc> {
  const proc = start(join(BIN, "dink-edge"), ["--server", natsUrl, "--key", key, "--heartbeat-secs", "1"]);
  await waitFor("the edge to come online", () => {
    if (proc.child.exitCode !== null) throw new Error(`dink-edge exited:\n${proc.output()}`);
    return proc.output().includes("online");
  });
  return proc;
}
