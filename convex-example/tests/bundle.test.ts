// @vitest-environment node
/**
 * The real Convex bundler, run offline (scripts/convex-bundle-check.mjs), bundles the example app
 * with `dink-convex` resolved through its package `exports`; then the bundled modules, not the
 * sources, are loaded into convex-test and run: a syncMutation (wasm `change`) and the HTTP ingest
 * route (wasm `ingest`) execute from the bundle.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { anyApi } from "convex/server";
import { convexTest } from "convex-test";
import { register } from "dink-convex/test";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import * as Y from "yjs";
import schema from "../convex/schema";

const script = fileURLToPath(new URL("../../scripts/convex-bundle-check.mjs", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "dink-bundle-test-"));
// vitest.config.ts marks this directory external, so Node itself loads what the bundler wrote.
const nativeImport = (url: string) => import(/* @vite-ignore */ url) as Promise<Record<string, unknown>>;

interface Summary {
  ok: boolean;
  isolateDir: string;
  bundleMs: number;
  totalBytes: number;
  modules: Record<string, { bytes: number }>;
  withWasm: string[];
}
let summary: Summary;

beforeAll(async () => {
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number }>((ok) => {
    execFile(
      process.execPath,
      [script, "--json", "--out", join(work, "bundle")],
      { timeout: 180_000 },
      (err, stdout, stderr) => ok({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
  if (code !== 0) throw new Error(`convex-bundle-check failed (exit ${code}):\n${stderr}`);
  summary = JSON.parse(stdout.trim().split("\n").pop()!) as Summary;
}, 200_000);

afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(work, { recursive: true, force: true });
});

async function bundledApp() {
  const dir = summary.isolateDir;
  const modules: Record<string, () => Promise<Record<string, unknown>>> = {};
  for (const file of readdirSync(dir, { recursive: true }) as string[]) {
    if (file.endsWith(".js")) modules[`${dir}/${file}`] = () => nativeImport(pathToFileURL(join(dir, file)).href);
  }
  // convex-test finds the functions root by the `_generated` folder, which the bundle (rightly)
  // does not contain: one marker entry, never loaded.
  modules[`${dir}/_generated/api.js`] = async () => ({});
  // The CLI bundles the schema on its own and does not write it out; it only declares tables.
  const t = convexTest(schema, modules);
  register(t);
  return t;
}

test("the bundler writes every seed module, with the wasm engine embedded", () => {
  expect(summary.ok).toBe(true);
  expect(Object.keys(summary.modules).sort()).toEqual([
    "crons.js",
    "http.js",
    "outboxProcessor.js",
    "sync.js",
    "tasks.js",
  ]);
  expect(summary.withWasm).toContain("sync.js");
  expect(summary.withWasm).toContain("tasks.js");
});

test("a bundled syncMutation runs the wasm engine and writes its delta", async () => {
  vi.useFakeTimers(); // the scheduled outbox drain has no gateway to talk to here
  try {
    const t = await bundledApp();
    const _id = await t.mutation(anyApi.tasks!.create!, { title: "from the bundle" });
    const rows = await t.run(async (ctx) => ({
      task: await ctx.db.get(_id),
      deltas: await ctx.db.query("sync_deltas").collect(),
      outbox: await ctx.db.query("sync_outbox").collect(),
    }));
    expect(rows.task).toMatchObject({ title: "from the bundle", completed: false });
    expect(rows.deltas).toHaveLength(1);
    expect(rows.outbox).toHaveLength(1);
    const doc = new Y.Doc();
    Y.applyUpdateV2(doc, new Uint8Array(rows.deltas[0]!.delta as ArrayBuffer));
    expect(doc.getMap("fields").get("title")).toBe("from the bundle");
  } finally {
    vi.useRealTimers();
  }
});

test("the bundled HTTP router ingests an edge delta through the bundled sync mutation", async () => {
  vi.stubEnv("DINK_APP_SYNC_KEY", "bundle-test-key");
  vi.useFakeTimers();
  try {
    const t = await bundledApp();
    const edge = new Y.Doc();
    edge.getMap("fields").set("id", "edge-row-1");
    edge.getMap("fields").set("title", "from an edge");
    edge.getMap("fields").set("completed", true);
    const response = await t.fetch("/api/dink/applyDelta", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer bundle-test-key" },
      body: JSON.stringify({
        version: 1,
        deltas: [
          {
            op_id: "op-1",
            collection: "tasks",
            doc_id: "edge-row-1",
            delta: Buffer.from(Y.encodeStateAsUpdateV2(edge)).toString("base64"),
            format: 2,
            edge_id: "edge-a",
          },
        ],
      }),
    });
    const body = (await response.json()) as { success: boolean; data?: { results: { status: string }[] } };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.data?.results[0]?.status).toBe("applied");
    const tasks = (await t.query(anyApi.tasks!.list!, {})) as { id: string; title: string; completed: boolean }[];
    expect(tasks).toEqual([expect.objectContaining({ id: "edge-row-1", title: "from an edge", completed: true })]);
  } finally {
    vi.useRealTimers();
  }
});
