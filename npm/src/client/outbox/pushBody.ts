/**
 * The body the outbox POSTs to dinkd's `POST /api/sync/convex-push` (docs/protocol.md,
 * "convex-push"; shape and validator in protocol.ts). snake_case on the wire like the rest of
 * dinkd's API; deltas are Yjs update v2 bytes in standard base64 (`format: 2`).
 */
import { encodeBase64 } from "../http/base64.js";
import { PROTOCOL_VERSION, type ConvexPushBody, type ConvexPushEvent } from "../http/protocol.js";

/** Path of the push endpoint on the gateway. */
export const CONVEX_PUSH_PATH = "/api/sync/convex-push";

/** What the outbox knows about one item to push. */
export interface PushItem {
  /** Stable per outbox item; dinkd dedupes on it (`Nats-Msg-Id`), so a redelivery is harmless. */
  eventId: string;
  collection: string;
  docId: string;
  /** Yjs update v2. */
  delta: ArrayBuffer | Uint8Array;
  /** Document version after this delta. */
  version: number;
  /** The edge that produced the delta (dinkd does not send it back); absent for Convex writes. */
  originEdgeId?: string | undefined;
}

export function pushEvent(item: PushItem): ConvexPushEvent {
  const event: ConvexPushEvent = {
    event_id: item.eventId,
    collection: item.collection,
    doc_id: item.docId,
    delta: encodeBase64(item.delta),
    format: 2,
    version: item.version,
  };
  if (item.originEdgeId !== undefined) event.origin_edge_id = item.originEdgeId;
  return event;
}

export function pushBody(items: readonly PushItem[]): ConvexPushBody {
  return { version: PROTOCOL_VERSION, app_sync: true, events: items.map(pushEvent) };
}
