// Runs before `npm pack` / `npm publish`: the tarball carries the repository's LICENSE (kept once,
// at the root) and needs a built dist/ with the embedded wasm.
import { copyFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
copyFileSync(join(pkg, "..", "LICENSE"), join(pkg, "LICENSE"));
if (!existsSync(join(pkg, "dist", "wasm", "wasmBytes.js"))) {
  console.error("prepack: dist/ is not built; run `make build` (or `npm run build -w npm`) first");
  process.exit(1);
}
