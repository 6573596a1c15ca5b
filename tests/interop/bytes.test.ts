// Byte-level operations (diff, merge, state vector, format conversion) against yjs.

import { describe, expect, test } from "vitest";
import * as Y from "yjs";
import { engine, engineInsert, engineRow, expectEngineError } from "../support/engine.ts";
import {
  canonical,
  decodeSv,
  docFrom,
  everyValueType,
  markDeleted,
  newDoc,
  prng,
  randomFields,
  READER_CLIENT_ID,
  readRow,
  rowOf,
  setFields,
  svOfDoc,
} from "@dink-convex/testkit";

/** A row edited by several clients: its state, and a yjs peer that saw only the first half. */
function history() {
  const rand = prng(5);
  const writers = [newDoc(1101), newDoc(1102), newDoc(1103)];
  const updates: Uint8Array[] = [];
  const all = newDoc(READER_CLIENT_ID);
  const early = newDoc(READER_CLIENT_ID + 1);
  for (let i = 0; i < 20; i++) {
    const w = writers[i % 3]!;
    for (const u of updates) Y.applyUpdateV2(w, u); // each writer catches up before editing
    const u = setFields(w, randomFields(rand, "h", 3));
    updates.push(u);
    Y.applyUpdateV2(all, u);
    if (i < 10) Y.applyUpdateV2(early, u);
  }
  return { updates, all, early, state: Y.encodeStateAsUpdateV2(all) };
}

describe("diff", () => {
  test("engine diff against a yjs peer's state vector brings the peer up to date", () => {
    const h = history();
    const ingested = engine.ingest(null, h.state, 2);
    const earlySv = Y.encodeStateVector(h.early);
    const d = engine.diff(ingested.state, earlySv);
    // Same content as yjs's own diff (compared as decoded structs and rows, not bytes).
    const yjsDiff = Y.diffUpdateV2(h.state, earlySv);
    expect(decodeSv(engine.stateVector(d))).toEqual(decodeSv(Y.encodeStateVectorFromUpdateV2(yjsDiff)));
    Y.applyUpdateV2(h.early, d);
    expect(canonical(readRow(h.early))).toEqual(canonical(readRow(h.all)));
    expect(svOfDoc(h.early)).toEqual(svOfDoc(h.all));
  });

  test("diff against an empty state vector is the whole row; against the full one it adds nothing", () => {
    const out = engineInsert(everyValueType());
    expect(canonical(rowOf(engine.diff(out.state, new Uint8Array([0]))))).toEqual(canonical(everyValueType()));
    expect(canonical(rowOf(engine.diff(out.state, new Uint8Array(0))))).toEqual(canonical(everyValueType()));
    const none = engine.diff(out.state, out.stateVector);
    const peer = docFrom(out.state, READER_CLIENT_ID);
    const before = svOfDoc(peer);
    Y.applyUpdateV2(peer, none);
    expect(svOfDoc(peer)).toEqual(before);
    expect(Y.decodeUpdateV2(none).structs.length).toBe(0);
  });

  test("a malformed state vector is INVALID_ARGUMENT", () => {
    const out = engineInsert({ id: "x" });
    expectEngineError(() => engine.diff(out.state, new Uint8Array([5, 200])), "INVALID_ARGUMENT");
  });
});

describe("merge", () => {
  test("engine merge of 20 yjs v2 updates equals yjs mergeUpdatesV2 and applies in yjs", () => {
    const h = history();
    const merged = engine.merge(h.updates, 2);
    expect(canonical(engineRow(merged))).toEqual(canonical(readRow(h.all)));
    expect(canonical(rowOf(merged))).toEqual(canonical(rowOf(Y.mergeUpdatesV2(h.updates))));
    expect(decodeSv(engine.stateVector(merged))).toEqual(svOfDoc(h.all));
  });

  test("engine merge of yjs v1 updates gives v2", () => {
    const h = history();
    const v1 = h.updates.map((u) => Y.convertUpdateFormatV2ToV1(u));
    const merged = engine.merge(v1, 1);
    expect(canonical(rowOf(merged, 2))).toEqual(canonical(readRow(h.all)));
  });

  test("merge with a tombstone and engine deltas mixed in", () => {
    const base = engineInsert({ id: "m", a: 1 });
    const edge = docFrom(base.state, 1200);
    const upd = setFields(edge, { a: 2 });
    const tomb = markDeleted(edge, 55);
    const merged = engine.merge([base.delta, upd, tomb], 2);
    expect(engineRow(merged)).toEqual({ fields: { id: "m", a: 2 }, deleted: true });
    expect(readRow(docFrom(merged, READER_CLIENT_ID))).toEqual({ fields: { id: "m", a: 2 }, deleted: true });
  });

  test("an undecodable input is INVALID_DELTA", () => {
    const h = history();
    expectEngineError(() => engine.merge([h.updates[0]!, new Uint8Array([9, 9, 9])], 2), "INVALID_DELTA");
  });
});

describe("state vectors and format conversion", () => {
  test("stateVector(update) matches yjs for v1 and v2", () => {
    const h = history();
    expect(decodeSv(engine.stateVector(h.state, 2))).toEqual(decodeSv(Y.encodeStateVectorFromUpdateV2(h.state)));
    const v1 = Y.encodeStateAsUpdate(h.all);
    expect(decodeSv(engine.stateVector(v1, 1))).toEqual(decodeSv(Y.encodeStateVectorFromUpdate(v1)));
  });

  test("convertV1ToV2 / convertV2ToV1 of yjs bytes apply in yjs as the other format", () => {
    const edge = newDoc(1300);
    const v1 = setFields(edge, everyValueType(), 1);
    const expected = canonical(readRow(edge));
    const v2 = engine.convertV1ToV2(v1);
    const a = newDoc(READER_CLIENT_ID);
    Y.applyUpdateV2(a, v2);
    expect(canonical(readRow(a))).toEqual(expected);
    const back = engine.convertV2ToV1(Y.encodeStateAsUpdateV2(edge));
    const b = newDoc(READER_CLIENT_ID);
    Y.applyUpdate(b, back);
    expect(canonical(readRow(b))).toEqual(expected);
    // yjs reads the engine's v2 after its own conversion to v1, too.
    const c = newDoc(READER_CLIENT_ID);
    Y.applyUpdate(c, Y.convertUpdateFormatV2ToV1(v2));
    expect(canonical(readRow(c))).toEqual(expected);
  });
});
