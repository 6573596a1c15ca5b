/**
 * The app's HTTP routes (convex/http.ts = the seed's `createSyncHttpRouter({ httpAction, api })`)
 * through convex-test's `t.fetch`: auth, the size cap before parsing, strict body and query
 * validation naming the field, real Yjs deltas applied to the tasks table, and the snapshot,
 * list and changes reads. Every JSON body is checked with the docs/protocol.md validators.
 */
import { anyApi, httpActionGeneric } from "convex/server";
import { describe, expect, test, vi } from "vitest";
import * as Y from "yjs";
import { createSyncHttpRouter, type SyncHttpApi } from "dink-convex";
import {
  validateApplyDeltaResponse,
  validateChangesResponse,
  validateListResponse,
  validateSnapshotResponse,
} from "dink-convex/protocol";
import { components } from "../convex/_generated/api";
import { makeTest } from "./harness";
import { AUTH, b64, expectError, KEY, useHttpTestEnv } from "./support/httpTest";

type T = ReturnType<typeof makeTest>;

useHttpTestEnv();

const unb64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** An edge's row document: root Y.Map("fields") with the task's fields. */
function taskDoc(clientId: number, fields: Record<string, unknown>): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  doc.transact(() => {
    for (const [k, v] of Object.entries(fields)) doc.getMap("fields").set(k, v);
  });
  return doc;
}

function wireDelta(opId: string, docId: string, update: Uint8Array, format: 1 | 2 = 2, edgeId = "edge-a") {
  return { op_id: opId, collection: "tasks", doc_id: docId, delta: b64(update), format, edge_id: edgeId };
}

async function post(t: T, body: unknown, headers: Record<string, string> = AUTH) {
  return t.fetch("/api/dink/applyDelta", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function written(t: T) {
  return t.run(async (ctx) => ({
    tasks: await ctx.db.query("tasks").collect(),
    deltas: await ctx.db.query("sync_deltas").collect(),
    documents: await ctx.db.query("sync_documents").collect(),
    outbox: await ctx.db.query("sync_outbox").collect(),
  }));
}

async function expectNothingWritten(t: T) {
  const w = await written(t);
  expect([w.tasks.length, w.deltas.length, w.documents.length, w.outbox.length]).toEqual([0, 0, 0, 0]);
}

const task1 = () => taskDoc(101, { id: "task-1", title: "Buy milk", completed: false });

describe("auth", () => {
  test("a missing or wrong key is 401 and writes nothing", async () => {
    const t = makeTest();
    const body = { version: 1, deltas: [wireDelta("op-1", "task-1", Y.encodeStateAsUpdateV2(task1()))] };
    await expectError(await post(t, body, {}), 401, "UNAUTHORIZED");
    await expectError(await post(t, body, { Authorization: "Bearer wrong-key" }), 401, "UNAUTHORIZED");
    await expectError(await post(t, body, { Authorization: `Bearer ${KEY}x` }), 401, "UNAUTHORIZED");
    await expectError(await post(t, body, { Authorization: `Basic ${KEY}` }), 401, "UNAUTHORIZED");
    const read = await t.fetch("/api/dink/changes?collection=tasks");
    await expectError(read, 401, "UNAUTHORIZED");
    expect(read.headers.get("www-authenticate")).toBe("Bearer");
    await expectNothingWritten(t);
  });

  test("a deployment without DINK_APP_SYNC_KEY answers 500 with the seed's message", async () => {
    vi.stubEnv("DINK_APP_SYNC_KEY", "");
    const t = makeTest();
    const body = { version: 1, deltas: [wireDelta("op-1", "task-1", Y.encodeStateAsUpdateV2(task1()))] };
    const error = await expectError(await post(t, body), 500, "NOT_CONFIGURED");
    expect(error?.message).toBe("DINK_APP_SYNC_KEY environment variable is not configured");
    await expectError(
      await t.fetch("/api/dink/listDocuments?collection=tasks", { headers: AUTH }),
      500,
      "NOT_CONFIGURED",
    );
    await expectNothingWritten(t);
  });
});

describe("size cap, checked before parsing", () => {
  test("a declared Content-Length over 4 MiB is refused without reading the body", async () => {
    const t = makeTest();
    // Not JSON: a 400 here would mean the body was parsed before the cap was checked.
    const response = await post(t, "{not json", { ...AUTH, "Content-Length": String(5 * 1024 * 1024) });
    await expectError(response, 413, "PAYLOAD_TOO_LARGE");
  });

  test("a body over 4 MiB is refused by the bytes read, even without or with a lying Content-Length", async () => {
    const t = makeTest();
    const big = "x".repeat(4 * 1024 * 1024 + 1);
    await expectError(await post(t, big), 413, "PAYLOAD_TOO_LARGE");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const chunk = new Uint8Array(1024 * 1024).fill(120);
        for (let i = 0; i < 5; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await t.fetch("/api/dink/applyDelta", {
      method: "POST",
      headers: { ...AUTH, "Content-Length": "10" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectError(response, 413, "PAYLOAD_TOO_LARGE");
    await expectNothingWritten(t);
  });
});

describe("strict request validation", () => {
  const good = () => wireDelta("op-1", "task-1", Y.encodeStateAsUpdateV2(task1()));

  test.each([
    ["malformed JSON", '{"version": 1, "deltas": [', 400, "BAD_REQUEST", "body"],
    ["an empty body", "", 400, "BAD_REQUEST", "body"],
    ["a JSON array", [], 400, "BAD_REQUEST", "body"],
    ["no version", { deltas: [good()] }, 400, "BAD_REQUEST", "version"],
    ["version 2", { version: 2, deltas: [good()] }, 400, "UNSUPPORTED_VERSION", "version"],
    ["no deltas", { version: 1 }, 400, "BAD_REQUEST", "deltas"],
    ["an empty batch", { version: 1, deltas: [] }, 400, "BAD_REQUEST", "deltas"],
    ["an unknown top-level field", { version: 1, deltas: [good()], extra: 1 }, 400, "BAD_REQUEST", "extra"],
  ])("%s is refused", async (_name, body, status, code, field) => {
    const t = makeTest();
    await expectError(await post(t, body), status, code, field);
    await expectNothingWritten(t);
  });

  test.each([
    ["a missing op_id", (d: Record<string, unknown>) => delete d.op_id, "deltas[1].op_id"],
    ["a camelCase docId", (d: Record<string, unknown>) => ((d.docId = d.doc_id), delete d.doc_id), "deltas[1].docId"],
    ["a numeric edge_id", (d: Record<string, unknown>) => (d.edge_id = 7), "deltas[1].edge_id"],
    ["an empty collection", (d: Record<string, unknown>) => (d.collection = ""), "deltas[1].collection"],
    ["format 3", (d: Record<string, unknown>) => (d.format = 3), "deltas[1].format"],
    ["bad base64", (d: Record<string, unknown>) => (d.delta = "AAAA$$$$"), "deltas[1].delta"],
    ["base64 with whitespace", (d: Record<string, unknown>) => (d.delta = "AAAA AAAA"), "deltas[1].delta"],
    ["a delta that is not a string", (d: Record<string, unknown>) => (d.delta = [1, 2]), "deltas[1].delta"],
  ])("%s refuses the whole batch, naming the field", async (_name, spoil, field) => {
    const t = makeTest();
    const second = wireDelta(
      "op-2",
      "task-2",
      Y.encodeStateAsUpdateV2(taskDoc(102, { id: "task-2", title: "b", completed: true })),
    );
    spoil(second as unknown as Record<string, unknown>);
    const error = await expectError(await post(t, { version: 1, deltas: [good(), second] }), 400, "BAD_REQUEST", field);
    expect(error?.message).toContain(field);
    // The valid first delta was not applied either.
    await expectNothingWritten(t);
  });

  test("the wrong method is 405 and an unknown route under /api/dink is a structured 404", async () => {
    const t = makeTest();
    const wrong = await t.fetch("/api/dink/applyDelta", { headers: AUTH });
    await expectError(wrong, 405, "METHOD_NOT_ALLOWED");
    expect(wrong.headers.get("allow")).toBe("POST");
    await expectError(
      await t.fetch("/api/dink/getSnapshot", { method: "POST", headers: AUTH }),
      405,
      "METHOD_NOT_ALLOWED",
    );
    await expectError(await t.fetch("/api/dink/nope", { headers: AUTH }), 404, "NOT_FOUND");
  });
});

describe("applyDelta with real Yjs deltas", () => {
  test("v2 and v1 deltas are applied and materialize task rows; a replay is a duplicate", async () => {
    const t = makeTest();
    const doc2 = taskDoc(202, { id: "task-2", title: "Walk dog", completed: true });
    const body = {
      version: 1,
      deltas: [
        wireDelta("edge-a:1", "task-1", Y.encodeStateAsUpdateV2(task1())),
        wireDelta("edge-b:1", "task-2", Y.encodeStateAsUpdate(doc2), 1, "edge-b"),
      ],
    };
    const response = await post(t, body);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const reply = validateApplyDeltaResponse(await response.json());
    expect(reply).toEqual({
      version: 1,
      success: true,
      data: {
        results: [
          { op_id: "edge-a:1", status: "applied", version: 1 },
          { op_id: "edge-b:1", status: "applied", version: 1 },
        ],
      },
    });
    const w = await written(t);
    const rows = Object.fromEntries(w.tasks.map((r) => [r.id, { title: r.title, completed: r.completed }]));
    expect(rows).toEqual({
      "task-1": { title: "Buy milk", completed: false },
      "task-2": { title: "Walk dog", completed: true },
    });
    expect(w.tasks.every((r) => typeof r.timestamp === "number")).toBe(true);

    const again = validateApplyDeltaResponse(await (await post(t, body)).json());
    expect(again.success && again.data.results.map((r) => r.status)).toEqual(["duplicate", "duplicate"]);
    expect((await written(t)).deltas.length).toBe(w.deltas.length);
  });

  test("rejections come back per delta in request order; the other deltas still apply", async () => {
    const t = makeTest();
    // MISSING_DEPENDENCIES: the edge sends its second change without the first.
    const edge = taskDoc(303, { id: "task-3", title: "First", completed: false });
    const sv = Y.encodeStateVector(edge);
    edge.getMap("fields").set("title", "Second");
    const orphan = Y.encodeStateAsUpdateV2(edge, sv);
    // VALIDATION_ERROR: completed must be a boolean.
    const invalid = taskDoc(304, { id: "task-4", title: "Bad", completed: "yes" });
    // TOO_LARGE: over the 1 MiB per-delta cap, while the request stays under 4 MiB.
    const huge = new Uint8Array(1024 * 1024 + 16).fill(7);
    const body = {
      version: 1,
      deltas: [
        wireDelta("op-orphan", "task-3", orphan),
        wireDelta("op-invalid", "task-4", Y.encodeStateAsUpdateV2(invalid)),
        wireDelta("op-huge", "task-5", huge),
        wireDelta("op-good", "task-1", Y.encodeStateAsUpdateV2(task1())),
      ],
    };
    const reply = validateApplyDeltaResponse(await (await post(t, body)).json());
    if (!reply.success) throw new Error("expected success");
    const [orphanR, invalidR, hugeR, goodR] = reply.data.results;
    expect(reply.data.results.map((r) => r.op_id)).toEqual(["op-orphan", "op-invalid", "op-huge", "op-good"]);
    expect(orphanR!.error!.code).toBe("MISSING_DEPENDENCIES");
    expect(unb64(orphanR!.error!.state_vector!)).toEqual(new Uint8Array([0])); // the server has nothing of task-3
    // (Whether `field` is filled in is the ingest path's job, tested with it; the wire carries it.)
    expect(invalidR!.error!.code).toBe("VALIDATION_ERROR");
    expect(invalidR!.error!.message).toMatch(/boolean/);
    expect(hugeR!.error).toMatchObject({ code: "TOO_LARGE", field: "deltas[2].delta" });
    expect(goodR).toEqual({ op_id: "op-good", status: "applied", version: 1 });
    const w = await written(t);
    expect(w.tasks.map((r) => r.id)).toEqual(["task-1"]);
    expect(w.documents.map((d) => d.docId)).toEqual(["task-1"]);
    // The component learns the outcome: a dead letter for each refusal a resend will not fix
    // (not for MISSING_DEPENDENCIES, which the edge repairs itself), the wire-level TOO_LARGE
    // included (without its bytes), and the counts.
    const letters = await t.query(components.dink.deadLetters.list, { source: "ingest" });
    const byOp = Object.fromEntries(letters.map((l) => [l.eventId, l]));
    expect(letters.map((l) => [l.eventId, l.docId, l.edgeId]).sort()).toEqual([
      ["op-huge", "task-5", "edge-a"],
      ["op-invalid", "task-4", "edge-a"],
    ]);
    expect(byOp["op-invalid"]!.reason).toMatch(/^VALIDATION_ERROR/);
    expect(new Uint8Array(byOp["op-invalid"]!.delta)).toEqual(Y.encodeStateAsUpdateV2(invalid));
    expect(byOp["op-huge"]!.reason).toMatch(/^TOO_LARGE/);
    expect(byOp["op-huge"]!.delta.byteLength).toBe(0);
    const metrics = await t.query(components.dink.metrics.read, { names: ["ingest.applied", "ingest.rejected"] });
    expect(Object.fromEntries(metrics.map((m) => [m.name, m.value]))).toEqual({
      "ingest.applied": 1,
      "ingest.rejected": 3,
    });
  });
});

describe("reads", () => {
  async function seeded() {
    const t = makeTest();
    const reply = await post(t, {
      version: 1,
      deltas: [
        wireDelta("op-1", "task-1", Y.encodeStateAsUpdateV2(task1())),
        wireDelta(
          "op-2",
          "task-2",
          Y.encodeStateAsUpdateV2(taskDoc(102, { id: "task-2", title: "b", completed: true })),
          2,
          "edge-b",
        ),
      ],
    });
    expect(reply.status).toBe(200);
    return t;
  }

  const get = (t: T, path: string) => t.fetch(path, { headers: AUTH });

  test("getSnapshot: the whole state, a diff against a state vector, 404 and 400s", async () => {
    const t = await seeded();
    const full = validateSnapshotResponse(
      await (await get(t, "/api/dink/getSnapshot?collection=tasks&doc_id=task-1")).json(),
    );
    if (!full.success) throw new Error("expected success");
    expect(full.data).toMatchObject({ doc_id: "task-1", version: 1, deleted: false, format: 2, is_diff: false });
    const edge = new Y.Doc();
    Y.applyUpdateV2(edge, unb64(full.data.state));
    expect(edge.getMap("fields").toJSON()).toEqual({ id: "task-1", title: "Buy milk", completed: false });
    expect(unb64(full.data.state_vector)).toEqual(Y.encodeStateVector(edge));

    const sv = encodeURIComponent(full.data.state_vector);
    const diff = validateSnapshotResponse(
      await (await get(t, `/api/dink/getSnapshot?collection=tasks&doc_id=task-1&state_vector=${sv}`)).json(),
    );
    if (!diff.success) throw new Error("expected success");
    expect(diff.data.is_diff).toBe(true);
    // A peer that already has everything gets a diff with no structs in it.
    expect(Y.decodeUpdateV2(unb64(diff.data.state)).structs).toEqual([]);

    await expectError(await get(t, "/api/dink/getSnapshot?collection=tasks&doc_id=nope"), 404, "NOT_FOUND");
    await expectError(await get(t, "/api/dink/getSnapshot?collection=tasks"), 400, "BAD_REQUEST", "doc_id");
    await expectError(
      await get(t, "/api/dink/getSnapshot?collection=tasks&doc_id=task-1&state_vector=a b"),
      400,
      "BAD_REQUEST",
      "state_vector",
    );
    await expectError(
      await get(t, "/api/dink/getSnapshot?collection=tasks&doc_id=task-1&docId=x"),
      400,
      "BAD_REQUEST",
      "docId",
    );
  });

  test("listDocuments pages over the collection", async () => {
    const t = await seeded();
    const first = validateListResponse(await (await get(t, "/api/dink/listDocuments?collection=tasks&limit=1")).json());
    if (!first.success) throw new Error("expected success");
    expect(first.data.items).toHaveLength(1);
    expect(first.data.is_done).toBe(false);
    const cursor = encodeURIComponent(first.data.cursor);
    const rest = validateListResponse(
      await (await get(t, `/api/dink/listDocuments?collection=tasks&limit=10&cursor=${cursor}`)).json(),
    );
    if (!rest.success) throw new Error("expected success");
    const all = [...first.data.items, ...rest.data.items];
    expect(all.map((i) => i.doc_id).sort()).toEqual(["task-1", "task-2"]);
    expect(all.every((i) => i.version === 1 && i.deleted === false && i.updated_at > 0)).toBe(true);
    await expectError(await get(t, "/api/dink/listDocuments?collection=tasks&limit=abc"), 400, "BAD_REQUEST", "limit");
    await expectError(await get(t, "/api/dink/listDocuments?collection=tasks&limit=1001"), 400, "BAD_REQUEST", "limit");
    await expectError(await get(t, "/api/dink/listDocuments"), 400, "BAD_REQUEST", "collection");
  });

  test("changes: the catch-up feed with deltas, origins and a cursor to continue from", async () => {
    const t = await seeded();
    const feed = validateChangesResponse(await (await get(t, "/api/dink/changes?collection=tasks")).json());
    if (!feed.success) throw new Error("expected success");
    const byDoc = Object.fromEntries(feed.data.changes.map((c) => [c.doc_id, c]));
    expect(byDoc["task-1"]).toMatchObject({ version: 1, origin: "edge-a", format: 2 });
    expect(byDoc["task-2"]).toMatchObject({ version: 1, origin: "edge-b", format: 2 });
    const replay = new Y.Doc();
    Y.applyUpdateV2(replay, unb64(byDoc["task-2"]!.delta!));
    expect(replay.getMap("fields").toJSON()).toEqual({ id: "task-2", title: "b", completed: true });
    expect(feed.data.more).toBe(false);

    const since = encodeURIComponent(feed.data.cursor);
    const none = validateChangesResponse(
      await (await get(t, `/api/dink/changes?collection=tasks&since=${since}`)).json(),
    );
    expect(none.success && none.data.changes).toEqual([]);

    const bare = validateChangesResponse(
      await (await get(t, "/api/dink/changes?collection=tasks&include_deltas=false")).json(),
    );
    expect(bare.success && bare.data.changes.every((c) => c.delta === undefined && c.format === undefined)).toBe(true);
    await expectError(
      await get(t, "/api/dink/changes?collection=tasks&include_deltas=maybe"),
      400,
      "BAD_REQUEST",
      "include_deltas",
    );
  });
});

describe("the router", () => {
  test("is an ordinary HttpRouter the app can extend", () => {
    const router = createSyncHttpRouter({ httpAction: httpActionGeneric, api: anyApi as unknown as SyncHttpApi });
    router.route({ path: "/hello", method: "GET", handler: httpActionGeneric(async () => new Response("hi")) });
    expect(router.lookup("/hello", "GET")?.[2]).toBe("/hello");
    expect(router.lookup("/api/dink/applyDelta", "POST")?.[2]).toBe("/api/dink/applyDelta");
    expect(router.lookup("/api/dink/changes", "GET")?.[2]).toBe("/api/dink/changes");
    const paths = router.getRoutes().map(([path, method]) => `${method} ${path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        "POST /api/dink/applyDelta",
        "GET /api/dink/getSnapshot",
        "GET /api/dink/listDocuments",
        "GET /hello",
      ]),
    );
  });
});
