/**
 * One push of a claimed batch to dinkd: POST the body, wait at most the timeout, and turn the
 * response (or its absence) into a per-item outcome. Runs in the drain action.
 */
import { outcomeOfStatus } from "./policy.js";
import type { ClaimedItem, ItemResult } from "./types.js";
import { CONVEX_PUSH_PATH, pushBody } from "./pushBody.js";

export interface PushTarget {
  httpUrl: string;
  appSyncKey: string;
  timeoutMs: number;
}

/** Reads a short error detail from a dinkd envelope (`{error:{code,message}}`) or plain text. */
function detailOf(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof json.error?.code === "string" ? json.error.code : "";
    const message = typeof json.error?.message === "string" ? json.error.message : "";
    if (code !== "" || message !== "") return [code, message].filter((s) => s !== "").join(": ");
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200);
}

export async function pushBatch(items: readonly ClaimedItem[], target: PushTarget): Promise<ItemResult[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), target.timeoutMs);
  let status: number;
  let text: string;
  try {
    const response = await fetch(`${target.httpUrl}${CONVEX_PUSH_PATH}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${target.appSyncKey}`,
      },
      body: JSON.stringify(pushBody(items)),
      signal: controller.signal,
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    const reason = controller.signal.aborted
      ? `timeout after ${target.timeoutMs} ms`
      : `network error: ${error instanceof Error ? error.message : String(error)}`;
    return items.map((item) => ({ eventId: item.eventId, delivered: false, permanent: false, error: reason }));
  } finally {
    clearTimeout(timer);
  }
  const outcome = outcomeOfStatus(status, status >= 200 && status < 300 ? "" : detailOf(text));
  if (outcome.kind === "failed") {
    return items.map((item) => ({
      eventId: item.eventId,
      delivered: false,
      permanent: outcome.permanent,
      error: outcome.error,
    }));
  }
  // The doc (docs/protocol.md) makes the status the whole answer: 2xx delivers the batch.
  return items.map((item) => ({ eventId: item.eventId, delivered: true }));
}
