// Runs after `tsc -p tsconfig.build.json`:
// 1. tsc (allowJs) emits the generated glue and base64 module into dist/wasm/ together with
//    declarations it infers from the JS; replace those with the exact ones wasm-bindgen and
//    embed-wasm wrote.
// 2. Check the published entry points exist and that no `any` leaks into their declarations.
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(pkg, "src", "wasm");
const dist = join(pkg, "dist", "wasm");
const problems = [];

if (!existsSync(join(src, "dink_wasm.js"))) {
  problems.push("src/wasm/ is missing: run scripts/build-wasm.sh (or `make build`) first");
} else {
  for (const name of readdirSync(src)) {
    if (!name.endsWith(".d.ts")) continue;
    copyFileSync(join(src, name), join(dist, name));
    // The map tsc wrote belongs to the inferred declaration just replaced.
    rmSync(join(dist, `${name}.map`), { force: true });
  }
}

const required = [
  "client/index.js",
  "client/index.d.ts",
  "engine/index.js",
  "engine/index.d.ts",
  "wasm/dink_wasm.js",
  "wasm/dink_wasm.d.ts",
  "wasm/wasmBytes.js",
  "wasm/wasmBytes.d.ts",
];
for (const file of required) {
  if (!existsSync(join(pkg, "dist", file))) problems.push(`dist/${file} was not emitted`);
}

const stripComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
/** Every .d.ts below `dir`. */
function declarations(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...declarations(full));
    else if (name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}
// The public declarations must not hand users an `any`. Convex's own `VAny<any, ...>` (the type of
// `v.any()`, in the result validators an action may use as `returns`) is the one allowed form.
for (const top of ["client", "engine", "protocol.d.ts", "test.d.ts"]) {
  const full = join(pkg, "dist", top);
  if (!existsSync(full)) continue;
  const files = statSync(full).isDirectory() ? declarations(full) : [full];
  for (const file of files) {
    const code = stripComments(readFileSync(file, "utf8")).replace(/VAny<any\b/g, "VAny<");
    if (/\bany\b/.test(code)) problems.push(`${relative(join(pkg, "dist"), file)} exposes \`any\``);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(`finish-build: ${p}`);
  process.exit(1);
}
