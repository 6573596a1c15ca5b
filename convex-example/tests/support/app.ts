/**
 * The example app in convex-test plus the test-only functions of syncFns.ts (as module
 * `dinkTestFns`), with the dink component registered.
 */
import { convexTest } from "convex-test";
import { afterEach, beforeEach, vi } from "vitest";
import { anyApi, type FunctionReference } from "convex/server";
import { register } from "dink-convex/test";
import schema from "../../convex/schema";
import { modules } from "../harness";

export const testModules = {
  ...modules,
  "../convex/dinkTestFns.ts": () => import("./syncFns"),
};

/** References to the test-only functions (`dinkTestFns:*`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const fns = anyApi.dinkTestFns as unknown as Record<string, FunctionReference<any, "public">>;

export function makeSyncTest() {
  const t = convexTest(schema, testModules);
  register(t);
  return t;
}

export const SYNC_KEY = "test-sync-key-0123456789";

/** Fake timers and the sync key in the environment around every test of the calling file. */
export function useSyncTestEnv(): void {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubEnv("DINK_APP_SYNC_KEY", SYNC_KEY);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.useRealTimers();
  });
}
