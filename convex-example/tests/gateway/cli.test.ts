// @vitest-environment node
/**
 * The real `dink` CLI 2.29.0 (npm @fatagnus/dink-linux-x64) as a client of `dink-gateway dev`:
 * dev setup, keys, edges, services describe (its llm.txt compared with the package's own
 * rendering of the same descriptor), rpc call and scatter, and its own edge, `dink tunnel`. The
 * CLI uses NATS's default `_INBOX.` reply prefix, which the gateway gives to the bootstrap admin
 * key and (3-token inboxes only, in the EDGES account) to edge keys with tunnel:expose
 * (docs/gateway.md, "Permissions"), so the admin commands run with the bootstrap key.
 */
import { execFile } from "node:child_process";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { renderLLMText } from "dink-convex";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  buildBinaries,
  DINK_CLI as DINK,
  startEdge,
  startGateway,
  startTunnel,
  waitFor,
  type Gateway,
  type Proc,
} from "../../../sandbox/dinkProcesses.mjs";

const run = promisify(execFile);

let gateway: Gateway;
let adminKey = "";
let cwd = "";
let edge: Proc | undefined;

/** Runs the CLI against the gateway; resolves to stdout, rejects with stderr on a non-zero exit. */
async function dink(args: string[], key: string | null = adminKey): Promise<string> {
  const auth = key === null ? [] : ["--api-key", key];
  const { stdout } = await run(DINK, [...args, "--server", gateway.natsUrl, ...auth], {
    cwd,
    timeout: 30_000,
    env: { ...process.env, DINK_API_KEY: "", DINK_APP_ID: "", DINK_SERVER: "" },
  });
  return stdout;
}

beforeAll(async () => {
  buildBinaries();
  gateway = await startGateway();
  adminKey = readFileSync(join(gateway.dataDir, "admin.key"), "utf8").trim();
  cwd = mkdtempSync(join(tmpdir(), "dink-cli-"));
}, 20 * 60_000);

afterAll(async () => {
  await edge?.stop();
  await gateway?.stop();
  rmSync(cwd, { recursive: true, force: true });
}, 60_000);

describe("the dink CLI against dink-gateway dev", () => {
  let keys: {
    api_key?: string;
    app_id?: string;
    sync_key?: string;
    edge_keys?: Array<{ edge_id: string; api_key: string }>;
  } = {};

  test("dev setup creates the app and its keys", async () => {
    await dink(["dev", "setup", "--edge-names", "cli-a,cli-b", "--no-save"], null);
    keys = JSON.parse(readFileSync(join(cwd, ".dink", "dev-keys.json"), "utf8")) as typeof keys;
    expect(JSON.stringify(keys)).toContain("dk_dev_ed_dev-app_cli-a_");
    const edgeKey = JSON.stringify(keys).match(/dk_dev_ed_dev-app_cli-a_[A-Za-z0-9]+/)?.[0];
    expect(edgeKey).toBeDefined();
    edge = await startEdge(gateway.natsUrl, edgeKey!);
  });

  test("keys create / list / get / revoke", async () => {
    const created = await dink(["keys", "create", "cli-c", "--type", "edge", "--edge-id", "cli-c", "--app", "dev-app"]);
    const id = created.match(/\bk[0-9a-f]{24}\b/)?.[0];
    expect(id, created).toBeDefined();
    expect(created).toMatch(/dk_dev_ed_dev-app_cli-c_/);
    const listed = JSON.parse(await dink(["keys", "list", "-o", "json", "--app", "dev-app"])) as Array<{ id: string }>;
    expect(listed.map((k) => k.id)).toContain(id);
    const got = JSON.parse(await dink(["keys", "get", id!, "-o", "json", "--app", "dev-app"])) as {
      id: string;
      status: string;
    };
    expect(got).toMatchObject({ id, status: "active" });
    await dink(["keys", "revoke", id!, "-r", "cli test", "--app", "dev-app"]);
    const revoked = JSON.parse(await dink(["keys", "get", id!, "-o", "json", "--app", "dev-app"])) as {
      status: string;
    };
    expect(revoked.status).toBe("revoked");
  });

  test("edges list / get / discover see the connected edge", async () => {
    const listed = JSON.parse(await dink(["edges", "list", "-o", "json", "--app", "dev-app"])) as Array<{
      id: string;
      status: string;
    }>;
    expect(listed.find((e) => e.id === "cli-a")?.status).toBe("online");
    const one = JSON.parse(await dink(["edges", "get", "cli-a", "-o", "json", "--app", "dev-app"])) as { id: string };
    expect(one.id).toBe("cli-a");
    const found = await dink(["edges", "discover", "-s", "Echo", "-o", "json", "--app", "dev-app"]);
    expect(found).toContain("cli-a");
  });

  test("services describe: its llm.txt equals the package's rendering of the same descriptor", async () => {
    const json = JSON.parse(await dink(["services", "describe", "Echo", "--json", "--app", "dev-app"])) as Record<
      string,
      unknown
    >;
    expect(json).toMatchObject({ name: "Echo" });
    const fromCli = await dink(["services", "describe", "Echo", "--llm-txt", "--app", "dev-app"]);
    const { serviceDescriptorOf } = await import("../../../npm/src/client/edges/wire");
    expect(fromCli.trimEnd()).toBe(renderLLMText(serviceDescriptorOf(json, "cli")).trimEnd());
  });

  test("rpc call and scatter reach the edge", async () => {
    const out = await dink([
      "rpc",
      "call",
      "--app",
      "dev-app",
      "--edge-id",
      "cli-a",
      "-s",
      "Echo",
      "-m",
      "Echo",
      "--payload",
      '{"text":"from the cli"}',
      "-o",
      "json",
    ]);
    expect(out).toContain("from the cli");
    const scatter = await dink([
      "rpc",
      "scatter",
      "--app",
      "dev-app",
      "-s",
      "Echo",
      "-m",
      "Echo",
      "--edge-ids",
      "cli-a",
      "--payload",
      "{}",
      "-o",
      "json",
    ]);
    expect(scatter).toMatch(/"successful_count":\s*1/);
  });

  test("dink tunnel stays connected, serves HTTP through /tunnels/<id>/, and leaves when kicked", async () => {
    // The local server the tunnel exposes: records what reached it, echoes the request.
    const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
    const local = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(req.url?.startsWith("/missing") ? 404 : 200, { "content-type": "text/plain", "x-local": "yes" });
        res.end(`${req.method} ${req.url} ${body}`);
      });
    });
    await new Promise<void>((r) => local.listen(0, "127.0.0.1", r));
    const port = (local.address() as AddressInfo).port;
    const edgeKey = keys.edge_keys?.find((k) => k.edge_id === "cli-b")?.api_key;
    expect(edgeKey).toBeDefined();
    const tunnel = await startTunnel(gateway.natsUrl, edgeKey!, { port, name: "web" });
    try {
      expect(tunnel.url).toMatch(new RegExp(`^${gateway.httpUrl}/tunnels/t[0-9a-f]{16}/$`));
      const auth = { Authorization: `Bearer ${keys.sync_key}` };

      const get = await fetch(`${tunnel.url}hello/world?x=1`, { headers: auth });
      expect(get.status).toBe(200);
      expect(get.headers.get("x-local")).toBe("yes");
      expect(await get.text()).toBe("GET /hello/world?x=1 ");
      const post = await fetch(`${tunnel.url}form`, { method: "POST", headers: auth, body: "a=1&b=2" });
      expect(await post.text()).toBe("POST /form a=1&b=2");
      const missing = await fetch(`${tunnel.url}missing`, { headers: auth });
      expect(missing.status).toBe(404);
      // The app key stays at the gateway; the request reached the local server otherwise intact.
      expect(seen.map((s) => s.url)).toEqual(["/hello/world?x=1", "/form", "/missing"]);
      expect(seen.every((s) => s.headers.authorization === undefined)).toBe(true);

      // Without an app key: refused at the gateway, nothing reaches the edge.
      const anon = await fetch(tunnel.url);
      expect(anon.status).toBe(401);
      expect(seen).toHaveLength(3);

      // The CLI's own `tunnel list`, with the edge key and its default inbox, sees it.
      const listed = await dink(["tunnel", "list"], edgeKey!);
      expect(listed).toContain(tunnel.url.split("/").at(-2));
      expect(tunnel.proc.child.exitCode).toBeNull();

      // A kick: the tunnel deregisters; the gateway forgets its tunnels.
      const kick = await fetch(`${gateway.httpUrl}/api/edges/cli-b/kick`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ reason: "tunnel test" }),
      });
      expect(kick.status).toBe(200);
      await waitFor("the tunnel to obey the kick", () => tunnel.proc.output().includes("received kick"), 10_000);
      const gone = await fetch(tunnel.url, { headers: auth });
      expect(gone.status).toBe(404);
      expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("TUNNEL_NOT_FOUND");
      expect(seen).toHaveLength(3);
    } finally {
      await tunnel.proc.stop();
      local.close();
    }
  });
});
