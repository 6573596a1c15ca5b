/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * `npx convex codegen` needs a deployment, which cannot run offline; this file is kept current
 * by `scripts/codegen.mjs` (checked by a test) and has the shape Convex generates.
 */
import type * as audit from "../audit.js";
import type * as deadLetters from "../deadLetters.js";
import type * as metrics from "../metrics.js";

import type { ApiFromModules, FilterApi, FunctionReference } from "convex/server";
import { anyApi, componentsGeneric } from "convex/server";

declare const fullApi: ApiFromModules<{
  audit: typeof audit;
  deadLetters: typeof deadLetters;
  metrics: typeof metrics;
}>;

/** Public functions of the component (called by the app through `components.dink`). */
export const api: FilterApi<typeof fullApi, FunctionReference<any, "public">> = anyApi as any;

/** Internal functions of the component. */
export const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">> =
  anyApi as any;

export const components = componentsGeneric() as unknown as {};
