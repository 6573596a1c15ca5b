// Bytes made by the engine (through the wasm package) apply in `yjs`, v1 and v2, and the rows
// yjs reads back equal what the engine wrote (canonical values, never bytes).

import { describe, expect, test } from "vitest";
import * as Y from "yjs";
import { engine, engineInsert, engineRow } from "../support/engine.ts";
import {
  applyUpdate,
  canonical,
  decodeSv,
  docFrom,
  everyValueType,
  nestedTypes,
  newDoc,
  prng,
  randomFields,
  randomValue,
  READER_CLIENT_ID,
  readRow,
  rowOf,
  svOfDoc,
  type Fields,
  type Format,
} from "@dink-convex/testkit";

/** Engine bytes (always v2) in the format a yjs peer is asked to read. */
function asFormat(v2: Uint8Array, format: Format): Uint8Array {
  return format === 2 ? v2 : engine.convertV2ToV1(v2);
}

describe.each([1, 2] as Format[])("engine -> yjs, update v%i", (format) => {
  test("every value type: the insert delta and the stored state read back equal in yjs", () => {
    const fields = everyValueType();
    const out = engineInsert(fields);
    expect(out.deleted).toBe(false);
    expect(out.changedKeys.sort()).toEqual(Object.keys(fields).sort());

    const fromDelta = docFrom(asFormat(out.delta, format), READER_CLIENT_ID, format);
    expect(canonical(readRow(fromDelta))).toEqual(canonical(fields));
    expect(nestedTypes(fromDelta)).toEqual([]);
    expect(canonical(rowOf(asFormat(out.state, format), format))).toEqual(canonical(fields));
    // The engine reads its own state back the same way.
    expect(canonical(engineRow(out.state))).toEqual(canonical(fields));
    // State vectors agree (decoded, not compared as bytes).
    expect(decodeSv(out.stateVector)).toEqual(svOfDoc(fromDelta));
  });

  test("update, field removal, delete and re-insert: each delta applies in yjs", () => {
    const yjs = newDoc(READER_CLIENT_ID);
    let state: Uint8Array | null = null;
    let current: Fields | null = null;
    const step = (next: Fields | null, now: number, expectKeys: string[]) => {
      const out = engine.change(state, current, next, { now });
      expect(out.changedKeys.sort()).toEqual(expectKeys.sort());
      expect(out.delta).not.toBeNull();
      applyUpdate(yjs, asFormat(out.delta!, format), format);
      state = out.state;
      if (next) current = next;
      expect(canonical(readRow(yjs))).toEqual(canonical(engineRow(state)));
      expect(decodeSv(out.stateVector)).toEqual(svOfDoc(yjs));
      return out;
    };

    step({ id: "r1", title: "a", n: 1, tags: ["x"] }, 10, ["id", "title", "n", "tags"]);
    step({ id: "r1", title: "b", n: 1, tags: ["x"] }, 20, ["title"]);
    step({ id: "r1", title: "b", n: 1 }, 30, ["tags"]);
    expect(readRow(yjs).fields).toEqual({ id: "r1", title: "b", n: 1 });

    const del = step(null, 40, []);
    expect(del.deleted).toBe(true);
    expect(yjs.getMap("_meta").get("_deleted")).toBe(true);
    expect(yjs.getMap("_meta").get("_deletedAt")).toBe(40);
    // The tombstone keeps the fields, so late edge edits merge into a deleted row.
    expect(readRow(yjs)).toEqual({ fields: { id: "r1", title: "b", n: 1 }, deleted: true });

    const re = step({ id: "r1", title: "again" }, 50, ["title", "n"]);
    expect(re.deleted).toBe(false);
    // Re-insert writes an explicit `_deleted: false` (what Replicate clients look at).
    expect(yjs.getMap("_meta").get("_deleted")).toBe(false);
    expect(yjs.getMap("_meta").has("_deletedAt")).toBe(false);
    expect(readRow(yjs)).toEqual({ fields: { id: "r1", title: "again" }, deleted: false });
  });

  test("200 random rows and random edits: yjs and the engine agree after every delta", () => {
    const rand = prng(format === 1 ? 1001 : 2002);
    for (let r = 0; r < 200; r++) {
      const yjs = newDoc(READER_CLIENT_ID);
      let current = randomFields(rand, `row-${r}`, 1 + Math.floor(rand() * 7));
      let out = engineInsert(current, r);
      applyUpdate(yjs, asFormat(out.delta, format), format);
      for (let e = 0; e < 3; e++) {
        const next: Fields = { ...current };
        const key = `f${Math.floor(rand() * 8)}`;
        if (rand() < 0.2 && key in next) delete next[key];
        else next[key] = randomValue(rand);
        const o = engine.change(out.state, current, next, { now: r });
        if (o.delta) applyUpdate(yjs, asFormat(o.delta, format), format);
        out = { ...o, delta: o.delta ?? out.delta };
        current = next;
      }
      expect(canonical(readRow(yjs))).toEqual(canonical(current));
      expect(canonical(engineRow(out.state))).toEqual(canonical(current));
    }
  });
});

describe("engine change details", () => {
  test("a write that changes nothing gives no delta", () => {
    const fields = { id: "r", a: 1, b: [1, 2n], c: new Uint8Array([1, 2]).buffer };
    const ins = engineInsert(fields);
    const again = engine.change(ins.state, fields, { ...fields, c: new Uint8Array([1, 2]).buffer }, { now: 2 });
    expect(again.delta).toBeNull();
    expect(again.changedKeys).toEqual([]);
    expect(again.drifted).toBe(false);
    expect(canonical(engineRow(again.state))).toEqual(canonical(fields));
  });

  test("only changed keys are written: the delta of a one-field update holds one map entry", () => {
    const ins = engineInsert({ id: "r", a: "x".repeat(500), b: 1 });
    const upd = engine.change(
      ins.state,
      { id: "r", a: "x".repeat(500), b: 1 },
      { id: "r", a: "x".repeat(500), b: 2 },
      { now: 2 },
    );
    expect(upd.changedKeys).toEqual(["b"]);
    // Applied on an empty doc the delta alone carries only `b` (and no copy of the 500-char `a`).
    const alone = newDoc(READER_CLIENT_ID);
    Y.applyUpdateV2(alone, upd.delta!);
    expect(upd.delta!.length).toBeLessThan(100);
    expect(Y.decodeUpdateV2(upd.delta!).structs.length).toBe(1);
  });

  test("drift: the delta is computed against the CRDT, not the caller's stale old row", () => {
    const ins = engineInsert({ id: "r", a: 1, b: 1 });
    // The caller believes b was 5; the CRDT says 1. Writing b=1 is then no change at all.
    const out = engine.change(ins.state, { id: "r", a: 1, b: 5 }, { id: "r", a: 2, b: 1 }, { now: 2 });
    expect(out.drifted).toBe(true);
    expect(out.changedKeys).toEqual(["a"]);
  });

  test("Convex writes use SERVER_CLIENT_ID unless a clientId is given", () => {
    const a = engineInsert({ id: "r" });
    expect([...decodeSv(a.stateVector).keys()]).toEqual([engine.SERVER_CLIENT_ID]);
    const b = engine.change(null, null, { id: "r" }, { now: 1, clientId: 4242 });
    expect([...decodeSv(b.stateVector).keys()]).toEqual([4242]);
    const doc = docFrom(b.delta!, READER_CLIENT_ID);
    expect([...svOfDoc(doc).keys()]).toEqual([4242]);
  });
});

describe("float -0 (documented engine behaviour: yrs cannot encode -0, it is stored as 0)", () => {
  test("an engine write of -0 reaches yjs and the engine as +0, nested too", () => {
    const out = engineInsert({ id: "r", z: -0, arr: [-0, 1], obj: { z: -0 } });
    const yjsRow = rowOf(out.delta);
    expect(Object.is(yjsRow.fields.z, 0)).toBe(true);
    expect(Object.is((yjsRow.fields.arr as number[])[0], 0)).toBe(true);
    expect(Object.is((yjsRow.fields.obj as { z: number }).z, 0)).toBe(true);
    const own = engineRow(out.state);
    expect(Object.is(own.fields.z, 0)).toBe(true);
    expect(canonical(own)).toEqual(canonical({ id: "r", z: 0, arr: [0, 1], obj: { z: 0 } }));
  });

  test("writing -0 over a stored 0 is not a change (so it is not re-sent on every write)", () => {
    const ins = engineInsert({ id: "r", z: 0 });
    const out = engine.change(ins.state, { id: "r", z: 0 }, { id: "r", z: -0 }, { now: 2 });
    expect(out.delta).toBeNull();
  });

  test("a yjs edge's -0 is read by the engine as 0", () => {
    const doc = newDoc(7);
    doc.getMap("fields").set("id", "r");
    doc.getMap("fields").set("z", -0);
    const update = Y.encodeStateAsUpdateV2(doc);
    expect(Object.is(rowOf(update).fields.z, -0)).toBe(true); // yjs itself keeps -0
    const res = engine.ingest(null, update, 2);
    expect(Object.is(res.fields.z, 0)).toBe(true);
  });
});
