// @vitest-environment node
/**
 * The real `dink` CLI 2.29.0 (npm @fatagnus/dink-linux-x64) as a client of `dink-gateway dev`:
 * dev setup, keys, edges, services describe (its llm.txt compared with the package's own
 * rendering of the same descriptor), rpc call and scatter. The CLI uses NATS's default `_INBOX.`
 * reply prefix, which the gateway gives only to the bootstrap admin key (docs/gateway.md,
 * "Permissions"), so the CLI runs with that key after `dev setup`.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { renderLLMText } from "dink-convex";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  buildBinaries,
  ROOT,
  startEdge,
  startGateway,
  type Gateway,
  type Proc,
} from "../../../sandbox/dinkProcesses.mjs";

const run = promisify(execFile);
const DINK = join(ROOT, "node_modules", "@fatagnus", "dink-linux-x64", "dink");

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
  let keys: { api_key?: string; app_id?: string; edge_keys?: Array<{ edge_id: string; api_key: string }> } = {};

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
});
