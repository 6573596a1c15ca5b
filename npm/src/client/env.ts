/**
 * The environment variables the outbox (and other dinkd calls) need, read the way Convex exposes
 * them (`process.env`), with the seed's messages when one is missing.
 *
 * `process` is reached through `globalThis` because the package is built without Node types:
 * Convex provides `process.env` but no other Node globals.
 */

/** Gateway base URL, e.g. `http://localhost:8080`. */
export const DINK_HTTP_URL = "DINK_HTTP_URL";
/** Documented alias of {@link DINK_HTTP_URL} (the seed's RPC helpers read this name). */
export const DINK_URL = "DINK_URL";
/** Shared secret between Convex and dinkd (Bearer token on convex-push). */
export const DINK_APP_SYNC_KEY = "DINK_APP_SYNC_KEY";

/** The seed's message for a missing variable. */
export function notConfiguredMessage(name: string): string {
  return `${name} environment variable is not configured`;
}

/** Thrown by the `require*` readers; `variable` names what to set. */
export class DinkConfigError extends Error {
  readonly code = "NOT_CONFIGURED" as const;
  constructor(readonly variable: string) {
    super(notConfiguredMessage(variable));
    this.name = "DinkConfigError";
  }
}

function envValue(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

/** The gateway URL without a trailing slash (DINK_HTTP_URL, else DINK_URL), or undefined. */
export function readDinkHttpUrl(): string | undefined {
  const url = envValue(DINK_HTTP_URL) ?? envValue(DINK_URL);
  return url?.replace(/\/+$/, "");
}

/** The app sync key, or undefined. */
export function readDinkAppSyncKey(): string | undefined {
  return envValue(DINK_APP_SYNC_KEY);
}

export function requireDinkHttpUrl(): string {
  const url = readDinkHttpUrl();
  if (url === undefined) throw new DinkConfigError(DINK_HTTP_URL);
  return url;
}

export function requireDinkAppSyncKey(): string {
  const key = readDinkAppSyncKey();
  if (key === undefined) throw new DinkConfigError(DINK_APP_SYNC_KEY);
  return key;
}

export type DinkGatewayConfig =
  { ok: true; httpUrl: string; appSyncKey: string } | { ok: false; missing: string[]; message: string };

/**
 * Both variables at once, without throwing: the outbox uses this to leave items waiting (no
 * attempt burned) and report every missing variable in one message.
 */
export function readDinkGatewayConfig(): DinkGatewayConfig {
  const httpUrl = readDinkHttpUrl();
  const appSyncKey = readDinkAppSyncKey();
  if (httpUrl !== undefined && appSyncKey !== undefined) return { ok: true, httpUrl, appSyncKey };
  const missing: string[] = [];
  if (httpUrl === undefined) missing.push(DINK_HTTP_URL);
  if (appSyncKey === undefined) missing.push(DINK_APP_SYNC_KEY);
  return { ok: false, missing, message: missing.map(notConfiguredMessage).join("; ") };
}
