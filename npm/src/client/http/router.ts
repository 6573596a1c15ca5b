/**
 * `createSyncHttpRouter({ httpAction, api })`: the HTTP routes dinkd calls (docs/protocol.md).
 *
 *   POST /api/dink/applyDelta    a batch of edge deltas -> per-delta results
 *   GET  /api/dink/getSnapshot   one document's state (or a diff against a state vector)
 *   GET  /api/dink/listDocuments a page of a collection's documents
 *   GET  /api/dink/changes       the catch-up feed: changes since a cursor
 *
 * Every route checks `Authorization: Bearer <DINK_APP_SYNC_KEY>` first (constant time), then the
 * request size (Content-Length, then the bytes actually read) before anything is parsed, then the
 * body or query strictly. The work is done by the app's sync functions (`api.sync.*`, made by
 * `createSyncMutations`), which receive the presented key as `syncKey` and check it again.
 *
 * The router is an ordinary `HttpRouter`: the app may add its own routes to it.
 */
import {
  httpRouter,
  type AnyApi,
  type FunctionReference,
  type GenericActionCtx,
  type GenericDataModel,
  type HttpActionBuilder,
  type HttpRouter,
  type PublicHttpAction,
} from "convex/server";
import { bearerToken, checkSyncKey } from "../auth/syncKey.js";
import { decodeBase64Strict, isBase64 } from "./base64.js";
import {
  encodeChanges,
  encodeDeltaResult,
  encodeList,
  encodeSnapshot,
  errorEnvelope,
  isRequestErrorCode,
  parseApplyDeltaRequest,
  ProtocolError,
  resolveWireLimits,
  successEnvelope,
  type ChangeFeed,
  type DeltaInput,
  type DeltaResult,
  type DocumentPage,
  type DocumentState,
  type WireLimits,
} from "./protocol.js";
import { recordIngestOutcomes } from "./ingestRecords.js";
import { findDuplicateKey } from "./json.js";

/**
 * The sync functions the router calls. Typed loosely on purpose: the app's generated `api` type
 * is computed from the app's modules, `http.ts` among them, so a router type derived from `api`
 * would be circular. Any `api` with these four public functions under `sync` fits.
 */
export interface SyncHttpApi {
  sync: {
    applyDeltaFromEdge: FunctionReference<"mutation", "public">;
    getDocumentState: FunctionReference<"query", "public">;
    listDocuments: FunctionReference<"query", "public">;
    listDocumentsPaginated: FunctionReference<"query", "public">;
  };
}

export interface SyncHttpRouterOptions {
  /** Size and count caps (docs/protocol.md, "Limits"); defaults in `DEFAULT_WIRE_LIMITS`. */
  limits?: Partial<WireLimits>;
  /** Add the routes to this router instead of a new one. */
  router?: HttpRouter;
  /** Path prefix of the routes; default "/api/dink". */
  pathPrefix?: string;
  /** Name the dink component was installed under (`app.use(dink, { name })`); default "dink". */
  componentName?: string;
}

type Ctx = GenericActionCtx<GenericDataModel>;

const DEFAULT_PAGE_SIZE = 100;

/**
 * Build the sync HTTP routes on an extendable `HttpRouter`.
 *
 * Kept non-generic with one signature and an explicit return type: TypeScript then types
 * `const http = createSyncHttpRouter(...)` from the signature alone, without the type of `api`.
 * (`export default createSyncHttpRouter(...)` is always typed from its arguments, so a generated
 * `api` that lists the `http` module itself would be circular whatever this signature is.)
 */
export function createSyncHttpRouter(
  // `AnyApi`: the untyped stub `npx convex dev --once` writes before a deployment exists.
  config: { httpAction: HttpActionBuilder; api: SyncHttpApi | AnyApi },
  options: SyncHttpRouterOptions = {},
): HttpRouter {
  const { httpAction, api } = config;
  const limits = resolveWireLimits(options.limits);
  const prefix = (options.pathPrefix ?? "/api/dink").replace(/\/+$/, "");
  if (!prefix.startsWith("/")) throw new Error("createSyncHttpRouter: pathPrefix must start with '/'");
  const router = options.router ?? httpRouter();
  const sync = (api as SyncHttpApi).sync;

  // Every route, the 404 and 405 answers included, checks the sync key first: a caller without
  // it learns nothing, not even which routes exist.
  const handle = (work: (ctx: Ctx, request: Request, syncKey: string) => Promise<Response>): PublicHttpAction =>
    httpAction(async (ctx, request) => {
      try {
        const auth = checkSyncKey(bearerToken(request.headers.get("authorization")));
        if (!auth.ok) {
          return auth.reason === "NOT_CONFIGURED"
            ? reply(500, errorEnvelope("NOT_CONFIGURED", auth.message))
            : reply(401, errorEnvelope("UNAUTHORIZED", auth.message), { "WWW-Authenticate": "Bearer" });
        }
        return await work(ctx, request, auth.key);
      } catch (error) {
        return failure(error);
      }
    });

  const applyDelta = handle(async (ctx, request, syncKey) => {
    query(request, [], []);
    const body = await readJsonBody(request, limits.maxRequestBytes);
    const parsed = parseApplyDeltaRequest(body, limits);
    const inputs: DeltaInput[] = [];
    for (const item of parsed) if (item.kind === "input") inputs.push(item.input);
    let applied: DeltaResult[] = [];
    if (inputs.length > 0) {
      applied = (await ctx.runMutation(sync.applyDeltaFromEdge, { syncKey, deltas: inputs })) as DeltaResult[];
      if (!Array.isArray(applied) || applied.length !== inputs.length) {
        throw new ProtocolError(
          "INTERNAL",
          "applyDeltaFromEdge returned a result count that does not match the deltas",
        );
      }
    }
    // Put the mutation's results back in request order, between the deltas refused on the wire.
    let next = 0;
    const inOrder: DeltaResult[] = parsed.map((item) => {
      if (item.kind === "rejected") return item.result;
      const result = applied[next++]!;
      if (result.opId !== item.input.opId) {
        throw new ProtocolError("INTERNAL", `applyDeltaFromEdge answered op ${result.opId} for op ${item.input.opId}`);
      }
      return result;
    });
    // Metrics and dead letters cover the deltas refused on the wire (TOO_LARGE) too.
    await recordIngestOutcomes(
      ctx,
      parsed.map((item) => item.input),
      inOrder,
      options.componentName,
    );
    return reply(200, successEnvelope({ results: inOrder.map(encodeDeltaResult) }));
  });

  const getSnapshot = handle(async (ctx, request, syncKey) => {
    const q = query(request, ["collection", "doc_id"], ["state_vector"]);
    const args: Record<string, unknown> = { syncKey, collection: q.collection!, docId: q.doc_id! };
    if (q.state_vector !== undefined) args.stateVector = decodeBase64Strict(q.state_vector).buffer;
    const doc = (await ctx.runQuery(sync.getDocumentState, args)) as DocumentState | null;
    if (doc === null) {
      throw new ProtocolError("NOT_FOUND", `no document ${q.doc_id} in collection ${q.collection}`);
    }
    return reply(200, successEnvelope(encodeSnapshot(doc, q.state_vector !== undefined)));
  });

  const listDocuments = handle(async (ctx, request, syncKey) => {
    const q = query(request, ["collection"], ["cursor", "limit"]);
    const page = (await ctx.runQuery(sync.listDocumentsPaginated, {
      syncKey,
      collection: q.collection!,
      paginationOpts: { numItems: pageSize(q.limit, limits), cursor: q.cursor ?? null },
    })) as DocumentPage;
    return reply(200, successEnvelope(encodeList(page)));
  });

  const changes = handle(async (ctx, request, syncKey) => {
    const q = query(request, ["collection"], ["since", "limit", "include_deltas"]);
    const args: Record<string, unknown> = {
      syncKey,
      collection: q.collection!,
      limit: pageSize(q.limit, limits),
      includeDeltas: flag(q.include_deltas, "include_deltas", true),
    };
    if (q.since !== undefined) args.since = q.since;
    const feed = (await ctx.runQuery(sync.listDocuments, args)) as ChangeFeed;
    return reply(200, successEnvelope(encodeChanges(feed)));
  });

  const routes: Array<[string, "GET" | "POST", PublicHttpAction]> = [
    ["applyDelta", "POST", applyDelta],
    ["getSnapshot", "GET", getSnapshot],
    ["listDocuments", "GET", listDocuments],
    ["changes", "GET", changes],
  ];
  for (const [name, method, handler] of routes) {
    const path = `${prefix}/${name}`;
    router.route({ path, method, handler });
    // The likely mistake (GET vs POST) gets a structured 405 instead of the router's bare 404.
    const other = method === "GET" ? "POST" : "GET";
    router.route({ path, method: other, handler: handle(async () => methodNotAllowed(method)) });
  }
  // Anything else under the prefix: a structured 404 naming the known routes.
  const known = routes.map(([name]) => `${prefix}/${name}`).join(", ");
  for (const method of ["GET", "POST"] as const) {
    router.route({
      pathPrefix: `${prefix}/`,
      method,
      handler: handle(async (_ctx, request) =>
        reply(404, errorEnvelope("NOT_FOUND", `no route ${new URL(request.url).pathname}; routes: ${known}`)),
      ),
    });
  }
  return router;
}

function methodNotAllowed(allowed: string): Response {
  return reply(405, errorEnvelope("METHOD_NOT_ALLOWED", `use ${allowed}`), { Allow: allowed });
}

function reply(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...headers },
  });
}

/** Map anything thrown while serving a request to an error envelope. */
function failure(error: unknown): Response {
  if (error instanceof ProtocolError) return reply(error.status, errorEnvelope(error.code, error.message, error.field));
  // A sync function may refuse the whole call with ConvexError({ code, message, field? }).
  const data = convexErrorData(error);
  if (data !== null && isRequestErrorCode(data.code)) {
    const e = new ProtocolError(data.code, data.message, data.field);
    return reply(e.status, errorEnvelope(e.code, e.message, e.field));
  }
  const message = error instanceof Error ? error.message : String(error);
  return reply(500, errorEnvelope("INTERNAL", message));
}

function convexErrorData(error: unknown): { code: string; message: string; field?: string } | null {
  if (typeof error !== "object" || error === null || !("data" in error)) return null;
  const data = (error as { data: unknown }).data;
  if (typeof data !== "object" || data === null) return null;
  const { code, message, field } = data as Record<string, unknown>;
  if (typeof code !== "string" || typeof message !== "string") return null;
  return typeof field === "string" ? { code, message, field } : { code, message };
}

/**
 * Read the body with a cap, before parsing: a declared Content-Length over the cap is refused
 * without reading, and the bytes actually read are counted too (the header may be absent or
 * wrong), cancelling the stream as soon as they pass the cap.
 */
async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (!/^\s*\d+\s*$/.test(declared)) throw new ProtocolError("BAD_REQUEST", "Content-Length is not a number");
    const length = Number(declared);
    if (length > maxBytes) throw tooLarge(length, maxBytes);
  }
  const bytes = await readCapped(request, maxBytes);
  if (bytes.length === 0) throw new ProtocolError("BAD_REQUEST", "body is empty; expected a JSON object", "body");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ProtocolError("BAD_REQUEST", "body is not valid UTF-8", "body");
  }
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (error) {
    const detail = error instanceof Error ? `: ${error.message}` : "";
    throw new ProtocolError("BAD_REQUEST", `body is not valid JSON${detail}`, "body");
  }
  const repeated = findDuplicateKey(text);
  if (repeated !== null) throw new ProtocolError("BAD_REQUEST", `${repeated} appears twice in the body`, repeated);
  return body;
}

async function readCapped(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(total, maxBytes, true);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(length: number, maxBytes: number, partial = false): ProtocolError {
  const size = partial ? `more than ${maxBytes} bytes` : `${length} bytes`;
  return new ProtocolError("PAYLOAD_TOO_LARGE", `request body is ${size}; the limit is ${maxBytes}`);
}

/** Strict query parameters: required ones present and non-empty, no unknown or repeated ones. */
function query(request: Request, required: string[], optional: string[]): Record<string, string | undefined> {
  const params = new URL(request.url).searchParams;
  const out: Record<string, string | undefined> = {};
  // forEach, not keys(): the package's lib has no DOM.Iterable (Convex's runtime is not a browser).
  let fault: ProtocolError | undefined;
  params.forEach((value, key) => {
    if (fault !== undefined) return;
    if (!required.includes(key) && !optional.includes(key)) {
      fault = new ProtocolError("BAD_REQUEST", `query parameter ${key} is not known`, key);
    } else if (out[key] !== undefined) {
      fault = new ProtocolError("BAD_REQUEST", `query parameter ${key} is repeated`, key);
    } else {
      out[key] = value;
    }
  });
  if (fault !== undefined) throw fault;
  for (const key of required) {
    if (out[key] === undefined || out[key] === "") {
      throw new ProtocolError("BAD_REQUEST", `query parameter ${key} is required`, key);
    }
  }
  if (out.state_vector !== undefined && !isBase64(out.state_vector)) {
    throw new ProtocolError(
      "BAD_REQUEST",
      "query parameter state_vector is not valid base64 (percent-encode '+', '/' and '=')",
      "state_vector",
    );
  }
  return out;
}

function pageSize(raw: string | undefined, limits: WireLimits): number {
  if (raw === undefined) return Math.min(DEFAULT_PAGE_SIZE, limits.maxPageSize);
  if (!/^\d+$/.test(raw))
    throw new ProtocolError("BAD_REQUEST", "query parameter limit must be a positive integer", "limit");
  const n = Number(raw);
  if (n < 1 || n > limits.maxPageSize) {
    throw new ProtocolError(
      "BAD_REQUEST",
      `query parameter limit must be between 1 and ${limits.maxPageSize}`,
      "limit",
    );
  }
  return n;
}

function flag(raw: string | undefined, name: string, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ProtocolError("BAD_REQUEST", `query parameter ${name} must be true or false`, name);
}
