#!/usr/bin/env node
// Offline stand-in for `npx convex codegen` (which needs a deployment): regenerates the parts of
// the committed `_generated/` files that follow from the source tree, in the shape Convex emits.
//
//   node scripts/codegen.mjs          rewrite npm/src/component/_generated/api.ts and
//                                     convex-example/convex/_generated/api.ts
//   node scripts/codegen.mjs --check  exit 1 (listing the files) if either is stale
//
// What it derives: the module list of each `api.ts` (every .ts file in the functions folder
// except schema.ts, convex.config.ts, tests, `_generated/`, and modules with nothing but a default
// export) and, for the app, the
// `components` type from the `app.use(x)` calls in convex.config.ts. The other `_generated/`
// files (server.ts, dataModel.ts, component.ts) do not depend on the module list and are
// committed as written.
//
// Why modules with only a default export (the seed's `http.ts` and `crons.ts`) are left out:
// they hold no functions, so `api`/`internal` have nothing from them either way, and listing
// them makes the types circular: `export default createSyncCrons({ internal })` needs the type
// of `internal`, which would need the type of that default export.
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const targets = [
  { dir: join(root, "npm/src/component"), app: false },
  { dir: join(root, "convex-example/convex"), app: true },
];

const EXCLUDED = new Set(["schema.ts", "convex.config.ts"]);

/** Module paths relative to `dir`, without extension, sorted as Convex sorts them. */
export function modulesOf(dir, prefix = "") {
  const out = [];
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = prefix === "" ? name : `${prefix}/${name}`;
    if (name === "_generated" || name.startsWith(".")) continue;
    if (statSync(join(dir, rel)).isDirectory()) out.push(...modulesOf(dir, rel));
    else if (
      name.endsWith(".ts") &&
      !name.endsWith(".d.ts") &&
      !name.endsWith(".test.ts") &&
      !(prefix === "" && EXCLUDED.has(name)) &&
      hasNamedExports(readFileSync(join(dir, rel), "utf8"))
    ) {
      out.push(rel.slice(0, -3));
    }
  }
  return out;
}

/** Whether a module exports anything besides `export default` (functions are named exports). */
function hasNamedExports(text) {
  return /^\s*export\s+(?!default\b)(?!type\b)(?!interface\b)/m.test(text);
}

const ident = (module) => module.replace(/[^A-Za-z0-9_$]/g, "_");
const key = (module) => (/^[A-Za-z_$][\w$]*$/.test(module) ? module : JSON.stringify(module));

/** `components` entries from `import x from "pkg/component"` + `app.use(x)`. */
function componentsOf(dir) {
  const config = join(dir, "convex.config.ts");
  if (!existsSync(config)) return [];
  const text = readFileSync(config, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import\s+(\w+)\s+from\s+["']([^"']+?)\/(?:component|convex\.config)(?:\.js)?["']/g)) {
    imports.set(m[1], m[2]);
  }
  const out = [];
  for (const m of text.matchAll(/app\.use\(\s*(\w+)\s*\)/g)) {
    const pkg = imports.get(m[1]);
    if (pkg !== undefined) out.push({ name: m[1], pkg });
  }
  return out;
}

export function renderApi(dir, app) {
  const modules = modulesOf(dir);
  const lines = [
    "/* eslint-disable */",
    "/**",
    " * Generated `api` utility.",
    " *",
    " * `npx convex codegen` needs a deployment, which cannot run offline; this file is kept current",
    " * by `scripts/codegen.mjs` (checked by a test) and has the shape Convex generates.",
    " */",
    ...modules.map((m) => `import type * as ${ident(m)} from "../${m}.js";`),
    "",
    'import type { ApiFromModules, FilterApi, FunctionReference } from "convex/server";',
    'import { anyApi, componentsGeneric } from "convex/server";',
    "",
    "declare const fullApi: ApiFromModules<{",
    ...modules.map((m) => `  ${key(m)}: typeof ${ident(m)};`),
    "}>;",
    "",
    app
      ? "/** Public functions: `api.tasks.create`, `api.sync.applyDeltaFromEdge`, ... */"
      : "/** Public functions of the component (called by the app through `components.dink`). */",
    'export const api: FilterApi<typeof fullApi, FunctionReference<any, "public">> = anyApi as any;',
    "",
    app
      ? "/** Internal functions: `internal.outboxProcessor.processOutboxBatch`, ... */"
      : "/** Internal functions of the component. */",
    'export const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">> =',
    "  anyApi as any;",
    "",
  ];
  const components = app ? componentsOf(dir) : [];
  if (components.length === 0) {
    lines.push("export const components = componentsGeneric() as unknown as {};");
  } else {
    lines.push(
      `/** Installed components: ${components.map((c) => `\`components.${c.name}\``).join(", ")}. */`,
      "export const components = componentsGeneric() as unknown as {",
      ...components.map(
        (c) =>
          `  ${c.name}: import("${c.pkg}/_generated/component.js").ComponentApi<"${c.name}">;`,
      ),
      "};",
    );
  }
  return `${lines.join("\n")}\n`;
}

const check = process.argv.includes("--check");
const stale = [];
for (const { dir, app } of targets) {
  if (!existsSync(dir)) continue;
  const file = join(dir, "_generated", "api.ts");
  const want = renderApi(dir, app);
  const have = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (have === want) continue;
  if (check) stale.push(relative(root, file));
  else {
    writeFileSync(file, want);
    console.log(`codegen: wrote ${relative(root, file)}`);
  }
}
if (stale.length > 0) {
  console.error(`codegen: stale, run \`node scripts/codegen.mjs\`: ${stale.join(", ")}`);
  process.exit(1);
}
