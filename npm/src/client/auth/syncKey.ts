/**
 * The sync key: dinkd authenticates to the app's HTTP routes with
 * `Authorization: Bearer <DINK_APP_SYNC_KEY>`, and the router forwards the token it received to
 * the sync functions (`syncKey` argument), which check it again. Both checks use
 * {@link syncKeyMatches}, a constant-time comparison, so the time a wrong key takes to refuse
 * does not reveal how many leading characters were right.
 */
import { DINK_APP_SYNC_KEY, notConfiguredMessage, readDinkAppSyncKey } from "../env.js";

/** Environment variable holding the app's sync key (a dinkd "center" key). */
export const SYNC_KEY_ENV = DINK_APP_SYNC_KEY;

/** The seed's message when the sync key is not configured (its Troubleshooting section). */
export const MISSING_SYNC_KEY_MESSAGE = notConfiguredMessage(DINK_APP_SYNC_KEY);

/** The configured sync key, or undefined when the variable is unset or blank. */
export function configuredSyncKey(): string | undefined {
  return readDinkAppSyncKey();
}

const encoder = new TextEncoder();

/**
 * Compare a presented key with the expected one in time that depends only on the expected key's
 * length: every byte of `expected` is visited whatever `presented` holds, and a length
 * difference is folded into the result instead of returning early.
 */
export function syncKeyMatches(presented: string, expected: string): boolean {
  const a = encoder.encode(presented);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) {
    // Out-of-range reads of `a` give undefined -> 0 after `| 0`; the length term already differs.
    diff |= ((a[i] ?? 0) ^ b[i]!) | 0;
  }
  return diff === 0 && b.length > 0;
}

/** The token of an `Authorization: Bearer <token>` header, or null when absent or malformed. */
export function bearerToken(header: string | null | undefined): string | null {
  if (header === null || header === undefined) return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match === null ? null : match[1]!;
}

export type SyncKeyCheck =
  | { ok: true; key: string }
  /** The server has no key configured: a deployment fault (HTTP 500), not the caller's. */
  | { ok: false; reason: "NOT_CONFIGURED"; message: string }
  | { ok: false; reason: "UNAUTHORIZED"; message: string };

/**
 * Check a presented key (from a header, or a function's `syncKey` argument) against
 * `DINK_APP_SYNC_KEY`. The configuration is checked first, so a deployment without a key
 * answers with the seed's message whatever the caller sent.
 */
export function checkSyncKey(presented: string | null | undefined): SyncKeyCheck {
  const expected = configuredSyncKey();
  if (expected === undefined) {
    return { ok: false, reason: "NOT_CONFIGURED", message: MISSING_SYNC_KEY_MESSAGE };
  }
  if (presented === null || presented === undefined || presented === "") {
    return {
      ok: false,
      reason: "UNAUTHORIZED",
      message: "missing sync key (Authorization: Bearer <DINK_APP_SYNC_KEY>)",
    };
  }
  if (!syncKeyMatches(presented, expected)) {
    return { ok: false, reason: "UNAUTHORIZED", message: "invalid sync key" };
  }
  return { ok: true, key: presented };
}
