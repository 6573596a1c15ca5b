/**
 * convex-test support (`dink-convex/test`): registers the dink component in a test app.
 *
 * ```ts
 * import { convexTest } from "convex-test";
 * import { register } from "dink-convex/test";
 * import schema from "./schema";
 * const modules = import.meta.glob("./**\/*.*s");
 *
 * const t = convexTest(schema, modules);
 * register(t);
 * ```
 *
 * Compiled JavaScript with a static module map (componentModules.ts, generated), so it works in
 * vitest, plain Node or any other runner; nothing here depends on Vite.
 */
import type { TestConvex } from "convex-test";
import type { GenericSchema, SchemaDefinition } from "convex/server";
import schema from "./component/schema.js";
import { componentModules } from "./componentModules.js";

/** The component's modules, including `_generated/` (convex-test finds the root through it). */
export const modules: Record<string, () => Promise<unknown>> = componentModules;

/** Registers the component under `name` (the name `app.use(dink)` gives it: "dink"). */
export function register(t: TestConvex<SchemaDefinition<GenericSchema, boolean>>, name: string = "dink"): void {
  t.registerComponent(name, schema, modules);
}

export { schema };
export default { register, schema, modules };
