/* eslint-disable */
/**
 * Generated `ComponentApi` utility: the type of `components.dink` in an app that installed the
 * component (the app's generated `api.ts` imports it as `dink-convex/_generated/component.js`).
 *
 * Derived from the component's public functions (`./api.js`): every public function becomes an
 * "internal" reference from the app's side, tagged with the component's name, as Convex's
 * codegen does. See dataModel.ts for how the `_generated/` files are kept current offline.
 * @module
 */
import type { FunctionReference } from "convex/server";
import type { api } from "./api.js";

type ComponentRefs<Tree, Name extends string | undefined> = {
  [K in keyof Tree]: Tree[K] extends FunctionReference<
    infer Type,
    "public",
    infer Args,
    infer Returns,
    infer _Path
  >
    ? FunctionReference<Type, "internal", Args, Returns, Name>
    : ComponentRefs<Tree[K], Name>;
};

/**
 * A utility for referencing the dink component's exposed API, e.g. a parameter typed
 * `ComponentApi` receiving `components.dink`.
 */
export type ComponentApi<Name extends string | undefined = string | undefined> = ComponentRefs<
  typeof api,
  Name
>;
