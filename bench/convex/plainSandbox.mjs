// A second convex-test deployment for the trigger-path baseline: the example app's schema (as
// convexSandbox.mjs transpiled it) with one extra module, bench/convex/plainTasks.mjs, under the
// name `benchPlainTasks`. Call startConvexSandbox() first: it writes the transpiled app.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Where sandbox/convexSandbox.mjs writes the transpiled app. */
const BUILT = join(ROOT, "target", "sandbox-convex", "convex");

export async function startPlainSandbox() {
  const schemaFile = join(BUILT, "schema.js");
  const serverFile = join(BUILT, "_generated", "server.js");
  if (!existsSync(schemaFile) || !existsSync(serverFile)) {
    throw new Error(`${BUILT} is missing: call startConvexSandbox() first`);
  }
  const { convexTest } = await import("convex-test");
  const { default: schema } = await import(pathToFileURL(schemaFile).href);
  const prefix = "./target/sandbox-convex/convex";
  return convexTest(schema, {
    // convex-test finds the functions' root from the `_generated` path.
    [`${prefix}/_generated/server.js`]: () => import(pathToFileURL(serverFile).href),
    [`${prefix}/benchPlainTasks.js`]: () => import("./plainTasks.mjs"),
  });
}
