#!/usr/bin/env node
// Offline `npx convex codegen` (which needs a deployment): regenerates the committed `_generated/`
// files from the source tree.
//
//   node scripts/codegen.mjs          rewrite them
//   node scripts/codegen.mjs --check  exit 1 (listing the files) if any is stale
//
// The example app (convex-example/convex/_generated/) gets exactly what `npx convex dev` writes
// for an app with components and the default `.d.ts` file type: `api.js`, `api.d.ts`,
// `server.js`, `server.d.ts`, `dataModel.d.ts`. The text comes from the Convex CLI's own
// templates (node_modules/convex/dist/cjs/cli/codegen_templates), the module list follows the
// CLI's entry-point rules (every .ts/.js file but schema.ts, `_generated/`, dotfiles and names
// with more than one dot, so `http.ts` and `crons.ts` are listed), the `components` entry is the
// CLI's `useComponentApiImports` form, and every file is formatted with prettier as the CLI does.
// Only the component list is derived here instead of from a deployment's analysis: it is read
// from the `app.use(x)` calls in convex.config.ts.
//
// The component (npm/src/component/_generated/) keeps its TypeScript file type (`api.ts`); only
// its module list is derived.
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import prettier from "prettier";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const templates = join(root, "node_modules/convex/dist/cjs/cli/codegen_templates");

/**
 * Loads a CLI template module whose other imports serve only the deployment-analysis paths
 * (they need the CLI's bundled dependencies, absent from the npm package's plain files): those
 * imports get an empty object, the sibling templates load normally.
 */
function loadTemplate(name) {
  const source = readFileSync(join(templates, name), "utf8");
  const module = { exports: {} };
  const local = (spec) => (spec.startsWith("./") ? require(join(templates, spec)) : {});
  new Function("require", "module", "exports", source)(local, module, module.exports);
  return module.exports;
}
const { importPath, moduleIdentifier } = require(join(templates, "api.js"));
const { serverCodegen } = require(join(templates, "server.js"));
const { dynamicDataModelDTS } = loadTemplate("dataModel.js");
const { header, apiComment, compareModulePaths } = require(join(templates, "common.js"));

/**
 * Module paths relative to `dir`, with extension, sorted as the CLI sorts them; the CLI's entry
 * point rules (convex/dist/cjs/bundler/index.js `entryPoints`): .ts/.js files, not in
 * `_generated/`, not dotfiles, not schema.ts, at most one dot in the name (so convex.config.ts
 * and foo.test.ts are skipped), no spaces, and no nested component directories.
 */
export function entryPoints(dir, prefix = "") {
  const out = [];
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = prefix === "" ? name : `${prefix}/${name}`;
    const full = join(dir, rel);
    if (statSync(full).isDirectory()) {
      if (name === "_generated" && prefix === "") continue;
      if (existsSync(join(full, "convex.config.ts"))) continue;
      out.push(...entryPoints(dir, rel));
      continue;
    }
    if (!/\.(ts|tsx|js|jsx|mjs|cjs)$/.test(name) || name.endsWith(".d.ts")) continue;
    if (name.startsWith(".") || name.startsWith("#")) continue;
    if (name === "schema.ts" || name === "schema.js") continue;
    if ((name.match(/\./g) ?? []).length > 1) continue;
    if (rel.includes(" ")) continue;
    out.push(rel);
  }
  return out.sort(compareModulePaths);
}

/** The component's module list for its api.ts: as before, modules with named exports only. */
export function modulesOf(dir) {
  return entryPoints(dir)
    .filter((rel) => rel !== "convex.config.ts" && hasNamedExports(readFileSync(join(dir, rel), "utf8")))
    .map((rel) => rel.replace(/\.[^.]+$/, ""));
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

/**
 * The app's `api.d.ts`: the CLI's `componentApiDTS` with dynamic api objects
 * (`codegenDynamicApiObjects`) and `useComponentApiImports` component lines, which need a
 * deployment's analysis only for the component list.
 */
function appApiDTS(dir) {
  const modulePaths = entryPoints(dir);
  const lines = [header("Generated `api` utility.")];
  for (const modulePath of modulePaths) {
    lines.push(`import type * as ${moduleIdentifier(modulePath)} from "../${importPath(modulePath)}.js";`);
  }
  lines.push(`
    import type {
      ApiFromModules,
      FilterApi,
      FunctionReference,
    } from "convex/server";

    declare const fullApi: ApiFromModules<{
  `);
  for (const modulePath of modulePaths) {
    lines.push(`  "${importPath(modulePath)}": typeof ${moduleIdentifier(modulePath)},`);
  }
  lines.push(`}>;`);
  lines.push(`
    ${apiComment("api", "public")}
    export declare const api: FilterApi<typeof fullApi, FunctionReference<any, "public">>;
    ${apiComment("internal", "internal")}
    export declare const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">>;
  `);
  lines.push(`
  export declare const components: {`);
  for (const c of componentsOf(dir)) {
    lines.push(`  "${c.name}": import("${c.pkg}/_generated/component.js").ComponentApi<"${c.name}">,`);
  }
  lines.push("};");
  return lines.join("\n");
}

/**
 * The app's `api.js`: the CLI's `componentApiJs` (component_api.js, not loaded here because it
 * pulls in the CLI's bundler and its dependencies).
 */
function appApiJs() {
  return `${header("Generated `api` utility.")}
    import { anyApi, componentsGeneric } from "convex/server";

    ${apiComment("api", undefined)}
    export const api = anyApi;
    export const internal = anyApi;
    export const components = componentsGeneric();
  `;
}

/** The files `npx convex dev` writes into the app's `_generated/` (default `.d.ts` file type). */
export async function appFiles(dir) {
  const server = serverCodegen({ useTypeScript: false });
  const raw = {
    "api.d.ts": appApiDTS(dir),
    "api.js": appApiJs(),
    "dataModel.d.ts": dynamicDataModelDTS(),
    "server.d.ts": server.DTS,
    "server.js": server.JS,
  };
  const out = {};
  for (const [name, text] of Object.entries(raw)) {
    out[name] = await prettier.format(text, { parser: "typescript", pluginSearchDirs: false });
  }
  return out;
}

/** The component's `api.ts` (TypeScript file type), module list derived from the tree. */
export function renderComponentApi(dir) {
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
    "/** Public functions of the component (called by the app through `components.dink`). */",
    'export const api: FilterApi<typeof fullApi, FunctionReference<any, "public">> = anyApi as any;',
    "",
    "/** Internal functions of the component. */",
    'export const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">> =',
    "  anyApi as any;",
    "",
    "export const components = componentsGeneric() as unknown as {};",
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * `npm/src/componentModules.ts`: the component's modules as a static import map for convex-test
 * (`dink-convex/test`). A static map, not Vite's `import.meta.glob`, so the compiled package
 * works in any test runner; keys keep the `_generated` segment convex-test finds the root by.
 */
export function renderComponentModules(dir) {
  const files = [];
  const walk = (prefix) => {
    for (const name of readdirSync(join(dir, prefix)).sort()) {
      const rel = prefix === "" ? name : `${prefix}/${name}`;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith(".test.ts")) files.push(rel);
    }
  };
  walk("");
  const lines = [
    "/* eslint-disable */",
    "// Generated by scripts/codegen.mjs from npm/src/component/ (checked by a test): the component's",
    "// modules for convex-test, as a static import map that works without Vite.",
    "export const componentModules: Record<string, () => Promise<unknown>> = {",
    ...files.map((f) => {
      const path = `./component/${f.replace(/\.ts$/, ".js")}`;
      return `  ${JSON.stringify(path)}: () => import(${JSON.stringify(path)}),`;
    }),
    "};",
  ];
  return `${lines.join("\n")}\n`;
}

/** Regenerates (or, with `--check`, verifies) every committed generated file. */
async function main() {
  const check = process.argv.includes("--check");
  const wanted = new Map();
  const componentDir = join(root, "npm/src/component");
  wanted.set(join(componentDir, "_generated", "api.ts"), renderComponentApi(componentDir));
  wanted.set(join(root, "npm/src/componentModules.ts"), renderComponentModules(componentDir));
  const appDir = join(root, "convex-example/convex");
  for (const [name, text] of Object.entries(await appFiles(appDir))) {
    wanted.set(join(appDir, "_generated", name), text);
  }
  // Files an older layout of this script wrote (TypeScript file type) must not linger.
  const obsolete = ["api.ts", "server.ts", "dataModel.ts"].map((n) => join(appDir, "_generated", n));

  const stale = [];
  for (const [file, want] of wanted) {
    const have = existsSync(file) ? readFileSync(file, "utf8") : "";
    if (have === want) continue;
    if (check) stale.push(relative(root, file));
    else {
      writeFileSync(file, want);
      console.log(`codegen: wrote ${relative(root, file)}`);
    }
  }
  for (const file of obsolete) {
    if (!existsSync(file)) continue;
    if (check) stale.push(`${relative(root, file)} (obsolete)`);
    else {
      (await import("node:fs")).rmSync(file);
      console.log(`codegen: removed ${relative(root, file)}`);
    }
  }
  if (stale.length > 0) {
    console.error(`codegen: stale, run \`node scripts/codegen.mjs\`: ${stale.join(", ")}`);
    process.exit(1);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
