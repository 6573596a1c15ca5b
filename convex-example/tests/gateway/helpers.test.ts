// @vitest-environment node
/**
 * The edge helpers from Convex actions (convex-test, the local sandbox) against the real thing:
 * `dink-gateway dev` with its own nats-server 2.15.1, and `dink-edge` processes serving
 * Echo.Echo / Echo.Fail. Also the actions the real `dink` CLI generates (`--convex-actions`),
 * unchanged, and the audit log of kicks and revocations.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convexTest } from "convex-test";
import { anyApi, internalActionGeneric, type FunctionReference } from "convex/server";
import { register } from "dink-convex/test";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import schema from "../../convex/schema";
import { components } from "../../convex/_generated/api";
import { modules } from "../harness";
import {
  buildBinaries,
  devSetup,
  keyRequest,
  ROOT,
  startEdge,
  startGateway,
  waitFor,
  type DevSetup,
  type Gateway,
  type Proc,
} from "../../../sandbox/dinkProcesses.mjs";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ref = FunctionReference<"action", any>;
const edgeActions = anyApi.edgeActions as unknown as Record<string, Ref>;
const echoActions = anyApi.echoActions as unknown as Record<string, Ref>;

let gateway: Gateway;
let setup: DevSetup;
const edges: Record<string, Proc> = {};
const generatedDir = mkdtempSync(join(tmpdir(), "dink-echo-actions-"));

/** Generates Convex actions for tests/fixtures/echo.proto with the real dink CLI. */
function generateEchoActions(): string {
  const dink = join(ROOT, "node_modules", "@fatagnus", "dink-linux-x64", "dink");
  mkdirSync(join(generatedDir, "convex"), { recursive: true });
  execFileSync(
    dink,
    [
      "codegen",
      "--proto",
      join(ROOT, "tests", "fixtures"),
      "--output",
      join(generatedDir, "go"),
      "--lang",
      "ts",
      "--ts-output",
      join(generatedDir, "convex"),
      "--convex-actions",
      "--convex-output",
      join(generatedDir, "convex"),
      "--dink-convex-import",
      "dink-convex",
    ],
    { cwd: generatedDir, stdio: "pipe" },
  );
  return join(generatedDir, "convex", "echo.actions.ts");
}

function makeTest(generated: string) {
  const t = convexTest(schema, {
    ...modules,
    "../convex/edgeActions.ts": () => import("./edgeActions"),
    // The generated factory, used as the skill doc shows: `export const {...} = createEchoActions({ internalAction })`.
    "../convex/echoActions.ts": async () => {
      const m = (await import(/* @vite-ignore */ generated)) as {
        createEchoActions: (input: { internalAction: typeof internalActionGeneric }) => Record<string, unknown>;
      };
      return m.createEchoActions({ internalAction: internalActionGeneric });
    },
  });
  register(t);
  return t;
}

let generatedModule = "";

beforeAll(async () => {
  buildBinaries();
  generatedModule = generateEchoActions();
  gateway = await startGateway();
  setup = await devSetup(gateway.natsUrl, "gateway-helpers", ["edge-a", "edge-b", "edge-c", "edge-k"]);
  edges["edge-a"] = await startEdge(gateway.natsUrl, setup.edgeKeys["edge-a"]!);
  edges["edge-b"] = await startEdge(gateway.natsUrl, setup.edgeKeys["edge-b"]!);
  vi.stubEnv("DINK_HTTP_URL", gateway.httpUrl);
  vi.stubEnv("DINK_APP_SYNC_KEY", setup.syncKey);
}, 20 * 60_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  for (const edge of Object.values(edges)) await edge.stop();
  await gateway?.stop();
  rmSync(generatedDir, { recursive: true, force: true });
}, 60_000);

describe("RPC through the gateway", () => {
  test("callEdge: the edge's result, its own error, an unknown method and an unknown edge", async () => {
    const t = makeTest(generatedModule);
    expect(
      await t.action(edgeActions.call!, { edgeId: "edge-a", method: "Echo", payload: { text: "hi", n: 2 } }),
    ).toEqual({
      edgeId: "edge-a",
      success: true,
      result: { text: "hi", n: 2 },
    });
    expect(await t.action(edgeActions.call!, { edgeId: "edge-a", method: "Fail", payload: {} })).toEqual({
      edgeId: "edge-a",
      success: false,
      error: { code: "DEMO_FAILURE", message: "this method always fails" },
    });
    const unknownMethod = await t.action(edgeActions.call!, { edgeId: "edge-a", method: "Nope", payload: {} });
    expect(unknownMethod).toMatchObject({ success: false });
    const unknownEdge = await t.action(edgeActions.call!, { edgeId: "edge-zz", method: "Echo", payload: {} });
    expect(unknownEdge).toMatchObject({ edgeId: "edge-zz", success: false, error: { code: "EDGE_NOT_FOUND" } });
  });

  test("the actions the real dink CLI generated work unchanged, strict returns validators included", async () => {
    const t = makeTest(generatedModule);
    expect(await t.action(echoActions.echo!, { edgeId: "edge-b", text: "generated" })).toEqual({
      edgeId: "edge-b",
      success: true,
      result: { text: "generated" },
    });
    const scattered = await t.action(echoActions.scatterEcho!, { edgeIds: ["edge-a", "edge-b"], text: "x" });
    expect(scattered).toMatchObject({ totalEdges: 2, successfulCount: 2, failedCount: 0 });
  });

  test("scatterCall: per-edge results and counts, with one failing edge", async () => {
    const t = makeTest(generatedModule);
    const result = await t.action(edgeActions.scatter!, { method: "Echo", edgeIds: ["edge-a", "edge-b", "edge-zz"] });
    expect(result.totalEdges).toBe(3);
    expect(result.successfulCount).toBe(2);
    expect(result.failedCount).toBe(1);
    expect(result.results.map((r: { edgeId: string; success: boolean }) => [r.edgeId, r.success])).toEqual([
      ["edge-a", true],
      ["edge-b", true],
      ["edge-zz", false],
    ]);
    // Without ids: every online edge serving the service.
    const byService = await t.action(edgeActions.scatter!, { method: "Echo" });
    expect(byService.results.map((r: { edgeId: string }) => r.edgeId).sort()).toEqual(["edge-a", "edge-b"]);
  });

  test("discoverEdges by service and online status; describe and llm.txt from the registered descriptor", async () => {
    const t = makeTest(generatedModule);
    const echo = await t.action(edgeActions.discover!, { service: "Echo", onlineOnly: true });
    expect(echo.map((e: { id: string }) => e.id).sort()).toEqual(["edge-a", "edge-b"]);
    expect(
      echo.every((e: { status: string; services: string[] }) => e.status === "online" && e.services.includes("Echo")),
    ).toBe(true);
    expect(await t.action(edgeActions.discover!, { service: "NoSuchService" })).toEqual([]);

    const descriptor = await t.action(edgeActions.describe!, { name: "Echo" });
    expect(descriptor).toMatchObject({ name: "Echo", version: "1.0.0", description: "Echoes its payload" });
    expect(descriptor.methods.map((m: { name: string }) => m.name)).toEqual(["Echo", "Fail"]);
    const llm = await t.action(edgeActions.llm!, { names: ["Echo"] });
    expect(llm).toContain("# Echo LLM Reference");
    expect(llm).toContain("### Fail");
  });
});

describe("bridge tokens", () => {
  test("the gateway mints a token for an edge's own identity, and a Convex action verifies it", async () => {
    const t = makeTest(generatedModule);
    const configured = await keyRequest(gateway.natsUrl, setup.adminKey, "$ADMIN.APPS.CONFIGURE_BRIDGE", {
      app_id: setup.appId,
      secret: "",
      deploy_key: "",
      services: [],
    });
    expect(configured).toMatchObject({ success: true, data: { status: "configured" } });
    const secret = (configured.data as { bridge_secret: string }).bridge_secret;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);

    const edgeKey = setup.edgeKeys["edge-a"]!;
    const reply = await keyRequest(gateway.natsUrl, edgeKey, `$EDGE.${setup.appId}.edge-a.CONVEX_TOKEN`, {});
    expect(reply.success).toBe(true);
    const token = reply.data as { edgeId: string; appId: string; exp: number; sig: string };
    expect(token).toMatchObject({ edgeId: "edge-a", appId: setup.appId });
    expect(token.exp - Date.now() / 1000).toBeGreaterThan(250);

    vi.stubEnv("DINK_BRIDGE_SECRET", secret);
    try {
      expect(await t.action(edgeActions.bridged!, { _dink: token, value: 7 })).toEqual({
        identity: { edgeId: "edge-a", appId: setup.appId, groups: [] },
        args: { value: 7 },
      });
      // A token for one edge is not another's: changing the edge id breaks the signature.
      await expect(t.action(edgeActions.bridged!, { _dink: { ...token, edgeId: "edge-b" }, value: 7 })).rejects.toThrow(
        "Invalid Dink token signature",
      );
    } finally {
      vi.stubEnv("DINK_BRIDGE_SECRET", "");
    }

    // An edge cannot ask for another edge's token (its key may not even publish there).
    const other = await keyRequest(gateway.natsUrl, edgeKey, `$EDGE.${setup.appId}.edge-b.CONVEX_TOKEN`, {}).then(
      (r) => (r.success ? "minted" : "refused"),
      () => "refused",
    );
    expect(other).toBe("refused");
  });
});

describe("kick and keys through the gateway", () => {
  test("kickEdge: the edge's OnKick runs and it disconnects; the kick is audited; an unknown edge is success with a message", async () => {
    const t = makeTest(generatedModule);
    const edge = edges["edge-b"]!;
    expect(await t.action(edgeActions.kick!, { edgeId: "edge-b", reason: "maintenance" })).toEqual({
      success: true,
      edgeId: "edge-b",
    });
    await waitFor("edge-b to run its kick callback and exit", () => edge.child.exitCode !== null, 15_000);
    expect(edge.output()).toContain("kicked: maintenance");
    const after = await t.action(edgeActions.discover!, { service: "Echo", onlineOnly: true });
    expect(after.map((e: { id: string }) => e.id)).toEqual(["edge-a"]);
    const audit = await t.query(components.dink.audit.list, { kind: "kick" });
    expect(audit.map((a: { subject: string; reason?: string }) => [a.subject, a.reason])).toContainEqual([
      "edge-b",
      "maintenance",
    ]);

    const unknown = await t.action(edgeActions.kick!, { edgeId: "edge-nobody" });
    expect(unknown).toMatchObject({ success: true, edgeId: "edge-nobody" });
    expect(unknown.message).toContain("not found");
  });

  test("createEdgeKey -> an edge connects with it -> revokeEdgeKey kicks it and its reconnect is refused", async () => {
    const t = makeTest(generatedModule);
    const created = await t.action(edgeActions.createKey!, { edgeId: "edge-new" });
    expect(created.apiKey).toMatch(/^dk_dev_ed_/);
    expect(created.key).toMatchObject({ edgeId: "edge-new", type: "edge", status: "active" });
    const listed = await t.action(edgeActions.listKeys!, {});
    expect(listed.map((k: { id: string }) => k.id)).toContain(created.key.id);

    const edge = await startEdge(gateway.natsUrl, created.apiKey);
    edges["edge-new"] = edge;
    const revoked = await t.action(edgeActions.revokeKey!, { keyId: created.key.id, reason: "decommissioned" });
    expect(revoked).toMatchObject({ success: true, keyId: created.key.id, edgeId: "edge-new", kicked: true });
    await waitFor("the revoked edge to exit", () => edge.child.exitCode !== null, 15_000);
    expect(edge.output()).toContain("kicked: decommissioned");

    // Its key no longer connects.
    const again = await startEdge(gateway.natsUrl, created.apiKey).then(
      () => "connected",
      (error: unknown) => String(error),
    );
    expect(again).toMatch(/exited/);
    const audit = await t.query(components.dink.audit.list, { kind: "revoke" });
    expect(audit.map((a: { subject: string; reason?: string }) => [a.subject, a.reason])).toContainEqual([
      created.key.id,
      "decommissioned",
    ]);
  });

  test("a wrong sync key: the helpers answer UNAUTHORIZED, not a crash", async () => {
    const t = makeTest(generatedModule);
    vi.stubEnv("DINK_APP_SYNC_KEY", "dk_dev_ct_gateway-helpers_wrongwrongwrongwrongwrongwrongwrongwrong");
    try {
      expect(await t.action(edgeActions.call!, { edgeId: "edge-a", method: "Echo", payload: {} })).toMatchObject({
        success: false,
        error: { code: "UNAUTHORIZED" },
      });
    } finally {
      vi.stubEnv("DINK_APP_SYNC_KEY", setup.syncKey);
    }
  });
});
