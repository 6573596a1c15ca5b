// @vitest-environment node
// The same package in plain Node (no edge-runtime sandbox): loads and runs. Binary values from
// a yjs edge are tested here because, in the edge-runtime sandbox, yjs rejects Uint8Arrays
// (its `value.constructor === Uint8Array` check sees two different realms).
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { bytes, encodeState, newDoc, setFields } from "@dink-convex/testkit";
import { change, engineStats, ingest, materialize } from "./index.js";

describe("plain Node", () => {
  it("runs in Node, not edge-runtime", () => {
    expect(typeof process.versions.node).toBe("string");
    expect((globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBeUndefined();
  });

  it("ingests, changes and materializes", () => {
    expect(engineStats().initialized).toBe(false);
    const edge = newDoc(3);
    setFields(edge, { id: "row-1", title: "node", n: 1n });
    const result = ingest(null, encodeState(edge));
    expect(result.fields).toEqual({ id: "row-1", title: "node", n: 1n });
    expect(engineStats().instantiations).toBe(1);

    const next = change(result.state, result.fields, { ...result.fields, title: "node!" }, { now: 5 });
    expect(next.changedKeys).toEqual(["title"]);
    Y.applyUpdateV2(edge, next.delta ?? new Uint8Array());
    expect(edge.getMap("fields").get("title")).toBe("node!");
    expect(materialize(next.state).fields).toEqual({ id: "row-1", title: "node!", n: 1n });
  });

  it("stores a binary field written by a yjs edge (Y.Map.set(key, Uint8Array))", () => {
    const edge = newDoc(4);
    setFields(edge, { id: "row-1", blob: bytes(1, 2, 255) }); // toYjs stores the ArrayBuffer as a Uint8Array
    const result = ingest(null, encodeState(edge));
    expect(result.fields).toEqual({ id: "row-1", blob: new Uint8Array([1, 2, 255]).buffer });
    expect(result.fields.blob).toBeInstanceOf(ArrayBuffer);
    // The stored state and the forwarded delta must stay readable by yjs and by the engine.
    for (const update of [result.state, result.delta]) {
      const peer = new Y.Doc();
      Y.applyUpdateV2(peer, update);
      expect(peer.getMap("fields").get("blob")).toEqual(new Uint8Array([1, 2, 255]));
    }
    expect(materialize(result.state).fields).toEqual(result.fields);
  });
});
