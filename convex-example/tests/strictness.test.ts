/**
 * Ingest accepts exactly what the protocol allows, at every layer a caller can reach: the HTTP
 * routes (auth before routing, strict query parameters, versions, duplicate JSON keys, cursors)
 * and the public sync functions themselves (id limits, the reserved edge id), with nothing
 * written by a refused call. Also: wire-level TOO_LARGE reaches the component's metrics and dead
 * letters like every other rejection.
 */
import { describe, expect, test } from "vitest";
import * as Y from "yjs";
import { validateChangesResponse } from "dink-convex/protocol";
import { api, components } from "../convex/_generated/api";
import { makeTest } from "./harness";
import { AUTH, b64, expectError, KEY, useHttpTestEnv } from "./support/httpTest";

type T = ReturnType<typeof makeTest>;

useHttpTestEnv();

function taskUpdate(clientId: number, id: string): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  doc.transact(() => {
    const fields = doc.getMap("fields");
    fields.set("id", id);
    fields.set("title", `task ${id}`);
    fields.set("completed", false);
  });
  return Y.encodeStateAsUpdateV2(doc);
}

function wire(opId: string, docId: string, edgeId = "edge-a") {
  return {
    op_id: opId,
    collection: "tasks",
    doc_id: docId,
    delta: b64(taskUpdate(7, docId)),
    format: 2,
    edge_id: edgeId,
  };
}

async function post(t: T, body: string | object, path = "/api/dink/applyDelta", headers = AUTH) {
  return t.fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function counts(t: T) {
  return t.run(async (ctx) => ({
    tasks: (await ctx.db.query("tasks").collect()).length,
    documents: (await ctx.db.query("sync_documents").collect()).length,
    deltas: (await ctx.db.query("sync_deltas").collect()).length,
    outbox: (await ctx.db.query("sync_outbox").collect()).length,
  }));
}
const NOTHING = { tasks: 0, documents: 0, deltas: 0, outbox: 0 };

describe("HTTP: an unauthenticated caller learns nothing", () => {
  test("unknown routes and wrong methods answer 401 before 404 or 405", async () => {
    const t = makeTest();
    await expectError(await t.fetch("/api/dink/nope"), 401, "UNAUTHORIZED");
    await expectError(await t.fetch("/api/dink/nope", { method: "POST" }), 401, "UNAUTHORIZED");
    await expectError(await t.fetch("/api/dink/applyDelta"), 401, "UNAUTHORIZED");
    await expectError(await t.fetch("/api/dink/getSnapshot", { method: "POST" }), 401, "UNAUTHORIZED");
    const unauthorized = await (await t.fetch("/api/dink/nope")).text();
    expect(unauthorized).not.toContain("applyDelta");
    // With the key, the same requests get their structured 404 / 405.
    await expectError(await t.fetch("/api/dink/nope", { headers: AUTH }), 404, "NOT_FOUND");
    await expectError(await t.fetch("/api/dink/applyDelta", { headers: AUTH }), 405, "METHOD_NOT_ALLOWED");
  });
});

describe("HTTP: strict requests", () => {
  test("a query parameter on applyDelta is refused, not ignored", async () => {
    const t = makeTest();
    const body = { version: 1, deltas: [wire("op-1", "task-1")] };
    await expectError(await post(t, body, "/api/dink/applyDelta?dry_run=1"), 400, "BAD_REQUEST", "dry_run");
    expect(await counts(t)).toEqual(NOTHING);
  });

  test.each([0, -1, 2, 99])("version %s is UNSUPPORTED_VERSION", async (version) => {
    const t = makeTest();
    await expectError(
      await post(t, { version, deltas: [wire("op-1", "task-1")] }),
      400,
      "UNSUPPORTED_VERSION",
      "version",
    );
    expect(await counts(t)).toEqual(NOTHING);
  });

  test.each([
    ["a repeated top-level key", '{"version":1,"version":1,"deltas":[DELTA]}', "version"],
    ["a repeated key inside a delta", `{"version":1,"deltas":[DELTA_DUP]}`, "deltas[0].op_id"],
  ])("%s is refused, naming it", async (_name, template, field) => {
    const t = makeTest();
    const delta = JSON.stringify(wire("op-1", "task-1"));
    const text = template
      .replace("DELTA_DUP", delta.replace('"op_id":"op-1"', '"op_id":"op-1","op_id":"op-2"'))
      .replace("DELTA", delta);
    await expectError(await post(t, text), 400, "BAD_REQUEST", field);
    expect(await counts(t)).toEqual(NOTHING);
  });

  test('edge_id "convex" (the server\'s own origin) is refused', async () => {
    const t = makeTest();
    await expectError(
      await post(t, { version: 1, deltas: [wire("op-1", "task-1", "convex")] }),
      400,
      "BAD_REQUEST",
      "deltas[0].edge_id",
    );
    expect(await counts(t)).toEqual(NOTHING);
  });

  test("a malformed listDocuments cursor is BAD_REQUEST, not INTERNAL", async () => {
    const t = makeTest();
    expect((await post(t, { version: 1, deltas: [wire("op-1", "task-1")] })).status).toBe(200);
    await expectError(
      await t.fetch("/api/dink/listDocuments?collection=tasks&cursor=not-a-cursor", { headers: AUTH }),
      400,
      "BAD_REQUEST",
      "cursor",
    );
  });

  test("a changes cursor ahead of the feed, or with numbers above 2^53, is refused instead of skipping changes", async () => {
    const t = makeTest();
    expect((await post(t, { version: 1, deltas: [wire("op-1", "task-1")] })).status).toBe(200);
    const first = validateChangesResponse(
      await (await t.fetch("/api/dink/changes?collection=tasks", { headers: AUTH })).json(),
    );
    if (!first.success) throw new Error("expected success");
    const cursor = first.data.cursor;
    // Push every shard's sequence number far past its head.
    const [prefix, start, seqs] = cursor.split(":") as [string, string, string];
    const ahead = `${prefix}:${start}:${seqs
      .split(".")
      .map((s) => (parseInt(s, 36) + 1000).toString(36))
      .join(".")}`;
    await expectError(
      await t.fetch(`/api/dink/changes?collection=tasks&since=${encodeURIComponent(ahead)}`, { headers: AUTH }),
      400,
      "BAD_REQUEST",
      "since",
    );
    const huge = `${prefix}:${start}:${seqs
      .split(".")
      .map(() => "zzzzzzzzzzzz")
      .join(".")}`;
    await expectError(
      await t.fetch(`/api/dink/changes?collection=tasks&since=${encodeURIComponent(huge)}`, { headers: AUTH }),
      400,
      "BAD_REQUEST",
      "since",
    );
  });

  test("a wire-level TOO_LARGE delta is counted and dead-lettered like other rejections", async () => {
    const t = makeTest();
    const big = { ...wire("op-big", "task-big"), delta: b64(new Uint8Array(1_100_000)) };
    const reply = await post(t, { version: 1, deltas: [big, wire("op-1", "task-1")] });
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { data: { results: Array<{ status: string; error?: { code: string } }> } };
    expect(body.data.results.map((r) => r.error?.code ?? r.status)).toEqual(["TOO_LARGE", "applied"]);
    const metrics = await t.query(components.dink.metrics.read, { names: ["ingest.rejected", "ingest.applied"] });
    expect(metrics.map((m) => m.value)).toEqual([1, 1]);
    const letters = await t.query(components.dink.deadLetters.list, {});
    const letter = letters.find((l) => l.eventId === "op-big");
    expect(letter?.reason).toMatch(/^TOO_LARGE/);
  });
});

describe("sync functions: limits hold where the function can be called", () => {
  const delta = (over: Partial<{ opId: string; collection: string; docId: string; edgeId: string }>) => ({
    opId: "op-1",
    collection: "tasks",
    docId: "task-1",
    delta: taskUpdate(9, over.docId ?? "task-1").buffer as ArrayBuffer,
    format: 2 as const,
    edgeId: "edge-a",
    ...over,
  });

  test.each([
    ["docId", { docId: "d".repeat(100_000) }],
    ["opId", { opId: "o".repeat(257) }],
    ["edgeId", { edgeId: "e".repeat(257) }],
    ["collection", { collection: "c".repeat(257) }],
    ["edgeId", { edgeId: "convex" }],
  ])("applyDeltaFromEdge rejects an oversized or reserved %s and writes nothing", async (field, over) => {
    const t = makeTest();
    const [result] = await t.mutation(api.sync.applyDeltaFromEdge, { syncKey: KEY, deltas: [delta(over)] });
    expect(result).toMatchObject({ status: "rejected", error: { code: "BAD_REQUEST", field } });
    expect(await counts(t)).toEqual(NOTHING);
  });

  test("the queries refuse oversized ids", async () => {
    const t = makeTest();
    const long = "x".repeat(100_000);
    await expect(
      t.query(api.sync.getDocumentState, { syncKey: KEY, collection: "tasks", docId: long }),
    ).rejects.toThrow(/docId must be at most 256 characters/);
    await expect(t.query(api.sync.listDocuments, { syncKey: KEY, collection: long })).rejects.toThrow(
      /collection must be at most 256 characters/,
    );
    await expect(
      t.query(api.sync.listDocumentsPaginated, {
        syncKey: KEY,
        collection: long,
        paginationOpts: { numItems: 10, cursor: null },
      }),
    ).rejects.toThrow(/collection must be at most 256 characters/);
  });
});

describe("a missing outbox module fails loudly", () => {
  test("the first synced write names the module it looked for and the fix; nothing is written", async () => {
    const { makeSyncTest, fns } = await import("./support/app");
    const t = makeSyncTest();
    await expect(t.mutation(fns.insertTaskWithoutOutbox!, { id: "t1" })).rejects.toThrow(
      /cannot schedule internal\.outboxProcessor\.scheduleOutboxProcessing.*export the outbox functions from convex\/outboxProcessor\.ts/,
    );
    expect(await counts(t as unknown as T)).toEqual(NOTHING);
  });
});
