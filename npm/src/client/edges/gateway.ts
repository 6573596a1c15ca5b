/**
 * One HTTP request to the gateway (dinkd or dink-gateway) from a Convex action: the base URL and
 * the app sync key from the environment, a timeout, the `{success, data | error}` envelope
 * unwrapped. Every failure becomes a {@link DinkGatewayError} with a code (never an unexplained
 * crash): the variables missing, the network, a non-JSON or malformed reply, an error envelope.
 */
import { DINK_APP_SYNC_KEY, DINK_HTTP_URL, notConfiguredMessage, readDinkAppSyncKey, readDinkHttpUrl } from "../env.js";

/** Codes of failures that happen before or around the gateway's own answer. */
export type GatewayFailureCode =
  | "NOT_CONFIGURED"
  | "NETWORK_ERROR"
  | "TIMEOUT"
  | "BAD_RESPONSE"
  | "HTTP_ERROR"
  // anything the gateway's error envelope says (`UNAUTHORIZED`, `EDGE_NOT_FOUND`, ...)
  | (string & {});

/** A gateway call that did not succeed; `status` is the HTTP status when there was one. */
export class DinkGatewayError extends Error {
  constructor(
    readonly code: GatewayFailureCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "DinkGatewayError";
  }
}

/** Largest gateway reply read (a descriptor list or a scatter over many edges stays far below). */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

export interface GatewayRequest {
  method: "GET" | "POST";
  /** Path under the gateway's base URL, e.g. `/api/edge/call`. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Milliseconds before the request is abandoned (TIMEOUT). */
  timeoutMs: number;
  /** Read the reply as text instead of the JSON envelope. */
  text?: boolean;
}

/** The configured base URL and key, or a NOT_CONFIGURED error with the seed's message. */
function gatewayConfig(): { url: string; key: string } {
  const url = readDinkHttpUrl();
  const key = readDinkAppSyncKey();
  if (url === undefined) throw new DinkGatewayError("NOT_CONFIGURED", notConfiguredMessage(DINK_HTTP_URL));
  if (key === undefined) throw new DinkGatewayError("NOT_CONFIGURED", notConfiguredMessage(DINK_APP_SYNC_KEY));
  return { url, key };
}

/** Sends the request; resolves to the envelope's `data` (or the text), else throws DinkGatewayError. */
export async function gatewayRequest<T>(request: GatewayRequest): Promise<T> {
  const { url, key } = gatewayConfig();
  const target = new URL(`${url}${request.path}`);
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) target.searchParams.set(name, value);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), request.timeoutMs);
  let response: Response;
  let raw: string;
  try {
    response = await fetch(target, {
      method: request.method,
      headers: {
        Authorization: `Bearer ${key}`,
        Accept: request.text === true ? "text/plain" : "application/json",
        ...(request.body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: controller.signal,
    });
    raw = await readCapped(response);
  } catch (error) {
    if (controller.signal.aborted) {
      throw new DinkGatewayError(
        "TIMEOUT",
        `gateway did not answer ${request.method} ${request.path} within ${request.timeoutMs} ms`,
      );
    }
    const detail = error instanceof Error ? error.message : String(error);
    throw new DinkGatewayError("NETWORK_ERROR", `cannot reach the gateway at ${url}: ${detail}`);
  } finally {
    clearTimeout(timer);
  }
  if (request.text === true && response.ok) return raw as T;
  return unwrap<T>(response.status, raw, `${request.method} ${request.path}`);
}

/** The `data` of a `{success, data | error}` envelope, or the error it (or its absence) means. */
function unwrap<T>(status: number, raw: string, what: string): T {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    const snippet = raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
    throw new DinkGatewayError(
      "BAD_RESPONSE",
      `gateway answered ${what} with HTTP ${status} and a non-JSON body: ${snippet}`,
      status,
    );
  }
  if (typeof body !== "object" || body === null || typeof (body as { success?: unknown }).success !== "boolean") {
    throw new DinkGatewayError(
      "BAD_RESPONSE",
      `gateway answered ${what} with HTTP ${status} and no {success} envelope`,
      status,
    );
  }
  const envelope = body as { success: boolean; data?: unknown; error?: unknown };
  if (!envelope.success) {
    const error = envelope.error;
    if (typeof error === "object" && error !== null) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      throw new DinkGatewayError(
        typeof code === "string" ? code : "HTTP_ERROR",
        typeof message === "string" ? message : `gateway refused ${what}`,
        status,
      );
    }
    throw new DinkGatewayError(
      "HTTP_ERROR",
      typeof error === "string" ? error : `gateway refused ${what} (HTTP ${status})`,
      status,
    );
  }
  return envelope.data as T;
}

async function readCapped(response: Response): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > MAX_REPLY_BYTES) {
    throw new DinkGatewayError(
      "BAD_RESPONSE",
      `gateway reply is ${declared} bytes; the limit is ${MAX_REPLY_BYTES}`,
      response.status,
    );
  }
  const text = await response.text();
  if (text.length > MAX_REPLY_BYTES) {
    throw new DinkGatewayError("BAD_RESPONSE", `gateway reply is over ${MAX_REPLY_BYTES} bytes`, response.status);
  }
  return text;
}
