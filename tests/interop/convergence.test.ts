// Concurrency: engine ingest of yjs-made concurrent edits converges with yjs's own view;
// MISSING_DEPENDENCIES and the resend protocol; tombstones against late edits; re-insert.

import { describe, expect, test } from "vitest";
import * as Y from "yjs";
import { engine, engineInsert, engineRow, expectEngineError } from "../support/engine.ts";
import {
  canonical,
  decodeSv,
  docFrom,
  markDeleted,
  prng,
  randomValue,
  READER_CLIENT_ID,
  readRow,
  reinsert,
  removeFields,
  setFields,
  svOfDoc,
  type Format,
} from "@dink-convex/testkit";

interface Msg {
  update: Uint8Array;
  format: Format;
}

/**
 * Delivers `msgs` to the engine in the given order, starting from `state`. An update rejected
 * with MISSING_DEPENDENCIES is put back at the end of the queue; returns the final state and the
 * number of such rejections.
 */
function deliverAll(state: Uint8Array, msgs: Msg[]): { state: Uint8Array; rejected: number } {
  const queue = [...msgs];
  let rejected = 0;
  let sinceProgress = 0;
  while (queue.length > 0) {
    const msg = queue.shift()!;
    try {
      state = engine.ingest(state, msg.update, msg.format).state;
      sinceProgress = 0;
    } catch (e) {
      if ((e as { code?: string }).code !== "MISSING_DEPENDENCIES") throw e;
      rejected++;
      queue.push(msg);
      if (++sinceProgress > queue.length + 1) throw new Error("no progress: updates can never apply");
    }
  }
  return { state, rejected };
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("concurrent edits", () => {
  test("three offline yjs edges + the engine: every delivery order converges to yjs's view", () => {
    const rand = prng(2024);
    for (let round = 0; round < 25; round++) {
      const base = engineInsert({ id: `r${round}`, title: "base", n: 0, tags: [], note: "keep" }, round);
      const edges = [701, 702, 703].map((id) => docFrom(base.state, id));
      const msgs: Msg[] = [];
      // Offline: each edge makes 1..4 edits on overlapping keys, v1 or v2.
      for (const [i, edge] of edges.entries()) {
        const format: Format = i === 2 ? 1 : 2;
        for (let e = 1 + Math.floor(rand() * 4); e > 0; e--) {
          const r = rand();
          const update =
            r < 0.15
              ? markDeleted(edge, 1000 + e, format)
              : r < 0.25
                ? removeFields(edge, ["note"], format)
                : setFields(
                    edge,
                    { [["title", "n", "tags", "extra"][Math.floor(rand() * 4)]!]: randomValue(rand, 1) },
                    format,
                  );
          msgs.push({ update, format });
        }
      }
      // The Convex side writes concurrently too (from the base state).
      const server = engine.change(
        base.state,
        engineRow(base.state).fields,
        { id: `r${round}`, title: "server", n: 7, tags: ["s"], note: "keep" },
        { now: 5 },
      );
      msgs.push({ update: server.delta!, format: 2 });

      // yjs's own view: one doc that received everything.
      const truth = docFrom(base.state, READER_CLIENT_ID);
      for (const m of msgs) (m.format === 2 ? Y.applyUpdateV2 : Y.applyUpdate)(truth, m.update);

      // Several delivery orders, with duplicates.
      for (let order = 0; order < 4; order++) {
        const withDups = [...msgs, ...msgs.filter(() => rand() < 0.3)];
        const { state } = deliverAll(base.state, shuffle(withDups, rand));
        expect(canonical(engineRow(state))).toEqual(canonical(readRow(truth)));
        expect(decodeSv(engine.stateVector(state))).toEqual(svOfDoc(truth));
        // And the engine's state, loaded by yjs, is the same document.
        expect(canonical(readRow(docFrom(state, READER_CLIENT_ID)))).toEqual(canonical(readRow(truth)));
      }
    }
  });

  test("engine deltas and yjs updates exchanged both ways converge (engine <-> yjs peer)", () => {
    const rand = prng(77);
    const base = engineInsert({ id: "p", a: 0, b: 0 });
    let state = base.state;
    const edge = docFrom(base.state, 800);
    const toEngine: Msg[] = [];
    const toEdge: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      if (rand() < 0.5) {
        toEngine.push({ update: setFields(edge, { [rand() < 0.5 ? "a" : "b"]: i }), format: 2 });
      } else {
        const cur = engineRow(state).fields;
        const out = engine.change(state, cur, { ...cur, [rand() < 0.5 ? "a" : "c"]: i }, { now: i });
        state = out.state;
        if (out.delta) toEdge.push(out.delta);
      }
    }
    state = deliverAll(state, shuffle(toEngine, rand)).state;
    for (const d of shuffle(toEdge, rand)) Y.applyUpdateV2(edge, d); // yjs parks out-of-order ones
    expect(edge.store.pendingStructs).toBeNull();
    expect(canonical(engineRow(state))).toEqual(canonical(readRow(edge)));
  });
});

describe("MISSING_DEPENDENCIES", () => {
  test.each([1, 2] as Format[])(
    "an out-of-order update (v%i) is rejected with the server's state vector; the yjs resend is accepted",
    (format) => {
      const base = engineInsert({ id: "m", title: "t0" });
      const edge = docFrom(base.state, 900);
      setFields(edge, { title: "t1" }, format); // u1: never reaches the server
      const u2 = setFields(edge, { title: "t2", more: 1 }, format); // builds on u1
      const err = expectEngineError(() => engine.ingest(base.state, u2, format), "MISSING_DEPENDENCIES");
      expect(err.stateVector).toBeInstanceOf(Uint8Array);
      expect(decodeSv(err.stateVector!)).toEqual(decodeSv(base.stateVector));
      // The edge answers with everything the server lacks.
      const resend =
        format === 2 ? Y.encodeStateAsUpdateV2(edge, err.stateVector) : Y.encodeStateAsUpdate(edge, err.stateVector);
      const res = engine.ingest(base.state, resend, format);
      expect(res.changed).toBe(true);
      expect(canonical({ fields: res.fields, deleted: res.deleted })).toEqual(canonical(readRow(edge)));
      expect(decodeSv(res.stateVector)).toEqual(svOfDoc(edge));
    },
  );

  test("a clock gap (an earlier update of the same client is missing) is MISSING_DEPENDENCIES", () => {
    const base = engineInsert({ id: "g", a: 1 });
    const edge = docFrom(base.state, 901);
    setFields(edge, { a: 2 });
    const u2 = setFields(edge, { b: 3 }); // touches another key, but clock 1 needs clock 0
    const err = expectEngineError(() => engine.ingest(base.state, u2, 2), "MISSING_DEPENDENCIES");
    const res = engine.ingest(base.state, Y.encodeStateAsUpdateV2(edge, err.stateVector), 2);
    expect(res.fields).toEqual({ id: "g", a: 2, b: 3 });
  });

  test("the engine's own diff also repairs (an engine peer resends)", () => {
    const base = engineInsert({ id: "e", a: 1 });
    const peer1 = engine.change(base.state, { id: "e", a: 1 }, { id: "e", a: 2 }, { now: 1, clientId: 31 });
    const peer2 = engine.change(peer1.state, { id: "e", a: 2 }, { id: "e", a: 3 }, { now: 2, clientId: 31 });
    const err = expectEngineError(() => engine.ingest(base.state, peer2.delta!, 2), "MISSING_DEPENDENCIES");
    const res = engine.ingest(base.state, engine.diff(peer2.state, err.stateVector!), 2);
    expect(res.fields).toEqual({ id: "e", a: 3 });
  });

  test("a delete of a value the server has not seen yet does not get lost", () => {
    const base = engineInsert({ id: "d", keep: 1 });
    const edge = docFrom(base.state, 902);
    const u1 = setFields(edge, { temp: "x" });
    const u2 = removeFields(edge, ["temp"]); // only a delete set, pointing at u1's struct
    let state = base.state;
    // Whether the engine rejects u2 or not, once u1 arrives the row must match the edge.
    try {
      state = engine.ingest(state, u2, 2).state;
    } catch (e) {
      expect((e as { code?: string }).code).toBe("MISSING_DEPENDENCIES");
      state = deliverAll(state, [
        { update: u1, format: 2 },
        { update: u2, format: 2 },
      ]).state;
    }
    state = deliverAll(state, [{ update: u1, format: 2 }]).state;
    expect(canonical(engineRow(state))).toEqual(canonical(readRow(edge)));
    expect(engineRow(state).fields).toEqual({ id: "d", keep: 1 });
  });
});

describe("tombstones", () => {
  test("an engine delete followed by a late edge edit does not un-delete the row", () => {
    const base = engineInsert({ id: "t", title: "a" });
    const edge = docFrom(base.state, 1001); // the edge goes offline before the delete
    const del = engine.change(base.state, { id: "t", title: "a" }, null, { now: 500 });
    expect(del.deleted).toBe(true);
    const late = setFields(edge, { title: "edited offline" });
    const res = engine.ingest(del.state, late, 2);
    expect(res.changed).toBe(true);
    expect(res.deleted).toBe(true);
    expect(res.fields.title).toBe("edited offline"); // merged into the tombstoned row
    // The edge converges to the same tombstoned row once it hears of the delete.
    Y.applyUpdateV2(edge, del.delta!);
    expect(readRow(edge).deleted).toBe(true);
    expect(canonical(readRow(edge))).toEqual(canonical({ fields: res.fields, deleted: true }));
    // The other order gives the same row.
    const other = engine.ingest(engine.ingest(base.state, late, 2).state, del.delta!, 2);
    expect(canonical({ fields: other.fields, deleted: other.deleted })).toEqual(canonical(readRow(edge)));
  });

  test("a yjs tombstone is a delete for the engine; a second edge's late edit keeps it deleted", () => {
    const base = engineInsert({ id: "t2", a: 1 });
    const deleter = docFrom(base.state, 1002);
    const lateEdge = docFrom(base.state, 1003);
    const tomb = markDeleted(deleter, 777, 1);
    const del = engine.ingest(base.state, tomb, 1);
    expect(del.deleted).toBe(true);
    const late = engine.ingest(del.state, setFields(lateEdge, { a: 2 }), 2);
    expect(late.deleted).toBe(true);
    expect(late.fields).toEqual({ id: "t2", a: 2 });
  });

  test("re-insert (engine) clears _deleted; stale edits afterwards do not re-delete", () => {
    const base = engineInsert({ id: "t3", a: 1 });
    const staleEdge = docFrom(base.state, 1004);
    const del = engine.change(base.state, { id: "t3", a: 1 }, null, { now: 10 });
    const re = engine.change(del.state, null, { id: "t3", a: 5 }, { now: 20 });
    expect(re.deleted).toBe(false);
    expect(re.delta).not.toBeNull();
    const yjsView = docFrom(re.state, READER_CLIENT_ID);
    expect(yjsView.getMap("_meta").get("_deleted")).toBe(false);
    const stale = engine.ingest(re.state, setFields(staleEdge, { b: 2 }), 2);
    expect(stale.deleted).toBe(false);
    expect(stale.fields).toEqual({ id: "t3", a: 5, b: 2 });
  });

  test("re-insert (yjs, `_deleted: false`) clears the engine's tombstone", () => {
    const base = engineInsert({ id: "t4", a: 1 });
    const del = engine.change(base.state, { id: "t4", a: 1 }, null, { now: 10 });
    const edge = docFrom(del.state, 1005);
    expect(readRow(edge).deleted).toBe(true);
    const res = engine.ingest(del.state, reinsert(edge, { id: "t4", a: 9 }), 2);
    expect(res.deleted).toBe(false);
    expect(res.fields).toEqual({ id: "t4", a: 9 });
    expect(engineRow(res.state).deleted).toBe(false);
  });
});
