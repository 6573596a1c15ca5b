// Checks the yjs-side helpers themselves, so the engine interop tests compare against a
// reference that is known to be exact (and a comparison that can fail).

import { describe, expect, test } from "vitest";
import * as Y from "yjs";
import {
  canonical,
  docFrom,
  everyValueType,
  markDeleted,
  newDoc,
  nestedTypes,
  prng,
  READER_CLIENT_ID,
  randomFields,
  readRow,
  reinsert,
  removeFields,
  rowOf,
  setFields,
  type Format,
} from "@dink-convex/testkit";

describe("yjs reference helpers", () => {
  for (const format of [1, 2] as Format[]) {
    test(`every value type survives yjs v${format} encode/decode`, () => {
      const doc = newDoc(11);
      const fields = everyValueType();
      const update = setFields(doc, fields, format);
      expect(canonical(rowOf(update, format))).toEqual(canonical(fields));
      expect(nestedTypes(docFrom(update, READER_CLIENT_ID, format))).toEqual([]);
    });
  }

  test("canonical comparison is exact: it tells 0 from -0, 1 from 1n, bytes from arrays, NaN equals NaN", () => {
    expect(canonical({ a: 0 })).not.toEqual(canonical({ a: -0 }));
    expect(canonical({ a: 1 })).not.toEqual(canonical({ a: 1n }));
    expect(canonical({ a: new Uint8Array([1]).buffer })).not.toEqual(canonical({ a: [1] }));
    expect(canonical({ a: NaN })).toEqual(canonical({ a: NaN }));
    expect(canonical({ a: { x: 1, y: 2 } })).toEqual(canonical({ a: { y: 2, x: 1 } }));
    expect(canonical({ fields: {}, deleted: true })).not.toEqual(canonical({ fields: {}, deleted: false }));
  });

  test("yjs keeps float -0 (the engine cannot; see the engine interop test)", () => {
    const doc = newDoc(3);
    const update = setFields(doc, { z: -0 });
    expect(Object.is(rowOf(update).fields.z, -0)).toBe(true);
  });

  test("tombstone, late edit and re-insert in pure yjs", () => {
    const a = newDoc(1);
    const base = setFields(a, { id: "r", title: "x" });
    const b = docFrom(base, 2);
    const del = markDeleted(a, 1234);
    const late = setFields(b, { title: "late" });
    Y.applyUpdateV2(a, late);
    Y.applyUpdateV2(b, del);
    expect(readRow(a)).toEqual(readRow(b));
    expect(readRow(a).deleted).toBe(true);
    expect(a.getMap("_meta").get("_deletedAt")).toBe(1234);
    const re = reinsert(a, { id: "r", title: "again" });
    Y.applyUpdateV2(b, re);
    expect(readRow(b)).toEqual({ fields: { id: "r", title: "again" }, deleted: false });
    const rm = removeFields(b, ["title"]);
    expect(rowOf(Y.mergeUpdatesV2([base, del, late, re, rm])).fields).toEqual({ id: "r" });
  });

  test("random rows are reproducible from the seed", () => {
    expect(canonical(randomFields(prng(7), "a"))).toEqual(canonical(randomFields(prng(7), "a")));
    expect(canonical(randomFields(prng(7), "a"))).not.toEqual(canonical(randomFields(prng(8), "a")));
  });
});
