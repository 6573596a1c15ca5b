/// <reference types="vite/client" />
/**
 * convex-test support (`dink-convex/test`): registers the dink component in a test app.
 *
 * ```ts
 * const t = convexTest(schema, modules);
 * register(t);
 * ```
 *
 * Shipped as TypeScript source (vitest compiles it) because `import.meta.glob` is resolved by
 * Vite, not at runtime.
 */
import type { TestConvex } from "convex-test";
import type { GenericSchema, SchemaDefinition } from "convex/server";
import schema from "./component/schema.js";

/** The component's modules, including `_generated/` (convex-test finds the root through it). */
export const modules = import.meta.glob("./component/**/*.ts");

/** Registers the component under `name` (the name `app.use(dink)` gives it: "dink"). */
export function register(
  t: TestConvex<SchemaDefinition<GenericSchema, boolean>>,
  name: string = "dink",
): void {
  t.registerComponent(name, schema, modules);
}

export { schema };
export default { register, schema, modules };
