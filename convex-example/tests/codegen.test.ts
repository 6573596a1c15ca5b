// @vitest-environment node
/** The committed generated files (the app's `_generated/` in the shape `npx convex dev` writes,
 * the component's `api.ts`, npm/src/componentModules.ts) match what scripts/codegen.mjs derives
 * from the source tree (`npx convex codegen` cannot run offline). */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

test("committed generated files are current (node scripts/codegen.mjs --check)", () => {
  const script = fileURLToPath(new URL("../../scripts/codegen.mjs", import.meta.url));
  let failure = "";
  try {
    execFileSync(process.execPath, [script, "--check"], { stdio: "pipe" });
  } catch (error) {
    failure = String((error as { stderr?: Buffer }).stderr ?? error);
  }
  expect(failure).toBe("");
});
