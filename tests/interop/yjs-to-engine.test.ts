// Bytes made by `yjs` (v1 and v2) are ingested by the engine, and what the engine returns
// (fields, state, delta, state vector) agrees with yjs's own view of the document.

import { describe, expect, test } from "vitest";
import * as Y from "yjs";
import { engine, engineRow, expectEngineError } from "../support/engine.ts";
import {
  applyUpdate,
  canonical,
  decodeSv,
  docFrom,
  encodeState,
  everyValueType,
  markDeleted,
  newDoc,
  prng,
  randomFields,
  randomValue,
  READER_CLIENT_ID,
  readRow,
  reinsert,
  removeFields,
  rowOf,
  setFields,
  svOfDoc,
  type Format,
} from "@dink-convex/testkit";

describe.each([1, 2] as Format[])("yjs -> engine, update v%i", (format) => {
  test("every value type: ingest materializes the same row; state and delta read back in yjs", () => {
    const edge = newDoc(501);
    const fields = everyValueType();
    const update = setFields(edge, fields, format);
    const res = engine.ingest(null, update, format);
    expect(res.changed).toBe(true);
    expect(res.deleted).toBe(false);
    expect(canonical(res.fields)).toEqual(canonical(fields));
    expect(canonical(engineRow(res.state))).toEqual(canonical(fields));
    expect(canonical(rowOf(res.state))).toEqual(canonical(fields));
    expect(canonical(rowOf(res.delta))).toEqual(canonical(fields));
    expect(decodeSv(res.stateVector)).toEqual(svOfDoc(edge));
  });

  test("updates, field removal, tombstone and re-insert: the engine follows yjs step by step", () => {
    const edge = newDoc(502);
    let state: Uint8Array | null = null;
    const ingestStep = (update: Uint8Array) => {
      const res = engine.ingest(state, update, format);
      expect(res.changed).toBe(true);
      state = res.state;
      expect(canonical({ fields: res.fields, deleted: res.deleted })).toEqual(canonical(readRow(edge)));
      expect(decodeSv(res.stateVector)).toEqual(svOfDoc(edge));
      return res;
    };
    ingestStep(setFields(edge, { id: "r", title: "a", n: 1n, tags: ["x"] }, format));
    ingestStep(setFields(edge, { title: "b" }, format));
    ingestStep(removeFields(edge, ["tags"], format));
    expect(engineRow(state!).fields).toEqual({ id: "r", title: "b", n: 1n });
    const del = ingestStep(markDeleted(edge, 99, format));
    expect(del.deleted).toBe(true);
    const re = ingestStep(reinsert(edge, { id: "r", title: "back" }, format));
    expect(re.deleted).toBe(false);
    expect(re.fields).toEqual({ id: "r", title: "back", n: 1n });
  });

  test("200 random rows with random edits from two yjs edges", () => {
    const rand = prng(format === 1 ? 31 : 32);
    for (let r = 0; r < 200; r++) {
      const a = newDoc(600);
      const b = newDoc(601);
      let state: Uint8Array | null = null;
      const send = (from: Y.Doc, update: Uint8Array, to: Y.Doc) => {
        const res = engine.ingest(state, update, format);
        state = res.state;
        applyUpdate(to, update, format);
        expect(canonical(res.fields)).toEqual(canonical(readRow(from).fields));
      };
      send(a, setFields(a, randomFields(rand, `row-${r}`, 1 + Math.floor(rand() * 6)), format), b);
      for (let e = 0; e < 4; e++) {
        const [from, to] = rand() < 0.5 ? [a, b] : [b, a];
        const key = `f${Math.floor(rand() * 8)}`;
        const update =
          rand() < 0.2 && readRow(from).fields[key] !== undefined
            ? removeFields(from, [key], format)
            : setFields(from, { [key]: randomValue(rand) }, format);
        send(from, update, to);
      }
      expect(canonical(engineRow(state!))).toEqual(canonical(readRow(a)));
    }
  });

  test("a duplicate update is a no-op: changed=false, empty delta, same row and state vector", () => {
    const edge = newDoc(503);
    const u1 = setFields(edge, { id: "r", a: 1 }, format);
    const first = engine.ingest(null, u1, format);
    const dup = engine.ingest(first.state, u1, format);
    expect(dup.changed).toBe(false);
    expect(dup.delta.length).toBe(0);
    expect(decodeSv(dup.stateVector)).toEqual(decodeSv(first.stateVector));
    expect(canonical(dup.fields)).toEqual(canonical(first.fields));
  });

  test("the returned delta holds only what was new to the server", () => {
    const edge = newDoc(504);
    const u1 = setFields(edge, { id: "r", body: "x".repeat(2000) }, format);
    const first = engine.ingest(null, u1, format);
    setFields(edge, { done: true }, format);
    // The edge resends its whole state (as Replicate does for prose fields): mostly known.
    const full = encodeState(edge, format);
    const res = engine.ingest(first.state, full, format);
    expect(res.changed).toBe(true);
    expect(res.delta.length).toBeLessThan(200);
    // A peer that holds the old state reaches the new one with the delta alone.
    const peer = docFrom(first.state, READER_CLIENT_ID);
    Y.applyUpdateV2(peer, res.delta);
    expect(canonical(readRow(peer))).toEqual(canonical(readRow(edge)));
    // And the delta alone carries one struct (the `done` entry), not the 2000-char body.
    const decoded = Y.decodeUpdateV2(res.delta);
    expect(decoded.structs.length).toBe(1);
    expect((decoded.structs[0] as Y.Item).content.getContent()).toEqual([true]);
  });
});

describe("top-level bytes fields (yjs stores a Uint8Array map value as ContentBinary)", () => {
  test.each([1, 2] as Format[])(
    "v%i: the engine's state and delta stay decodable by the engine and by yjs",
    (format) => {
      const edge = newDoc(510);
      const update = setFields(edge, { id: "b", blob: new Uint8Array([0, 1, 255]).buffer }, format);
      const res = engine.ingest(null, update, format);
      expect(canonical(res.fields)).toEqual(canonical(readRow(edge).fields));
      expect(canonical(engineRow(res.state).fields)).toEqual(canonical(readRow(edge).fields));
      expect(canonical(rowOf(res.state).fields)).toEqual(canonical(readRow(edge).fields));
      expect(canonical(rowOf(res.delta).fields)).toEqual(canonical(readRow(edge).fields));
    },
  );

  test("convertV1ToV2 and merge of a yjs v1 update holding bytes give v2 that yjs reads", () => {
    const edge = newDoc(511);
    const v1 = setFields(edge, { id: "b", blob: new Uint8Array([9, 8, 7]).buffer }, 1);
    const expected = canonical(readRow(edge));
    expect(canonical(rowOf(engine.convertV1ToV2(v1)))).toEqual(expected);
    expect(canonical(rowOf(engine.merge([v1], 1)))).toEqual(expected);
  });
});

describe("yjs -> engine rejections", () => {
  const v1Update = setFields(newDoc(505), { id: "r", a: "hello" }, 1);
  test.each([
    ["truncated garbage as v2", new Uint8Array([1, 2, 3, 250, 251]), 2],
    ["truncated garbage as v1", new Uint8Array([1, 2, 3, 250, 251]), 1],
    ["empty bytes", new Uint8Array(0), 2],
    ["a v1 update declared as v2", v1Update, 2],
    ["a v1 update cut short", v1Update.subarray(0, v1Update.length - 3), 1],
  ] as [string, Uint8Array, Format][])("%s is INVALID_DELTA (not a trap)", (_name, bytes, format) => {
    expectEngineError(() => engine.ingest(null, bytes, format), "INVALID_DELTA");
    // The engine keeps working afterwards.
    expect(engine.ingest(null, v1Update, 1).fields).toEqual({ id: "r", a: "hello" });
  });

  test("an update that adds another root type is INVALID_DELTA", () => {
    const edge = newDoc(506);
    const update = (() => {
      const before = Y.encodeStateVector(edge);
      edge.getMap("other").set("x", 1);
      return Y.encodeStateAsUpdateV2(edge, before);
    })();
    expectEngineError(() => engine.ingest(null, update, 2), "INVALID_DELTA");
  });

  test.each([1, 2] as Format[])("a yjs sub-document in a field is INVALID_DELTA (v%s)", (format) => {
    const edge = newDoc(508);
    const before = Y.encodeStateVector(edge);
    edge.getMap("fields").set("child", new Y.Doc());
    const update = format === 2 ? Y.encodeStateAsUpdateV2(edge, before) : Y.encodeStateAsUpdate(edge, before);
    const err = expectEngineError(() => engine.ingest(null, update, format), "INVALID_DELTA");
    expect(err.message).toMatch(/sub-documents/);
  });

  test("a field name Convex cannot hold is INVALID_DELTA naming the field", () => {
    const edge = newDoc(507);
    const update = setFields(edge, { id: "r", _secret: 1 });
    const err = expectEngineError(() => engine.ingest(null, update, 2), "INVALID_DELTA");
    expect(err.field).toBe("_secret");
  });

  test("an update over the size limit is TOO_LARGE and stores nothing", () => {
    const edge = newDoc(508);
    const update = setFields(edge, { id: "r", big: "y".repeat(5000) });
    expectEngineError(() => engine.ingest(null, update, 2, { maxUpdateBytes: 1000 }), "TOO_LARGE");
    expect(engine.ingest(null, update, 2).fields.big).toBe("y".repeat(5000));
  });
});
