/**
 * The example app with the real `@trestleinc/replicate` 2.0.0-preview.0 component beside dink:
 * the example's modules, its `sync` module replaced by the seed's sync.ts plus
 * `registerReplicateComponent(components.replicate)` (replicateSync.ts), and Replicate's server
 * functions for `tasks` as module `replicateTasks`.
 *
 * Replicate's shipped `dist/component/test.setup.js` uses an extglob that Vite 8 does not expand,
 * so its component modules are registered here with a plain glob.
 */
import { convexTest } from "convex-test";
import type { GenericSchema, SchemaDefinition } from "convex/server";
import { anyApi, type FunctionReference } from "convex/server";
import { register } from "dink-convex/test";
import schema from "../../convex/schema";
import replicateSchema from "../../../node_modules/@trestleinc/replicate/dist/component/schema.js";
import { modules } from "../harness";

const replicateModules = import.meta.glob([
  "../../../node_modules/@trestleinc/replicate/dist/component/**/*.js",
  "!**/test.setup.js",
]);

/** The example's modules, without Replicate (its `sync` module registers nothing). */
export const plainModules = modules;

/** The example's modules with the registering `sync` module and Replicate's `tasks` functions. */
export const replicateModulesOfApp = {
  ...modules,
  "../convex/sync.ts": () => import("./replicateSync"),
  "../convex/replicateTasks.ts": () => import("./replicateServer"),
};

/** `replicateTasks:*` (Replicate's `delta` and `material` for `tasks`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyQuery = FunctionReference<"query", "public", any, any>;
export const replicateTasks = anyApi.replicateTasks as unknown as Record<string, AnyQuery>;

/** The test app: dink as `dink`, Replicate as `replicate` (what `app.use(replicate)` names it). */
export function makeReplicateTest() {
  const t = convexTest(schema, replicateModulesOfApp);
  register(t);
  t.registerComponent(
    "replicate",
    replicateSchema as unknown as SchemaDefinition<GenericSchema, boolean>,
    replicateModules,
  );
  return t;
}
