// Test helpers: build edge-side row documents with the real `yjs` library (the edge's view).
import * as Y from "yjs";

/** A row document as an edge device writes it: root map "fields" (and "_meta"). */
export function edgeDoc(clientId: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  return doc;
}

export function setFields(doc: Y.Doc, fields: Record<string, unknown>): void {
  doc.transact(() => {
    const map = doc.getMap<unknown>("fields");
    for (const [key, value] of Object.entries(fields)) map.set(key, value);
  });
}

/** The whole row document as an update v2 (or v1). */
export function fullUpdate(doc: Y.Doc, format: 1 | 2 = 2): Uint8Array {
  return format === 2 ? Y.encodeStateAsUpdateV2(doc) : Y.encodeStateAsUpdate(doc);
}

/** The fields map of a document rebuilt from v2 updates. */
export function fieldsOf(...updatesV2: Uint8Array[]): Record<string, unknown> {
  const doc = new Y.Doc();
  for (const update of updatesV2) Y.applyUpdateV2(doc, update);
  return Object.fromEntries(doc.getMap<unknown>("fields").entries());
}

/** Client ids of the structs an update v2 carries. */
export function structClients(updateV2: Uint8Array): number[] {
  return [...new Set(Y.decodeUpdateV2(updateV2).structs.map((s) => s.id.client))];
}

export const bytesOf = (...values: number[]): ArrayBuffer => new Uint8Array(values).buffer;

/** [client, clock] of every struct an update v2 carries. */
export function structIds(updateV2: Uint8Array): [number, number][] {
  return Y.decodeUpdateV2(updateV2).structs.map((s) => [s.id.client, s.id.clock]);
}
