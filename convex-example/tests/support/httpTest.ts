/**
 * Shared by the suites that call the app's HTTP routes (http.test.ts, strictness.test.ts): the
 * sync key, the environment around each test, base64 for request bodies and the error check.
 */
import { afterEach, beforeEach, expect, vi } from "vitest";
import { validateErrorResponse } from "dink-convex/protocol";

export const KEY = "dk_test_ct_example_0123456789abcdef";
export const AUTH = { Authorization: `Bearer ${KEY}` };

/**
 * The sync key in the environment and fake timers around every test of the calling file: applied
 * deltas schedule the outbox drain, and fake timers keep it from running (no gateway here).
 */
export function useHttpTestEnv(): void {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubEnv("DINK_APP_SYNC_KEY", KEY);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });
}

/** Standard base64 of raw bytes (no spread: large buffers would overflow the call stack). */
export const b64 = (bytes: Uint8Array): string => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
};

/** Asserts an error envelope with this status, code and (when given) field; returns the error. */
export async function expectError(response: Response, status: number, code: string, field?: string) {
  expect(response.status).toBe(status);
  const body = validateErrorResponse(await response.json());
  expect(body.success).toBe(false);
  if (body.success) return;
  expect(body.error.code).toBe(code);
  if (field !== undefined) expect(body.error.field).toBe(field);
  return body.error;
}
