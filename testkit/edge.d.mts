// Declarations of edge.mjs: the simulated edge device.
import type * as Y from "yjs";
import type { Fields, FieldsInput, Format, Row } from "./rows.mjs";

export declare const PROTOCOL_VERSION: number;

/** A local edge delta: the shape of one `sync.applyDeltaFromEdge` argument. */
export interface EdgeDelta {
  opId: string;
  collection: string;
  docId: string;
  delta: ArrayBuffer;
  format: Format;
  edgeId: string;
}

/** One delta in the `POST /api/dink/applyDelta` wire form. */
export interface WireDelta {
  op_id: string;
  collection: string;
  doc_id: string;
  delta: string;
  format: Format;
  edge_id: string;
}

export declare class SimulatedEdge {
  constructor(edgeId: string, clientId?: number, collection?: string);
  readonly edgeId: string;
  readonly clientId: number | undefined;
  readonly collection: string;
  readonly docs: Map<string, Y.Doc>;
  /** Local deltas not yet taken, oldest first. */
  outgoing: EdgeDelta[];
  doc(docId: string): Y.Doc;
  edit(docId: string, fn: (fields: Y.Map<unknown>, meta: Y.Map<unknown>) => void, format?: Format): EdgeDelta;
  set(docId: string, fields: FieldsInput, format?: Format): EdgeDelta;
  unset(docId: string, keys: string[], format?: Format): EdgeDelta;
  remove(docId: string, now?: number, format?: Format): EdgeDelta;
  delta(docId: string, update: Uint8Array | ArrayBuffer, format?: Format, collection?: string): EdgeDelta;
  take(): EdgeDelta[];
  receive(docId: string, update: Uint8Array | ArrayBuffer, format?: Format): void;
  diffFor(docId: string, stateVector: Uint8Array, format?: Format): Uint8Array;
  pending(docId: string): boolean;
  row(docId: string): Row;
  fields(docId: string): Fields;
  rows(): Map<string, Row>;
}

export declare function keysOf(
  delta: ArrayBuffer | Uint8Array,
  prior?: Array<ArrayBuffer | Uint8Array>,
): { fields: string[]; meta: string[] };
export declare function viewOf(deltas: Array<ArrayBuffer | Uint8Array>): Row;
export declare function wireDelta(d: EdgeDelta): WireDelta;
export declare function applyDeltaBody(deltas: EdgeDelta[]): { version: number; deltas: WireDelta[] };
