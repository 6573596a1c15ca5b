#!/usr/bin/env node
// Runs the real Convex bundler on convex-example/ offline and checks what it produced.
//
// `npx convex dev` needs a deployment. For bundling it only asks one question
// (`GET /api/v1/get_canonical_urls`), so a tiny HTTP server on 127.0.0.1 answers it, and
// `--debug-bundle-path` makes the CLI write the bundled modules to a directory and stop before
// pushing. Codegen and typecheck are disabled: `convex/_generated/` is committed (codegen needs a
// real deployment) and the example is typechecked by its own `npm run typecheck`.
//
// The package is resolved the way a user's app resolves it: `dink-convex` through its
// package.json `exports` (npm/dist), so `npm run build -w npm` must have run.
//
//   node scripts/convex-bundle-check.mjs [--out DIR] [--json]
//
// --out DIR  where to write the bundle (must be absent or empty; default: a fresh temp dir)
// --json     print the summary as one JSON line on stdout (used by convex-example/tests/bundle.test.ts)
//
// Exit codes: 0 ok, 1 the bundler failed or the bundle is wrong, 2 preconditions missing.
// The schema is bundled separately by the CLI and not written out. The bundle is then loaded
// and run inside convex-test by convex-example/tests/bundle.test.ts.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const appDir = join(root, "convex-example");
const require = createRequire(join(appDir, "package.json"));

/** Modules the seed's app must have in its bundle, and what each must export. */
const EXPECTED = {
  "tasks.js": ["create", "toggle", "remove", "list", "get"],
  "sync.js": ["applyDeltaFromEdge", "getDocumentState", "listDocuments", "listDocumentsPaginated"],
  "outboxProcessor.js": ["processOutboxBatch", "queryPendingItems", "updateItemStatus", "scheduleOutboxProcessing"],
  "http.js": ["default"],
  "crons.js": ["default"],
};
/** Modules that must reach the embedded engine (directly or through shared `_deps/` chunks). */
const NEED_WASM = ["sync.js", "tasks.js", "http.js"];
/** "\0asm" base64-encoded: the embedded engine must be inside the bundle, not left behind. */
const WASM_MAGIC_B64 = "AGFzbQ";
const CLI_TIMEOUT_MS = 120_000;

const args = process.argv.slice(2);
const json = args.includes("--json");
const outArg = args.indexOf("--out") >= 0 ? args[args.indexOf("--out") + 1] : undefined;
const log = (msg) => (json ? process.stderr : process.stdout).write(`bundle-check: ${msg}\n`);

function fail(code, msg) {
  process.stderr.write(`bundle-check: FAILED: ${msg}\n`);
  process.exit(code);
}

// --- preconditions -------------------------------------------------------------------------------
let cliPath;
try {
  cliPath = join(dirname(require.resolve("convex/package.json")), "bin", "main.js");
} catch {
  fail(2, "the `convex` package is not installed; run `npm install` at the repository root");
}
let pkgEntry;
try {
  pkgEntry = require.resolve("dink-convex");
} catch (e) {
  fail(2, `\`dink-convex\` does not resolve from convex-example (${e.message}); run \`npm run build -w npm\``);
}
if (!existsSync(pkgEntry)) {
  fail(2, `${pkgEntry} is missing; run \`npm run build -w npm\` first`);
}

const outDir = outArg ? resolve(outArg) : join(mkdtempSync(join(tmpdir(), "dink-bundle-")), "bundle");
if (existsSync(outDir) && readdirSync(outDir).length > 0) fail(2, `--out ${outDir} is not empty`);

// --- the stand-in deployment ---------------------------------------------------------------------
const requests = [];
const server = http.createServer((req, res) => {
  requests.push(`${req.method} ${req.url}`);
  const base = `http://127.0.0.1:${server.address().port}`;
  res.setHeader("content-type", "application/json");
  if (req.url?.startsWith("/api/v1/get_canonical_urls")) {
    res.end(JSON.stringify({ convexCloudUrl: base, convexSiteUrl: base }));
  } else if (req.url?.startsWith("/api/stream_function_logs")) {
    res.end(JSON.stringify({ entries: [], newCursor: 0 }));
  } else {
    // Anything else means the CLI went past bundling (it should not with --debug-bundle-path).
    res.statusCode = 404;
    res.end(JSON.stringify({ code: "NotFound", message: `bundle-check stand-in: no ${req.url}` }));
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}`;

// The CLI saves CONVEX_URL to .env.local; put back whatever was there before.
const envLocal = join(appDir, ".env.local");
const envBackup = `${envLocal}.bundle-check-backup`;
const hadEnvLocal = existsSync(envLocal);
if (hadEnvLocal) renameSync(envLocal, envBackup);

const started = Date.now();
let cli;
try {
  cli = await runCli([
    cliPath,
    "dev",
    "--once",
    "--codegen",
    "disable",
    "--typecheck",
    "disable",
    "--tail-logs",
    "disable",
    "--debug-bundle-path",
    outDir,
    "--url",
    url,
    "--admin-key",
    "bundle-check",
  ]);
} finally {
  server.close();
  rmSync(envLocal, { force: true });
  if (hadEnvLocal) renameSync(envBackup, envLocal);
}
const bundleMs = Date.now() - started;

if (cli.code !== 0) {
  fail(
    1,
    `\`convex dev --once --debug-bundle-path\` exited with ${cli.code} (requests to the stand-in: ${requests.join(", ") || "none"}):\n${cli.output}`,
  );
}

// --- what the bundler wrote ----------------------------------------------------------------------
const isolateDir = join(outDir, "isolate");
if (!existsSync(isolateDir)) fail(1, `no ${isolateDir}; bundler output:\n${cli.output}`);
const problems = [];
const modules = {};
for (const [file, names] of Object.entries(EXPECTED)) {
  const path = join(isolateDir, file);
  if (!existsSync(path)) {
    problems.push(`${file} is missing from the bundle`);
    continue;
  }
  const source = readFileSync(path, "utf8");
  modules[file] = { bytes: statSync(path).size };
  const exported = exportNames(source);
  for (const name of names) if (!exported.has(name)) problems.push(`${file} does not export ${name}`);
}
// The bundler splits shared code into `_deps/*.js` chunks; follow each module's static imports.
const withWasm = Object.keys(modules).filter((f) => reachesWasm(isolateDir, f));
for (const f of NEED_WASM) {
  if (modules[f] && !withWasm.includes(f))
    problems.push(`${f} does not reach the engine's embedded wasm (no base64 \\0asm in it or its imports)`);
}
const nodeDir = join(outDir, "node");
if (existsSync(nodeDir) && readdirSync(nodeDir).length > 0)
  problems.push(`unexpected "use node" modules in ${nodeDir}`);
if (problems.length > 0) fail(1, problems.join("\n"));

const totalBytes = readdirSync(isolateDir, { recursive: true })
  .filter((f) => String(f).endsWith(".js"))
  .reduce((n, f) => n + statSync(join(isolateDir, String(f))).size, 0);
const summary = { ok: true, outDir, isolateDir, bundleMs, totalBytes, modules, withWasm, requests };
if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
else {
  log(`bundled convex-example in ${bundleMs} ms into ${isolateDir}`);
  for (const [f, m] of Object.entries(modules))
    log(
      `  ${f.padEnd(20)} ${(m.bytes / 1024).toFixed(0).padStart(6)} KiB${withWasm.includes(f) ? "  (reaches the embedded wasm engine)" : ""}`,
    );
  log(`  all modules with shared chunks: ${(totalBytes / 1024).toFixed(0)} KiB`);
  // Nobody asked to keep it: remove the temp dir.
  if (!outArg) rmSync(dirname(outDir), { recursive: true, force: true });
  log("ok");
}

// --- helpers -------------------------------------------------------------------------------------
function runCli(argv) {
  return new Promise((ok) => {
    const env = { ...process.env };
    // A deployment chosen by the caller's environment must not redirect the check.
    for (const k of [
      "CONVEX_DEPLOYMENT",
      "CONVEX_URL",
      "CONVEX_SELF_HOSTED_URL",
      "CONVEX_SELF_HOSTED_ADMIN_KEY",
      "CONVEX_DEPLOY_KEY",
    ])
      delete env[k];
    env.CI = "1"; // no interactive prompts
    const child = spawn(process.execPath, argv, { cwd: appDir, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const timer = setTimeout(() => {
      output += `\n(killed after ${CLI_TIMEOUT_MS} ms)`;
      child.kill("SIGKILL");
    }, CLI_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      ok({ code: code ?? 1, output });
    });
  });
}

/** Whether `file` or anything it imports (relative specifiers) holds the embedded wasm. */
function reachesWasm(dir, file, seen = new Set()) {
  const path = resolve(dir, file);
  if (seen.has(path) || !existsSync(path)) return false;
  seen.add(path);
  const source = readFileSync(path, "utf8");
  if (source.includes(WASM_MAGIC_B64)) return true;
  for (const m of source.matchAll(/(?:from|import)\s*"(\.{1,2}\/[^"]+)"/g)) {
    if (reachesWasm(dirname(path), m[1], seen)) return true;
  }
  return false;
}

/** Names in the module's final `export { a as b, ... }` statement (esbuild's output shape). */
function exportNames(source) {
  const names = new Set();
  for (const m of source.matchAll(/export\s*\{([^}]*)\}/g)) {
    for (const part of m[1].split(",")) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop()
        ?.trim();
      if (name) names.add(name);
    }
  }
  return names;
}
