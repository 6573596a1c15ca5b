/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * `npx convex codegen` needs a deployment, which cannot run offline; this file is kept current
 * by `scripts/codegen.mjs` (checked by a test) and has the shape Convex generates.
 */
import type * as outboxProcessor from "../outboxProcessor.js";
import type * as sync from "../sync.js";
import type * as syncSetup from "../syncSetup.js";
import type * as tasks from "../tasks.js";

import type { ApiFromModules, FilterApi, FunctionReference } from "convex/server";
import { anyApi, componentsGeneric } from "convex/server";

declare const fullApi: ApiFromModules<{
  outboxProcessor: typeof outboxProcessor;
  sync: typeof sync;
  syncSetup: typeof syncSetup;
  tasks: typeof tasks;
}>;

/** Public functions: `api.tasks.create`, `api.sync.applyDeltaFromEdge`, ... */
export const api: FilterApi<typeof fullApi, FunctionReference<any, "public">> = anyApi as any;

/** Internal functions: `internal.outboxProcessor.processOutboxBatch`, ... */
export const internal: FilterApi<typeof fullApi, FunctionReference<any, "internal">> =
  anyApi as any;

/** Installed components: `components.dink`. */
export const components = componentsGeneric() as unknown as {
  dink: import("dink-convex/_generated/component.js").ComponentApi<"dink">;
};
