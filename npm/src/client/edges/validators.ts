/**
 * The results the edge helpers return, as Convex validators and the types derived from them, so
 * an action can declare `returns: callEdgeResult` and a generated action's own strict `returns`
 * validator (from `dink codegen --convex-actions`) accepts exactly these objects. All camelCase;
 * the gateway's snake_case wire forms are converted in wire.ts.
 */
import type { Infer, VAny } from "convex/values";
import { v } from "convex/values";

/**
 * `v.any()` typed `unknown` instead of `any`: the value is whatever the edge sent (any JSON), and
 * callers narrow it. Accepts exactly what `v.any()` accepts.
 */
const anyValue = v.any() as VAny<unknown, "required">;
/** A JSON Schema object (descriptors' `inputSchema` / `outputSchema`). */
const jsonSchemaValue = v.any() as VAny<JsonSchema, "required">;

/** A coded failure: of the gateway (`TIMEOUT`, `NO_RESPONDERS`, `EDGE_NOT_FOUND`, ...) or of the edge's handler. */
export const edgeError = v.object({ code: v.string(), message: v.string() });
export type EdgeError = Infer<typeof edgeError>;

/** One edge's answer to an RPC call. `result` is the handler's output (a JSON value). */
export const callEdgeResult = v.object({
  edgeId: v.string(),
  success: v.boolean(),
  /** Typed `unknown`: narrow it before use (it is whatever the edge's handler returned). */
  result: v.optional(anyValue),
  error: v.optional(edgeError),
});
export type CallEdgeResult = Infer<typeof callEdgeResult>;

/** A scatter call's answers, one per targeted edge, failures included. */
export const scatterCallResult = v.object({
  results: v.array(callEdgeResult),
  totalEdges: v.number(),
  successfulCount: v.number(),
  failedCount: v.number(),
});
export type ScatterCallResult = Infer<typeof scatterCallResult>;

/** What `kickEdge` answers: always success unless it threw; `message` when the edge was not found. */
export const kickEdgeResult = v.object({ success: v.boolean(), edgeId: v.string(), message: v.optional(v.string()) });
export type KickEdgeResult = Infer<typeof kickEdgeResult>;

/** An edge as the gateway's presence store knows it. */
export const edgeInfo = v.object({
  id: v.string(),
  name: v.string(),
  appId: v.string(),
  type: v.string(),
  status: v.union(v.literal("online"), v.literal("offline")),
  version: v.optional(v.string()),
  hostname: v.optional(v.string()),
  labels: v.record(v.string(), v.string()),
  groups: v.array(v.string()),
  services: v.array(v.string()),
  connectedAt: v.optional(v.string()),
  lastSeen: v.optional(v.string()),
});
export type EdgeInfo = Infer<typeof edgeInfo>;

/** An API key's metadata (never its secret). */
export const edgeKey = v.object({
  id: v.string(),
  appId: v.string(),
  name: v.string(),
  type: v.string(),
  edgeId: v.optional(v.string()),
  scopes: v.array(v.string()),
  labels: v.record(v.string(), v.string()),
  groups: v.array(v.string()),
  status: v.string(),
  createdAt: v.string(),
  expiresAt: v.optional(v.string()),
  revokedAt: v.optional(v.string()),
  revokeReason: v.optional(v.string()),
});
export type EdgeKey = Infer<typeof edgeKey>;

/** `createEdgeKey`'s answer: the metadata and the secret, shown once. */
export const createdEdgeKey = v.object({ key: edgeKey, apiKey: v.string() });
export type CreatedEdgeKey = Infer<typeof createdEdgeKey>;

/** What `revokeEdgeKey` did. */
export const revokeEdgeKeyResult = v.object({
  success: v.boolean(),
  keyId: v.string(),
  edgeId: v.optional(v.string()),
  kicked: v.boolean(),
});
export type RevokeEdgeKeyResult = Infer<typeof revokeEdgeKeyResult>;

const stringList = v.optional(v.array(v.string()));

/** AI hints of a method (`@ai.*` proto annotations). */
export const methodAIContext = v.object({
  whenToUse: v.optional(v.string()),
  whyToUse: v.optional(v.string()),
  howToUse: v.optional(v.string()),
  preconditions: stringList,
  sideEffects: stringList,
  relatedMethods: stringList,
  scenarios: stringList,
  toolGroup: v.optional(v.string()),
  injectFields: stringList,
});
export type MethodAIContext = Infer<typeof methodAIContext>;

export const methodDescriptor = v.object({
  name: v.string(),
  description: v.optional(v.string()),
  inputSchema: v.optional(jsonSchemaValue),
  outputSchema: v.optional(jsonSchemaValue),
  tags: stringList,
  aiContext: v.optional(methodAIContext),
});
/** A method of a service; the schemas are JSON Schema objects. */
export type MethodDescriptor = Infer<typeof methodDescriptor>;

export const serviceAIContext = v.object({
  overview: v.optional(v.string()),
  capabilities: stringList,
  limitations: stringList,
  relatedServices: stringList,
});
export type ServiceAIContext = Infer<typeof serviceAIContext>;

export const serviceDescriptor = v.object({
  name: v.string(),
  version: v.string(),
  description: v.optional(v.string()),
  methods: v.optional(v.array(methodDescriptor)),
  aiContext: v.optional(serviceAIContext),
  relatedServices: stringList,
});
/** What an edge registered about one of its services (dink-protocol §8), camelCase. */
export type ServiceDescriptor = Infer<typeof serviceDescriptor>;

/** A JSON Schema object as descriptors carry it. */
export type JsonSchema = { [key: string]: JsonValue };
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
