// The engine wrapper end to end in the edge-runtime environment (the Convex convention).
import { v } from "convex/values";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import {
  bytes,
  encodeState,
  fieldsOf,
  newDoc,
  removeFields,
  setFields,
  structClients,
  structIds,
} from "@dink-convex/testkit";
import {
  change,
  convertV1ToV2,
  convertV2ToV1,
  diff,
  EngineError,
  engineStats,
  engineVersion,
  type EngineErrorCode,
  type Fields,
  ingest,
  materialize,
  merge,
  outboxTransition,
  preloadEngine,
  SERVER_CLIENT_ID,
  stateVector,
  validate,
} from "./index.js";
import { callEngine } from "./loader.js";

function engineError(fn: () => unknown, code: EngineErrorCode): EngineError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(EngineError);
  const error = caught as EngineError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  return error;
}

describe("loading", () => {
  // Must stay the first test of the file: module state is per test file.
  it("compiles nothing at import and initialises once on first use", () => {
    const before = engineStats();
    expect(before.initialized).toBe(false);
    expect(before.instantiations).toBe(0);
    expect(before.wasmBytes).toBeGreaterThan(10_000);
    expect(before.memoryBytes).toBe(0);

    expect(engineVersion()).toMatch(/^\d+\.\d+\.\d+/);
    const after = engineStats();
    expect(after.initialized).toBe(true);
    expect(after.instantiations).toBe(1);
    expect(after.initMs).toBeGreaterThan(0);
    // Linear memory comes in 64 KiB pages.
    expect(after.memoryBytes).toBeGreaterThan(0);
    expect(after.memoryBytes % 65536).toBe(0);

    preloadEngine();
    engineVersion();
    expect(engineStats().instantiations).toBe(1);
  });

  it("runs in the edge-runtime environment", () => {
    expect((globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe("edge-runtime");
  });

  it("SERVER_CLIENT_ID matches the Rust constant", () => {
    expect(callEngine((e) => e.server_client_id())).toBe(SERVER_CLIENT_ID);
  });
});

describe("ingest", () => {
  it("merges a yjs update v2 and materializes Convex values", () => {
    const edge = newDoc(7);
    setFields(edge, {
      id: "row-1",
      title: "hello",
      count: 3,
      ratio: 0.5,
      big: 9_007_199_254_740_993n,
      // Binary values are covered in node.test.ts: in vitest's edge-runtime sandbox no
      // Uint8Array passes yjs's `value.constructor === Uint8Array` check.
      done: false,
      none: null,
      tags: ["a", "b"],
      nested: { x: 1, y: [true] },
    });
    const update = encodeState(edge);
    const result = ingest(null, update);
    expect(result.changed).toBe(true);
    expect(result.deleted).toBe(false);
    expect(result.fields).toEqual({
      id: "row-1",
      title: "hello",
      count: 3,
      ratio: 0.5,
      big: 9_007_199_254_740_993n,
      done: false,
      none: null,
      tags: ["a", "b"],
      nested: { x: 1, y: [true] },
    });
    expect(result.stateVector).toEqual(Y.encodeStateVector(edge));
    // Each byte result owns its buffer, so `.buffer` can be stored in a v.bytes() field.
    for (const bytes of [result.state, result.stateVector, result.delta]) {
      expect(bytes.byteOffset).toBe(0);
      expect(bytes.buffer.byteLength).toBe(bytes.length);
    }
    expect(fieldsOf(result.delta)).toEqual(edge.getMap("fields").toJSON());
    expect(fieldsOf(result.state)).toEqual(edge.getMap("fields").toJSON());

    const again = ingest(result.state, update);
    expect(again.changed).toBe(false);
    expect(again.delta).toHaveLength(0);
    expect(again.state).toEqual(result.state);
  });

  it("accepts update v1 with format 1", () => {
    const edge = newDoc(8);
    setFields(edge, { id: "row-1", title: "v1" });
    const result = ingest(null, encodeState(edge, 1), 1);
    expect(result.fields).toEqual({ id: "row-1", title: "v1" });
    // Stored state and forwarded deltas are always v2.
    expect(fieldsOf(result.delta)).toEqual({ id: "row-1", title: "v1" });
  });

  it("only forwards what is new", () => {
    const edge = newDoc(9);
    setFields(edge, { id: "row-1", a: 1 });
    const first = ingest(null, encodeState(edge));
    const sv = Y.encodeStateVector(edge);
    setFields(edge, { b: 2 });
    const incremental = Y.encodeStateAsUpdateV2(edge, sv);
    const second = ingest(first.state, incremental);
    expect(second.fields).toEqual({ id: "row-1", a: 1, b: 2 });
    // The delta carries only the new struct (client 9, clock 2: the first write set `id` and `a`),
    // which applies on top of the first.
    expect(structIds(second.delta)).toEqual([[9, 2]]);
    expect(fieldsOf(first.delta, second.delta)).toEqual({ id: "row-1", a: 1, b: 2 });
  });

  it("rejects garbage as INVALID_DELTA", () => {
    engineError(() => ingest(null, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x01])), "INVALID_DELTA");
    engineError(() => ingest(null, new Uint8Array(0)), "INVALID_DELTA");
  });

  it("enforces limits as TOO_LARGE", () => {
    const edge = newDoc(10);
    setFields(edge, { id: "row-1", text: "x".repeat(200) });
    const update = encodeState(edge);
    engineError(() => ingest(null, update, 2, { maxUpdateBytes: 50 }), "TOO_LARGE");
    expect(ingest(null, update, 2, { maxUpdateBytes: 10_000 }).changed).toBe(true);
  });

  it("reports MISSING_DEPENDENCIES with the server's state vector", () => {
    const edge = newDoc(11);
    setFields(edge, { id: "row-1", a: 1 });
    encodeState(edge);
    const sv = Y.encodeStateVector(edge);
    setFields(edge, { b: 2 });
    const next = Y.encodeStateAsUpdateV2(edge, sv);
    const error = engineError(() => ingest(null, next), "MISSING_DEPENDENCIES");
    expect(error.stateVector).toEqual(Y.encodeStateVector(new Y.Doc()));

    const other = newDoc(12);
    setFields(other, { id: "row-1", z: 1 });
    const stored = ingest(null, encodeState(other));
    const error2 = engineError(() => ingest(stored.state, next), "MISSING_DEPENDENCIES");
    expect(error2.stateVector).toEqual(stored.stateVector);
    expect(error2.stateVector?.buffer.byteLength).toBe(error2.stateVector?.length);
    // The sender resends everything the returned vector lacks; then it applies.
    const resend = Y.encodeStateAsUpdateV2(edge, error2.stateVector);
    expect(ingest(stored.state, resend).fields).toEqual({ id: "row-1", z: 1, a: 1, b: 2 });
  });

  it("refuses a row without its string id as INVALID_DELTA (and checks docId when given)", () => {
    const noId = newDoc(13);
    setFields(noId, { a: 1 });
    expect(engineError(() => ingest(null, encodeState(noId)), "INVALID_DELTA").field).toBe("id");

    const edge = newDoc(14);
    setFields(edge, { id: "row-1", a: 1 });
    const update = encodeState(edge);
    expect(ingest(null, update, 2, undefined, "row-1").fields).toEqual({ id: "row-1", a: 1 });
    expect(engineError(() => ingest(null, update, 2, undefined, "row-2"), "INVALID_DELTA").field).toBe("id");

    // Removing the id of a live row is refused.
    const stored = ingest(null, update);
    const sv = Y.encodeStateVector(edge);
    removeFields(edge, ["id"]);
    const removal = Y.encodeStateAsUpdateV2(edge, sv);
    expect(engineError(() => ingest(stored.state, removal), "INVALID_DELTA").field).toBe("id");
  });

  it("rejects bad arguments as INVALID_ARGUMENT before calling the engine", () => {
    const update = encodeState(newDoc(12));
    engineError(() => ingest(null, update, 3 as 2), "INVALID_ARGUMENT");
    engineError(() => ingest([1, 2] as unknown as Uint8Array, update), "INVALID_ARGUMENT");
    engineError(() => ingest(null, update, 2, { maxDepth: -1 }), "INVALID_ARGUMENT");
  });
});

describe("change", () => {
  it("writes Convex values losslessly as the server client", () => {
    const fields = {
      id: "row-1",
      title: "hi",
      big: -(2n ** 63n),
      blob: bytes(0, 1, 2, 3),
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      ninf: Number.NEGATIVE_INFINITY,
      tiny: 5e-324,
      list: [1, "two", null, { three: 3n }],
    };
    const result = change(null, null, fields, { now: 1_700_000_000_000 });
    expect(result.delta).not.toBeNull();
    expect(result.deleted).toBe(false);
    expect(result.drifted).toBe(false);
    expect([...result.changedKeys].sort()).toEqual(Object.keys(fields).sort());
    expect(structClients(result.delta ?? new Uint8Array())).toEqual([SERVER_CLIENT_ID]);

    const row = materialize(result.state);
    expect(row.deleted).toBe(false);
    expect(row.fields).toEqual(fields);
    expect(Object.is(row.fields.nan, Number.NaN)).toBe(true);
    expect(row.fields.big).toBe(-(2n ** 63n));

    // An edge running yjs sees the same values (int64 as bigint, bytes as Uint8Array).
    const edge = fieldsOf(result.delta ?? new Uint8Array());
    expect(edge.big).toBe(-(2n ** 63n));
    expect(edge.blob).toEqual(new Uint8Array([0, 1, 2, 3]));
    expect(edge.title).toBe("hi");
  });

  it("emits only changed keys, reports drift, and nothing for a no-op", () => {
    const first = change(null, null, { id: "row-1", a: 1, b: "x" }, { now: 1 });
    const second = change(first.state, { id: "row-1", a: 1, b: "x" }, { id: "row-1", a: 2, b: "x" }, { now: 2 });
    expect(second.changedKeys).toEqual(["a"]);
    expect(second.drifted).toBe(false);
    const edgeView = new Y.Doc();
    Y.applyUpdateV2(edgeView, first.delta ?? new Uint8Array());
    Y.applyUpdateV2(edgeView, second.delta ?? new Uint8Array());
    expect(edgeView.getMap("fields").toJSON()).toEqual({ id: "row-1", a: 2, b: "x" });

    const noop = change(second.state, { id: "row-1", a: 2, b: "x" }, { id: "row-1", a: 2, b: "x" }, { now: 3 });
    expect(noop.delta).toBeNull();
    expect(noop.changedKeys).toEqual([]);

    const drifted = change(second.state, { id: "row-1", a: 99, b: "x" }, { id: "row-1", a: 3, b: "x" }, { now: 4 });
    expect(drifted.drifted).toBe(true);
    expect(materialize(drifted.state).fields).toEqual({ id: "row-1", a: 3, b: "x" });
  });

  it("deletes with a tombstone and uses the given client id", () => {
    const first = change(null, null, { id: "row-1", a: 1 }, { now: 1, clientId: 42 });
    expect(structClients(first.delta ?? new Uint8Array())).toEqual([42]);
    const deleted = change(first.state, { id: "row-1", a: 1 }, null, { now: 1_234 });
    expect(deleted.deleted).toBe(true);
    expect(deleted.delta).not.toBeNull();
    const row = materialize(deleted.state);
    expect(row.deleted).toBe(true);
    const edge = new Y.Doc();
    Y.applyUpdateV2(edge, deleted.state);
    expect(edge.getMap("_meta").get("_deleted")).toBe(true);
  });

  it("rejects what cannot be synced as INVALID_ARGUMENT", () => {
    engineError(() => change(null, null, { id: "row-1", a: 1 }, { now: 1, clientId: 0 }), "INVALID_ARGUMENT");
    engineError(() => change(null, null, { id: "row-1", a: 1 }, { now: Number.NaN }), "INVALID_ARGUMENT");
    const reserved = engineError(() => change(null, null, { id: "row-1", _id: "x" }, { now: 1 }), "INVALID_ARGUMENT");
    expect(reserved.field).toBe("_id");
    const notConvex = engineError(
      () => change(null, null, { id: "row-1", m: new Map() } as unknown as Record<string, null>, { now: 1 }),
      "INVALID_ARGUMENT",
    );
    expect(notConvex.field).toBe("newFields");
  });

  it("refuses a row without its string id as INVALID_ARGUMENT (and checks docId when given)", () => {
    expect(engineError(() => change(null, null, { a: 1 }, { now: 1 }), "INVALID_ARGUMENT").field).toBe("id");
    const numeric = { id: 1, a: 1 } as unknown as Fields;
    expect(engineError(() => change(null, null, numeric, { now: 1 }), "INVALID_ARGUMENT").field).toBe("id");
    const created = change(null, null, { id: "row-1", a: 1 }, { now: 1, docId: "row-1" });
    expect(materialize(created.state).fields).toEqual({ id: "row-1", a: 1 });
    const mismatch = () => change(null, null, { id: "row-1", a: 1 }, { now: 1, docId: "row-2" });
    expect(engineError(mismatch, "INVALID_ARGUMENT").field).toBe("id");
    // Removing the id of a live row is refused.
    const removal = () => change(created.state, { id: "row-1", a: 1 }, { a: 1 }, { now: 2 });
    expect(engineError(removal, "INVALID_ARGUMENT").field).toBe("id");
  });

  it("enforces the depth limit as TOO_LARGE", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    engineError(() => change(null, null, { id: "row-1", deep } as unknown as Fields, { now: 1 }), "TOO_LARGE");
    expect(
      change(null, null, { id: "row-1", deep } as unknown as Fields, { now: 1, limits: { maxDepth: 64 } }).delta,
    ).not.toBeNull();
  });
});

describe("updates", () => {
  function twoEdits() {
    const edge = newDoc(21);
    setFields(edge, { id: "row-1", a: 1 });
    const u1 = encodeState(edge);
    const sv = Y.encodeStateVector(edge);
    setFields(edge, { b: 2 });
    const u2 = Y.encodeStateAsUpdateV2(edge, sv);
    return { edge, u1, u2 };
  }

  it("diff returns what a peer lacks", () => {
    const { edge, u1, u2 } = twoEdits();
    const server = ingest(ingest(null, u1).state, u2);
    const peer = new Y.Doc();
    Y.applyUpdateV2(peer, u1);
    const missing = diff(server.state, Y.encodeStateVector(peer));
    expect(structIds(missing)).toEqual([[21, 2]]);
    expect(fieldsOf(u1, missing)).toEqual({ id: "row-1", a: 1, b: 2 });
    Y.applyUpdateV2(peer, missing);
    expect(peer.getMap("fields").toJSON()).toEqual(edge.getMap("fields").toJSON());
    engineError(() => diff(server.state, new Uint8Array([0xff])), "INVALID_ARGUMENT");
  });

  it("a state vector declaring more entries than it holds is refused without reserving memory", () => {
    const { u1 } = twoEdits();
    const server = ingest(null, u1);
    const before = engineStats().memoryBytes;
    // 4 bytes declaring 100 million entries (yrs alone would reserve about 2 GiB first).
    const bomb = new Uint8Array([0x80, 0xc2, 0xd7, 0x2f]);
    const err = engineError(() => diff(server.state, bomb), "INVALID_ARGUMENT");
    expect(err.message).toMatch(/declares 100000000 entries/);
    expect(engineStats().memoryBytes).toBe(before);
    // Trailing bytes and over-wide client ids are refused too; a yjs state vector still works.
    const sv = Y.encodeStateVector(newDoc(22));
    engineError(() => diff(server.state, new Uint8Array([...sv, 0])), "INVALID_ARGUMENT");
    engineError(
      () => diff(server.state, new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1])),
      "INVALID_ARGUMENT",
    );
    expect(diff(server.state, sv).length).toBeGreaterThan(0);
  });

  it("merge combines v2 or v1 updates into one v2 update", () => {
    const { edge, u1, u2 } = twoEdits();
    const merged = merge([u1, u2]);
    expect(fieldsOf(merged)).toEqual({ id: "row-1", a: 1, b: 2 });
    expect(Y.encodeStateVectorFromUpdateV2(merged)).toEqual(Y.encodeStateVector(edge));
    const v1 = merge([Y.convertUpdateFormatV2ToV1(u1), Y.convertUpdateFormatV2ToV1(u2)], 1);
    expect(fieldsOf(v1)).toEqual({ id: "row-1", a: 1, b: 2 });
    expect(fieldsOf(merge([u1]))).toEqual({ id: "row-1", a: 1 });
  });

  it("stateVector and conversions agree with yjs", () => {
    const { edge, u1, u2 } = twoEdits();
    const full = encodeState(edge);
    expect(stateVector(full)).toEqual(Y.encodeStateVectorFromUpdateV2(full));
    const v1 = encodeState(edge, 1);
    expect(stateVector(v1, 1)).toEqual(Y.encodeStateVectorFromUpdate(v1));

    const asV1 = convertV2ToV1(u2);
    const doc = new Y.Doc();
    Y.applyUpdateV2(doc, u1);
    Y.applyUpdate(doc, asV1);
    expect(doc.getMap("fields").toJSON()).toEqual({ id: "row-1", a: 1, b: 2 });
    expect(fieldsOf(convertV1ToV2(v1))).toEqual({ id: "row-1", a: 1, b: 2 });
    engineError(() => convertV1ToV2(new Uint8Array([9, 9, 9])), "INVALID_DELTA");
  });
});

describe("validate", () => {
  const validator = v.object({ title: v.string(), count: v.optional(v.int64()) });
  // `.json` is the validator's wire form (typed as internal by convex).
  const validatorJson = (validator as unknown as { json: unknown }).json;

  it("accepts matching fields (validator or its JSON form)", () => {
    expect(() => validate({ title: "x" }, validator)).not.toThrow();
    expect(() => validate({ title: "x", count: 3n }, validatorJson)).not.toThrow();
  });

  it("rejects a mismatch as VALIDATION_ERROR naming the field", () => {
    const error = engineError(() => validate({ title: 3 }, validator), "VALIDATION_ERROR");
    expect(error.field).toBe("title");
    const error2 = engineError(() => validate({ title: "x", count: 1.5 }, validatorJson), "VALIDATION_ERROR");
    expect(error2.field).toBe("count");
  });
});

describe("outboxTransition", () => {
  it("runs the state machine over JSON", () => {
    const item = { id: "e1", status: "pending", attempts: 0, nextAttemptAt: 1000 };
    const claimed = outboxTransition(item, { type: "claim", now: 1000, leaseToken: "w1" });
    expect(claimed).toMatchObject({ id: "e1", status: "sending", attempts: 1, leaseToken: "w1" });
    const sent = outboxTransition(claimed, { type: "delivered", now: 2000, leaseToken: "w1" }, { leaseMs: 5000 });
    expect(sent).toMatchObject({ status: "sent", finishedAt: 2000 });
  });

  it("rejects malformed input and illegal steps as INVALID_ARGUMENT", () => {
    const item = { id: "e1", status: "pending", attempts: 0, nextAttemptAt: 1000 };
    engineError(() => outboxTransition(item, { type: "teleport", now: 1 }), "INVALID_ARGUMENT");
    // A bigint is not JSON: refused by the wrapper before the engine sees it.
    const wrapperSide = engineError(() => outboxTransition(item, { type: "claim", now: 1n }), "INVALID_ARGUMENT");
    expect(wrapperSide.field).toBe("event");
  });
});
