// The engine writes yjs's bytes: on random concurrent histories, the state it stores after every
// ingest and every Convex-side change is byte for byte what a yjs document holding the same
// updates encodes, and its diff and merge are byte for byte yjs's diffUpdateV2 / mergeUpdatesV2.
// (The row CRDT in crates/dink-core/src/codec/row_crdt follows yjs's integration, garbage
// collection and struct merging rules; yrs, which it replaced, merges structs differently.)
//
// Values here are ones whose lib0 bytes are the same from either writer: the engine writes
// object keys sorted and every integral number within 2^53 as a varint, where yjs keeps an
// object's insertion order and writes integers past 31 bits as float64 (see README, Known limits).

import { describe, expect, test } from "vitest";
import * as Y from "yjs";
import { engine } from "../support/engine.ts";
import { prng, type Fields } from "@dink-convex/testkit";

const DOC_ID = "row-1";
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A value whose lib0 bytes do not depend on the writer (see the header). */
function plainValue(rand: () => number, depth = 2): Fields[string] {
  const pick = Math.floor(rand() * (depth > 0 ? 8 : 6));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return Math.floor(rand() * 2000) - 1000;
    case 3:
      return Math.floor(rand() * 1000) / 8 + 0.5;
    case 4:
      return `s${Math.floor(rand() * 100)}é`;
    case 5:
      return Math.PI * rand();
    case 6:
      return [plainValue(rand, depth - 1), plainValue(rand, depth - 1)];
    default:
      // Keys in byte order, as the engine writes them.
      return { a: plainValue(rand, depth - 1), b: plainValue(rand, depth - 1) };
  }
}

const KEYS = ["title", "n", "tags", "done"];

/** One random edge transaction: sets, removals, a tombstone or its removal. */
function randomEdit(doc: Y.Doc, rand: () => number): void {
  doc.transact(() => {
    const fields = doc.getMap("fields");
    const meta = doc.getMap("_meta");
    const ops = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < ops; i++) {
      const r = rand();
      const key = KEYS[Math.floor(rand() * KEYS.length)]!;
      if (r < 0.65) fields.set(key, plainValue(rand));
      else if (r < 0.85) fields.delete(key);
      else if (r < 0.93) {
        meta.set("_deleted", true);
        meta.set("_deletedAt", 1_000 + Math.floor(rand() * 1000));
      } else meta.set("_deleted", false);
    }
  });
}

describe("the engine's bytes are yjs's bytes", () => {
  test("stored state after every ingest and change, diff and merge, on random concurrent histories", () => {
    const compared = { states: 0, diffs: 0, merges: 0, missing: 0 };
    for (let seed = 1; seed <= 40; seed++) {
      const rand = prng(seed);
      // The row as the server creates it, then the same row in a yjs document.
      const created = engine.change(null, null, { id: DOC_ID, title: "first" }, { now: 1, docId: DOC_ID });
      let state = created.state;
      const mirror = new Y.Doc();
      Y.applyUpdateV2(mirror, state);
      expect(hex(Y.encodeStateAsUpdateV2(mirror))).toBe(hex(state));

      const edges = Array.from({ length: 2 + Math.floor(rand() * 3) }, (_, i) => {
        const doc = new Y.Doc();
        doc.clientID = 1000 + i * 7919 + seed;
        Y.applyUpdateV2(doc, state);
        return doc;
      });
      const sent: Uint8Array[] = [];
      for (let step = 0; step < 30; step++) {
        const r = rand();
        const edge = edges[Math.floor(rand() * edges.length)]!;
        if (r < 0.55) {
          // An edge edit, delivered now or held back (so later ones may arrive out of order).
          const sv = Y.encodeStateVector(edge);
          randomEdit(edge, rand);
          const update = Y.encodeStateAsUpdateV2(edge, sv);
          sent.push(update);
          // Held back sometimes; then what was held arrives newest first.
          if (rand() < 0.3) continue;
          for (const u of sent.splice(0).reverse()) {
            try {
              state = engine.ingest(state, u, 2, undefined, DOC_ID).state;
              Y.applyUpdateV2(mirror, u);
            } catch (e) {
              expect((e as { code?: string }).code).toBe("MISSING_DEPENDENCIES");
              compared.missing++;
              sent.push(u);
            }
            expect(hex(state), `seed ${seed} step ${step}: state after ingest`).toBe(
              hex(Y.encodeStateAsUpdateV2(mirror)),
            );
            compared.states++;
          }
        } else if (r < 0.75) {
          // A Convex-side write: the engine's change, and the same map writes in yjs with the
          // server's client id (keys in the engine's order: sets sorted, then removals).
          const current = engine.materialize(state);
          const next: Fields = { id: DOC_ID };
          for (const key of KEYS) if (rand() < 0.6) next[key] = plainValue(rand);
          const out = engine.change(state, current.fields, next, { now: 2, docId: DOC_ID });
          if (out.delta !== null) Y.applyUpdateV2(mirror, out.delta);
          state = out.state;
          expect(hex(state), `seed ${seed} step ${step}: state after change`).toBe(
            hex(Y.encodeStateAsUpdateV2(mirror)),
          );
          compared.states++;
        } else if (r < 0.9) {
          // An edge catches up with the server.
          const sv = Y.encodeStateVector(edge);
          const ours = engine.diff(state, sv);
          expect(hex(ours), `seed ${seed} step ${step}: diff`).toBe(hex(Y.diffUpdateV2(state, sv)));
          Y.applyUpdateV2(edge, ours);
          compared.diffs++;
        } else if (sent.length + edges.length >= 2) {
          const updates = [...edges.map((e) => Y.encodeStateAsUpdateV2(e)), ...sent];
          expect(hex(engine.merge(updates)), `seed ${seed} step ${step}: merge`).toBe(hex(Y.mergeUpdatesV2(updates)));
          compared.merges++;
        }
      }
    }
    // The histories reach every comparison, out-of-order delivery included.
    expect(compared.states).toBeGreaterThan(500);
    expect(compared.diffs).toBeGreaterThan(100);
    expect(compared.merges).toBeGreaterThan(50);
    expect(compared.missing).toBeGreaterThan(10);
  });
});
