// Plain-Node smoke test of the built package (dist/), outside vitest: import it by name as an
// app would and run a round trip. Run after `npm run build`.
import assert from "node:assert/strict";
import * as Y from "yjs";
import * as root from "dink-convex";
import {
  change,
  EngineError,
  engineStats,
  engineVersion,
  ingest,
  materialize,
  SERVER_CLIENT_ID,
} from "dink-convex/engine";

assert.equal("ingest" in root, false, "the engine lives under dink-convex/engine, not the root");
assert.equal(typeof root.createSyncMutations, "function", "the root export holds the factories");
assert.equal(engineStats().initialized, false, "importing must not initialise the engine");

const edge = new Y.Doc();
edge.clientID = 77;
edge.getMap("fields").set("id", "row-1");
edge.getMap("fields").set("title", "smoke");
edge.getMap("fields").set("count", 2);
const update = Y.encodeStateAsUpdateV2(edge);

const t0 = performance.now();
const first = ingest(null, update);
const firstCallMs = performance.now() - t0;
assert.deepEqual(first.fields, { id: "row-1", title: "smoke", count: 2 });
assert.equal(first.changed, true);
assert.deepEqual([...first.stateVector], [...Y.encodeStateVector(edge)]);

const written = change(first.state, first.fields, { id: "row-1", title: "smoke", count: 3n }, { now: Date.now() });
assert.deepEqual(written.changedKeys, ["count"]);
Y.applyUpdateV2(edge, written.delta);
assert.equal(edge.getMap("fields").get("count"), 3n);
assert.deepEqual(
  Y.decodeUpdateV2(written.delta).structs.map((s) => s.id.client),
  [SERVER_CLIENT_ID],
);
assert.deepEqual(materialize(written.state).fields, { id: "row-1", title: "smoke", count: 3n });

assert.throws(
  () => ingest(null, new Uint8Array([1, 2, 3])),
  (error) => error instanceof EngineError && error.code === "INVALID_DELTA",
);

const stats = engineStats();
assert.equal(stats.instantiations, 1);
console.log(
  `smoke: ok (engine ${engineVersion()}, wasm ${stats.wasmBytes} bytes, ` +
    `init ${stats.initMs.toFixed(1)} ms, first ingest incl. init ${firstCallMs.toFixed(1)} ms)`,
);
