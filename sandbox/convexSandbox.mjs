// The "Convex" of the local sandbox (used by the demo, demo/run.mjs, and the benchmark,
// bench/convex/sections.mjs): convex-test (an in-memory implementation of Convex's functions,
// database and scheduler) running the example app's own convex/*.ts and the dink component. It is
// a local stand-in, not Convex: no isolates, no limits, one process.
//
// convex-test runs in plain Node when its modules are passed explicitly; it is vitest that
// usually supplies them with `import.meta.glob` and transpiles the TypeScript. Here the app's
// convex/*.ts are transpiled with the esbuild the Convex CLI itself uses, one output file per
// module with packages left external, so `dink-convex` resolves through the package's real
// `exports` (npm/dist) exactly as in a user's app.

import { existsSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const appConvexDir = join(root, "convex-example", "convex");
/** Under target/ (gitignored) and inside the repo, so Node finds node_modules from there. */
const buildDir = join(root, "target", "sandbox-convex");

function listFiles(dir, keep) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path, keep));
    else if (keep(entry.name)) out.push(path);
  }
  return out;
}

/** A convex-test modules map (what `import.meta.glob` would give) for the files under `dir`. */
function modulesMap(dir) {
  const map = {};
  for (const file of listFiles(dir, (n) => n.endsWith(".js") && !n.endsWith(".d.js"))) {
    map[`./${relative(root, file).split("\\").join("/")}`] = () => import(pathToFileURL(file).href);
  }
  return map;
}

/** One transpile per process: several sandboxes (the benchmark starts one per round) share it,
 * and rebuilding under a running one would pull its modules away from its scheduled functions. */
let transpiled;
function transpileApp() {
  transpiled ??= transpileOnce();
  return transpiled;
}

async function transpileOnce() {
  // The esbuild the Convex CLI bundles with (a dependency of `convex`).
  const requireFromConvex = createRequire(createRequire(import.meta.url).resolve("convex/package.json"));
  const esbuild = requireFromConvex("esbuild");
  rmSync(buildDir, { recursive: true, force: true });
  await esbuild.build({
    // The app's TypeScript and its codegen output (_generated/*.js, as `npx convex dev` writes it):
    // convex-test finds the modules' root by the `_generated` directory.
    entryPoints: listFiles(appConvexDir, (n) => (n.endsWith(".ts") && !n.endsWith(".d.ts")) || n.endsWith(".js")),
    outbase: appConvexDir,
    outdir: join(buildDir, "convex"),
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "error",
  });
}

/**
 * Builds the sandbox deployment: the app's schema and functions plus the `dink` component.
 * Returns the convex-test instance (`t.mutation`, `t.query`, `t.action`, `t.fetch`, `t.run`).
 */
export async function startConvexSandbox() {
  const requireHere = createRequire(import.meta.url);
  let pkgEntry;
  try {
    pkgEntry = requireHere.resolve("dink-convex");
  } catch (e) {
    throw new Error(`dink-convex does not resolve (${e.message}); run \`make build\``);
  }
  const componentDir = join(dirname(dirname(pkgEntry)), "component");
  if (!existsSync(join(componentDir, "schema.js"))) {
    throw new Error(`${componentDir}/schema.js is missing; run \`make build\``);
  }
  await transpileApp();

  const { convexTest } = await import("convex-test");
  const { default: schema } = await import(pathToFileURL(join(buildDir, "convex", "schema.js")).href);
  const { default: componentSchema } = await import(pathToFileURL(join(componentDir, "schema.js")).href);
  const t = convexTest(schema, modulesMap(join(buildDir, "convex")));
  // Same registration as `register(t)` from dink-convex/test, with the built component modules.
  t.registerComponent("dink", componentSchema, modulesMap(componentDir));
  return t;
}
