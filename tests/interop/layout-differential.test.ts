// Differential test of the engine's row-document check (crates/dink-core/src/codec/layout.rs)
// against real `yjs`: a fixed-seed generator builds valid and invalid Yjs updates of every
// content type with yjs itself (plain values, binary, nested shared types, text with embeds and
// formats, sub-documents, foreign roots, sequence content under a root map, bad tombstones,
// missing or changed ids, deletes), in v1 and v2, some mislabelled or followed by junk bytes.
//
// Oracle: the engine accepts an update exactly when the row yjs materializes from it fits the
// layout (judged here from the yjs document), and for every accepted update the engine's row
// equals yjs's. The npm wrapper's `ingest` passes no document id, so the id rule checked is the
// one without it: a live row (and every create) carries a string `fields.id`, which never
// changes once stored.

import { describe, expect, test } from "vitest";
import * as Y from "yjs";
import { engine, EngineError } from "../support/engine.ts";
import {
  applyUpdate,
  canonical,
  newDoc,
  prng,
  randomValue,
  READER_CLIENT_ID,
  readRow,
  toYjs,
  type Format,
  type Row,
} from "@dink-convex/testkit";

const CASES = 400;
const SEED = 20_260_701;
const DOC_ID = "row";

type Rand = () => number;

/** One edit of the edge's document. `slot` names a fixed key it writes (at most once per update). */
interface Op {
  name: string;
  slot?: string;
  apply: (doc: Y.Doc, key: string) => void;
}

const plain = (rand: Rand): Op => {
  const value = randomValue(rand, 2);
  return { name: "plain", apply: (d, k) => d.getMap("fields").set(k, toYjs(value)) };
};

/** Every kind of write a yjs edge can make under a key (and a few outside the keyed maps). */
const OPS: Array<(rand: Rand) => Op> = [
  plain,
  plain,
  plain,
  (rand) => {
    const bytes = new Uint8Array(Math.floor(rand() * 6)).map((_, i) => i * 7);
    return { name: "binary", apply: (d, k) => d.getMap("fields").set(k, bytes) };
  },
  () => ({ name: "delete", apply: (d, k) => d.getMap("fields").delete(k) }),
  () => ({
    name: "Y.Text with embed and format",
    apply: (d, k) => {
      const text = new Y.Text();
      d.getMap("fields").set(k, text);
      text.insert(0, "hello", { bold: true });
      text.insertEmbed(2, { image: "x.png" });
      text.format(0, 2, { italic: true });
    },
  }),
  () => ({ name: "Y.XmlText", apply: (d, k) => d.getMap("fields").set(k, new Y.XmlText("x")) }),
  () => ({
    name: "Y.XmlElement",
    apply: (d, k) => {
      const el = new Y.XmlElement("p");
      d.getMap("fields").set(k, el);
      el.setAttribute("class", "c");
      el.insert(0, [new Y.XmlText("para")]);
    },
  }),
  () => ({ name: "Y.XmlFragment", apply: (d, k) => d.getMap("fields").set(k, new Y.XmlFragment()) }),
  () => ({
    name: "Y.Array",
    apply: (d, k) => {
      const arr = new Y.Array();
      d.getMap("fields").set(k, arr);
      arr.insert(0, [1, "two"]);
    },
  }),
  () => ({
    name: "Y.Map",
    apply: (d, k) => {
      const map = new Y.Map();
      d.getMap("fields").set(k, map);
      map.set("inner", 1);
    },
  }),
  () => ({ name: "sub-document", apply: (d, k) => d.getMap("fields").set(k, new Y.Doc()) }),
  () => ({ name: "foreign root", apply: (d, k) => d.getMap("notes").set(k, 1) }),
  () => ({ name: "meta plain", apply: (d, k) => d.getMap("_meta").set(k, 1) }),
  () => ({ name: "meta Y.Text", apply: (d, k) => d.getMap("_meta").set(k, new Y.Text("t")) }),
  (rand) => {
    const values = [true, false, true, "yes", 1, null];
    const v = values[Math.floor(rand() * values.length)];
    return {
      name: `_deleted ${JSON.stringify(v)}`,
      slot: "_deleted",
      apply: (d) => d.getMap("_meta").set("_deleted", v),
    };
  },
  () => ({
    name: "_deleted Y.Text",
    slot: "_deleted",
    apply: (d) => d.getMap("_meta").set("_deleted", new Y.Text("true")),
  }),
  (rand) => {
    const values = [1_700_000_000_000, 0.5, "yesterday"];
    const v = values[Math.floor(rand() * values.length)];
    return {
      name: `_deletedAt ${JSON.stringify(v)}`,
      slot: "_deletedAt",
      apply: (d) => d.getMap("_meta").set("_deletedAt", v),
    };
  },
  () => ({ name: "delete id", slot: "id", apply: (d) => d.getMap("fields").delete("id") }),
  (rand) => {
    const values = ["other", 7];
    const v = values[Math.floor(rand() * values.length)];
    return { name: `id ${JSON.stringify(v)}`, slot: "id", apply: (d) => d.getMap("fields").set("id", v) };
  },
];

/** Writes a row can hold: plain values, binary, deletes, a well-formed tombstone. */
const VALID_OPS: Array<(rand: Rand) => Op> = [
  plain,
  plain,
  OPS[3]!,
  OPS[4]!,
  () => ({ name: "meta plain", apply: (d, k) => d.getMap("_meta").set(k, "v") }),
  (rand) => {
    const v = rand() < 0.5;
    return { name: `_deleted ${v}`, slot: "_deleted", apply: (d) => d.getMap("_meta").set("_deleted", v) };
  },
  () => ({
    name: "_deletedAt",
    slot: "_deletedAt",
    apply: (d) => d.getMap("_meta").set("_deletedAt", 1_700_000_000_000),
  }),
];

/** Framing of the final bytes: as is, mislabelled as the other format, or with junk after. */
type Framing = "exact" | "mislabelled" | "trailing";

interface Case {
  describe: string;
  state: Uint8Array | null;
  update: Uint8Array;
  format: Format;
  /** Whether the engine must accept. */
  fits: boolean;
  /** The row yjs materializes (for accepted cases). */
  yjsRow: Row | null;
}

/** Why the yjs document `doc` is not a row, or null when it is one. */
function layoutProblem(doc: Y.Doc, prior: { create: boolean; id: unknown }): string | null {
  // Nothing at all (an empty update for a new row): nothing is created, the engine says so.
  if (prior.create && doc.share.size === 0) return null;
  for (const name of doc.share.keys()) {
    if (name !== "fields" && name !== "_meta") return `root ${name}`;
  }
  for (const name of ["fields", "_meta"]) {
    const root = doc.share.get(name);
    if (root === undefined) continue;
    // Items of the root without a key: sequence content a map reader never shows.
    if (root._start !== null) return `sequence under ${name}`;
    for (const [key, item] of root._map) {
      if (item.deleted) continue;
      const value = item.content.getContent()[item.length - 1];
      if (value instanceof Y.AbstractType || value instanceof Y.Doc) return `${name}.${key} shared`;
    }
  }
  const meta = doc.getMap("_meta");
  const deleted = meta.get("_deleted");
  if (deleted !== undefined && typeof deleted !== "boolean") return "_deleted not boolean";
  const deletedAt = meta.get("_deletedAt");
  if (deletedAt !== undefined && typeof deletedAt !== "number") return "_deletedAt not number";
  const fields = doc.getMap("fields");
  const id = fields.get("id");
  const live = deleted !== true;
  if (id === undefined) {
    return live || prior.create || prior.id !== undefined ? "id missing" : null;
  }
  if (typeof id !== "string") return "id not string";
  if (typeof prior.id === "string" && prior.id !== id) return "id changed";
  return null;
}

/** A reader document holding `state` (v2) and `update`. */
function yjsDoc(state: Uint8Array | null, update: Uint8Array, format: Format): Y.Doc {
  const doc = newDoc(READER_CLIENT_ID);
  if (state !== null) applyUpdate(doc, state, 2);
  applyUpdate(doc, update, format);
  return doc;
}

const BASE_KEYS = ["title", "a", "b", "c", "d"];

function makeCase(rand: Rand, base: Uint8Array, n: number): Case {
  const existing = rand() < 0.6;
  const state = existing ? base : null;
  const format: Format = rand() < 0.5 ? 1 : 2;
  const edge = newDoc(1000 + n);
  if (state !== null) applyUpdate(edge, state, 2);
  const before = Y.encodeStateVector(edge);
  const names: string[] = [];
  // A new row starts with its id most of the time; an existing one has it already.
  const ops: Op[] = [];
  if (!existing && rand() < 0.85) {
    ops.push({ name: "id", slot: "id", apply: (d) => d.getMap("fields").set("id", DOC_ID) });
  }
  const count = 1 + Math.floor(rand() * 3);
  const keys = [...BASE_KEYS].sort(() => rand() - 0.5);
  const pool = rand() < 0.5 ? VALID_OPS : OPS;
  for (let i = 0; i < count; i++) ops.push(pool[Math.floor(rand() * pool.length)]!(rand));
  // Each key is written at most once per update, so what yjs shows is what the update holds.
  const slots = new Set<string>();
  const filtered = ops.filter((op) => {
    if (op.slot === undefined) return true;
    if (slots.has(op.slot)) return false;
    slots.add(op.slot);
    return true;
  });
  edge.transact(() => {
    filtered.forEach((op, i) => {
      names.push(op.name);
      op.apply(edge, keys[i % keys.length]!);
    });
  });
  let update = format === 2 ? Y.encodeStateAsUpdateV2(edge, before) : Y.encodeStateAsUpdate(edge, before);
  // Sequence content straight under a root map: only a second document typed differently can
  // write it.
  if (rand() < 0.06) {
    const other = newDoc(5000 + n);
    other.getArray(rand() < 0.5 ? "fields" : "_meta").insert(0, [1, "x"]);
    update = format === 2 ? Y.encodeStateAsUpdateV2(other) : Y.encodeStateAsUpdate(other);
    names.length = 0;
    names.push("sequence under a root map");
  }
  const r = rand();
  const framing: Framing = r < 0.1 ? "mislabelled" : r < 0.2 ? "trailing" : "exact";
  const prior = existing ? { create: false, id: DOC_ID } : { create: true, id: undefined };
  const doc = yjsDoc(state, update, format);
  const problem = layoutProblem(doc, prior);
  const yjsRow = problem === null ? readRow(doc) : null;
  let bytes = update;
  let label = format;
  if (framing === "mislabelled") label = format === 1 ? 2 : 1;
  if (framing === "trailing") {
    const junk = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => Math.floor(rand() * 256));
    bytes = new Uint8Array([...update, ...junk]);
  }
  return {
    describe: `#${n} ${existing ? "existing" : "new"} v${format} ${framing}: ${names.join(", ")} (${problem ?? "fits"})`,
    state,
    update: bytes,
    format: label,
    fits: framing === "exact" && problem === null,
    yjsRow,
  };
}

describe("row layout: engine vs yjs", () => {
  test(`${CASES} generated updates: accepted exactly when yjs's row fits; same row when accepted`, () => {
    const rand = prng(SEED);
    const baseDoc = newDoc(900);
    baseDoc.transact(() => {
      const fields = baseDoc.getMap("fields");
      fields.set("id", DOC_ID);
      fields.set("title", "base");
      fields.set("a", 1);
    });
    const base = engine.ingest(null, Y.encodeStateAsUpdateV2(baseDoc), 2).state;
    const mismatches: string[] = [];
    const kinds = { accepted: 0, refused: 0 };
    for (let n = 0; n < CASES; n++) {
      const c = makeCase(rand, base, n);
      let accepted = false;
      let row: Row | null = null;
      let error = "";
      try {
        const res = engine.ingest(c.state, c.update, c.format);
        accepted = true;
        row = { fields: res.fields as Row["fields"], deleted: res.deleted };
      } catch (e) {
        if (!(e instanceof EngineError)) throw e;
        error = `${e.code}: ${e.message}`;
        if (e.code !== "INVALID_DELTA") mismatches.push(`${c.describe}: unexpected ${error}`);
      }
      kinds[accepted ? "accepted" : "refused"] += 1;
      if (accepted !== c.fits) {
        mismatches.push(`${c.describe}: engine ${accepted ? "accepted" : `refused (${error})`}`);
      } else if (accepted && c.yjsRow !== null && row !== null) {
        const ours = JSON.stringify(canonical(row));
        const theirs = JSON.stringify(canonical(c.yjsRow));
        if (ours !== theirs) mismatches.push(`${c.describe}: engine row ${ours} != yjs row ${theirs}`);
      }
    }
    expect(mismatches, mismatches.slice(0, 20).join("\n")).toEqual([]);
    // The generator reaches both sides of the check.
    expect(kinds.accepted).toBeGreaterThan(CASES / 4);
    expect(kinds.refused).toBeGreaterThan(CASES / 4);
  });
});
