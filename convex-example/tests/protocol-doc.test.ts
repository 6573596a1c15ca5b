/**
 * docs/protocol.md and npm/src/client/protocol.ts must agree: every ```json example in the doc is
 * tagged with the body it shows and must pass that body's validator (the same validators the
 * HTTP tests run over real responses); the status and limit tables must match the code; the
 * convex-push body the outbox really builds must pass the documented validator.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import {
  base64DecodedLength,
  decodeBase64Strict,
  DEFAULT_WIRE_LIMITS,
  encodeBase64,
  DELTA_ERROR_CODES,
  parseApplyDeltaRequest,
  ProtocolError,
  REQUEST_ERROR_STATUS,
  validateApplyDeltaRequest,
  validateApplyDeltaResponse,
  validateConvexPushBody,
  validateErrorResponse,
  WIRE_VALIDATORS,
  type WireKind,
} from "dink-convex/protocol";
import { encodeDeltaResult, encodeSnapshot } from "../../npm/src/client/http/protocol";
import { pushBody } from "../../npm/src/client/outbox/pushBody";

const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");

interface Example {
  kind: string;
  line: number;
  text: string;
}

/** Every ```json block with the `<!-- wire: KIND -->` tag on the line(s) before it. */
function examples(): Example[] {
  const out: Example[] = [];
  const lines = doc.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "```json") continue;
    let j = i - 1;
    while (j >= 0 && lines[j]!.trim() === "") j--;
    const tag = /^<!-- wire: ([a-z_]+) -->$/.exec(lines[j]?.trim() ?? "");
    const end = lines.indexOf("```", i + 1);
    out.push({ kind: tag?.[1] ?? "(untagged)", line: i + 1, text: lines.slice(i + 1, end).join("\n") });
  }
  return out;
}

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error("expected a ProtocolError");
}

/** Rows of the markdown table that follows `marker` (first cell, second cell). */
function tableAfter(marker: string): string[][] {
  const lines = doc.slice(doc.indexOf(marker)).split("\n");
  const start = lines.findIndex((l) => l.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

describe("docs/protocol.md examples", () => {
  const all = examples();

  it("tags every json example with a documented body kind", () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
    for (const ex of all) {
      expect(Object.keys(WIRE_VALIDATORS), `example at line ${ex.line}`).toContain(ex.kind);
    }
  });

  it("shows every body kind at least once", () => {
    const shown = new Set(all.map((ex) => ex.kind));
    for (const kind of Object.keys(WIRE_VALIDATORS)) expect(shown, kind).toContain(kind);
  });

  it.each(all.map((ex) => [`${ex.kind} at line ${ex.line}`, ex] as const))("%s parses and validates", (_name, ex) => {
    const body: unknown = JSON.parse(ex.text);
    // A validator throws ProtocolError naming the field on any mismatch; it returns the body.
    expect(WIRE_VALIDATORS[ex.kind as WireKind](body)).toEqual(body);
  });

  it("request examples carry real Yjs row updates that the parser decodes", () => {
    const requests = all.filter((ex) => ex.kind === "apply_delta_request");
    expect(requests.length).toBeGreaterThan(0);
    for (const ex of requests) {
      const parsed = parseApplyDeltaRequest(JSON.parse(ex.text));
      for (const item of parsed) {
        expect(item.kind).toBe("input");
        if (item.kind !== "input") continue;
        const ydoc = new Y.Doc();
        const bytes = new Uint8Array(item.input.delta);
        if (item.input.format === 2) Y.applyUpdateV2(ydoc, bytes);
        else Y.applyUpdate(ydoc, bytes);
        expect(ydoc.getMap("fields").toJSON()).toEqual({ id: item.input.docId, title: "Buy milk", completed: false });
      }
    }
  });

  it("the validators refuse what the doc says is wrong", () => {
    const request = JSON.parse(all.find((ex) => ex.kind === "apply_delta_request")!.text) as {
      deltas: Array<Record<string, unknown>>;
    };
    const camel = structuredClone(request);
    camel.deltas[0]!.opId = camel.deltas[0]!.op_id;
    delete camel.deltas[0]!.op_id;
    expect(thrown(() => validateApplyDeltaRequest(camel)).field).toBe("deltas[0].opId");
    const badB64 = structuredClone(request);
    badB64.deltas[1]!.delta = "not base64!";
    expect(thrown(() => validateApplyDeltaRequest(badB64)).field).toBe("deltas[1].delta");
    const v2 = { ...request, version: 2 };
    expect(thrown(() => validateApplyDeltaRequest(v2)).code).toBe("UNSUPPORTED_VERSION");

    const missingSv = {
      version: 1,
      success: true,
      data: { results: [{ op_id: "x", status: "rejected", error: { code: "MISSING_DEPENDENCIES", message: "m" } }] },
    };
    expect(thrown(() => validateApplyDeltaResponse(missingSv)).field).toBe("data.results[0].error.state_vector");
    const unknownCode = { version: 1, success: false, error: { code: "NOPE", message: "m" } };
    expect(thrown(() => validateErrorResponse(unknownCode)).field).toBe("error.code");
  });
});

describe("docs/protocol.md tables", () => {
  it("the request error table is REQUEST_ERROR_STATUS", () => {
    const rows = tableAfter("<!-- status-table -->");
    const table = Object.fromEntries(rows.map(([code, status]) => [code!, Number(status)]));
    expect(table).toEqual(REQUEST_ERROR_STATUS);
  });

  it("the delta error table is DELTA_ERROR_CODES", () => {
    const rows = tableAfter("### Delta errors");
    expect(rows.map(([code]) => code).sort()).toEqual([...DELTA_ERROR_CODES].sort());
  });

  it("the limits table shows DEFAULT_WIRE_LIMITS", () => {
    const rows = tableAfter("## Limits");
    for (const [key, value] of Object.entries(DEFAULT_WIRE_LIMITS)) {
      const row = rows.find(([name]) => name === `\`${key}\``);
      expect(row, key).toBeDefined();
      const cell = row![1]!;
      expect(cell.includes(String(value)) || cell.includes(value.toLocaleString("en-US")), `${key}: ${cell}`).toBe(
        true,
      );
    }
  });
});

describe("code against the documented shapes", () => {
  it("the outbox's real convex-push body validates", () => {
    const body = pushBody([
      {
        eventId: "e1",
        collection: "tasks",
        docId: "d1",
        delta: new Uint8Array([1, 2, 3]),
        version: 2,
        originEdgeId: "edge-a",
      },
      { eventId: "e2", collection: "tasks", docId: "d2", delta: new Uint8Array([4, 5]).buffer, version: 1 },
    ]);
    const checked = validateConvexPushBody(JSON.parse(JSON.stringify(body)));
    expect(checked.events.map((e) => e.origin_edge_id)).toEqual(["edge-a", undefined]);
    expect(checked.events[0]!.delta).toBe("AQID");
  });

  it("bytes go on the wire as padded standard base64 and come back unchanged", () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
    for (let length = 0; length < 40; length++) {
      const bytes = Uint8Array.from({ length }, next);
      const text = encodeBase64(bytes);
      expect(text).toBe(btoa(String.fromCharCode(...bytes)));
      expect(decodeBase64Strict(text)).toEqual(bytes);
      expect(base64DecodedLength(text)).toBe(length);
    }
    expect(() => decodeBase64Strict("AAAA\nAAAA")).toThrow(/invalid base64/);
  });

  it("encoded results and snapshots validate", () => {
    const results = [
      encodeDeltaResult({ opId: "a", status: "applied", version: 3 }),
      encodeDeltaResult({
        opId: "b",
        status: "rejected",
        error: { code: "MISSING_DEPENDENCIES", message: "m", stateVector: new Uint8Array([1, 210, 9, 3]).buffer },
      }),
    ];
    const body = { version: 1, success: true, data: { results } };
    const checked = validateApplyDeltaResponse(body);
    expect(checked.success && checked.data.results[1]!.error!.state_vector).toBe("AdIJAw==");
    const snap = encodeSnapshot(
      {
        docId: "d",
        state: new Uint8Array([0, 0]).buffer,
        stateVector: new Uint8Array([0]).buffer,
        version: 1,
        deleted: false,
      },
      false,
    );
    const envelope = { version: 1, success: true, data: snap };
    expect(WIRE_VALIDATORS.snapshot_response(envelope)).toEqual(envelope);
  });
});
