/**
 * The gateway's snake_case bodies read into the helpers' camelCase results, checked on the way:
 * a gateway reply of the wrong shape is a BAD_RESPONSE error, not a half-filled object.
 */
import { DinkGatewayError } from "./gateway.js";
import type {
  CallEdgeResult,
  EdgeError,
  EdgeInfo,
  EdgeKey,
  JsonSchema,
  MethodAIContext,
  MethodDescriptor,
  ServiceAIContext,
  ServiceDescriptor,
} from "./validators.js";

type Obj = Record<string, unknown>;

function fail(what: string): never {
  throw new DinkGatewayError("BAD_RESPONSE", `gateway reply: ${what}`);
}
function obj(value: unknown, what: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${what} is not an object`);
  return value as Obj;
}
function str(value: unknown, what: string): string {
  if (typeof value !== "string") fail(`${what} is not a string`);
  return value;
}
function optStr(value: unknown, what: string): string | undefined {
  return value === undefined || value === null || value === "" ? undefined : str(value, what);
}
function num(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(`${what} is not a number`);
  return value;
}
function list(value: unknown, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(`${what} is not an array`);
  return value;
}
function strings(value: unknown, what: string): string[] {
  return list(value, what).map((x, i) => str(x, `${what}[${i}]`));
}
function optStrings(value: unknown, what: string): string[] | undefined {
  return value === undefined || value === null ? undefined : strings(value, what);
}
function labels(value: unknown, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const o = obj(value, what);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, str(x, `${what}.${k}`)]));
}
/** Drops undefined members, so results fit Convex validators with optional fields. */
function compact<T extends Obj>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
}

export function edgeErrorOf(value: unknown, what: string): EdgeError {
  if (typeof value === "string") return { code: "EDGE_ERROR", message: value };
  const o = obj(value, what);
  return {
    code: typeof o.code === "string" ? o.code : "EDGE_ERROR",
    message: typeof o.message === "string" ? o.message : "edge call failed",
  };
}

/**
 * One edge's outcome from `/api/edge/call`'s `data` (dink-protocol §3.2: `result` holds the edge's
 * raw reply `{success, result}`) or from a scatter's `results[i]` (`result` is the value).
 */
export function callResultOf(value: unknown, what: string, wrapped: boolean): CallEdgeResult {
  const o = obj(value, what);
  const edgeId = str(o.edge_id, `${what}.edge_id`);
  if (o.success !== true) {
    return {
      edgeId,
      success: false,
      error: edgeErrorOf(o.error ?? { code: "EDGE_ERROR", message: "edge call failed" }, `${what}.error`),
    };
  }
  let result = o.result;
  if (wrapped && typeof result === "object" && result !== null && !Array.isArray(result)) {
    const reply = result as Obj;
    if (reply.success === false) {
      return { edgeId, success: false, error: edgeErrorOf(reply.error ?? "edge call failed", `${what}.result.error`) };
    }
    result = reply.result;
  }
  return result === undefined || result === null ? { edgeId, success: true } : { edgeId, success: true, result };
}

export function edgeInfoOf(value: unknown, what: string): EdgeInfo {
  const o = obj(value, what);
  const status = o.status === "online" ? "online" : "offline";
  const services = list(o.services, `${what}.services`).map((s, i) =>
    typeof s === "string" ? s : str(obj(s, `${what}.services[${i}]`).name, `${what}.services[${i}].name`),
  );
  return compact({
    id: str(o.id, `${what}.id`),
    name: typeof o.name === "string" ? o.name : str(o.id, `${what}.id`),
    appId: str(o.app_id, `${what}.app_id`),
    type: typeof o.type === "string" ? o.type : "edge",
    status,
    version: optStr(o.version, `${what}.version`),
    hostname: optStr(o.hostname, `${what}.hostname`),
    labels: labels(o.labels, `${what}.labels`),
    groups: strings(o.groups, `${what}.groups`),
    services,
    connectedAt: optStr(o.connected_at, `${what}.connected_at`),
    lastSeen: optStr(o.last_seen, `${what}.last_seen`),
  });
}

export function edgeKeyOf(value: unknown, what: string): EdgeKey {
  const o = obj(value, what);
  return compact({
    id: str(o.id, `${what}.id`),
    appId: str(o.app_id, `${what}.app_id`),
    name: typeof o.name === "string" ? o.name : "",
    type: str(o.type, `${what}.type`),
    edgeId: optStr(o.edge_id, `${what}.edge_id`),
    scopes: strings(o.scopes, `${what}.scopes`),
    labels: labels(o.labels, `${what}.labels`),
    groups: strings(o.groups, `${what}.groups`),
    status: str(o.status, `${what}.status`),
    createdAt: str(o.created_at, `${what}.created_at`),
    // Go's zero time (dinkd, dink-gateway) means "never".
    expiresAt: o.expires_at === "0001-01-01T00:00:00Z" ? undefined : optStr(o.expires_at, `${what}.expires_at`),
    revokedAt: optStr(o.revoked_at, `${what}.revoked_at`),
    revokeReason: optStr(o.revoke_reason, `${what}.revoke_reason`),
  });
}

function schemaOf(value: unknown, what: string): JsonSchema | undefined {
  if (value === undefined || value === null) return undefined;
  return obj(value, what) as JsonSchema;
}

function methodAIContextOf(value: unknown, what: string): MethodAIContext | undefined {
  if (value === undefined || value === null) return undefined;
  const o = obj(value, what);
  return compact({
    whenToUse: optStr(o.when_to_use ?? o.whenToUse, `${what}.when_to_use`),
    whyToUse: optStr(o.why_to_use ?? o.whyToUse, `${what}.why_to_use`),
    howToUse: optStr(o.how_to_use ?? o.howToUse, `${what}.how_to_use`),
    preconditions: optStrings(o.preconditions, `${what}.preconditions`),
    sideEffects: optStrings(o.side_effects ?? o.sideEffects, `${what}.side_effects`),
    relatedMethods: optStrings(o.related_methods ?? o.relatedMethods, `${what}.related_methods`),
    scenarios: optStrings(o.scenarios, `${what}.scenarios`),
    toolGroup: optStr(o.tool_group ?? o.toolGroup, `${what}.tool_group`),
    injectFields: optStrings(o.inject_fields ?? o.injectFields, `${what}.inject_fields`),
  });
}

function serviceAIContextOf(value: unknown, what: string): ServiceAIContext | undefined {
  if (value === undefined || value === null) return undefined;
  const o = obj(value, what);
  return compact({
    overview: optStr(o.overview, `${what}.overview`),
    capabilities: optStrings(o.capabilities, `${what}.capabilities`),
    limitations: optStrings(o.limitations, `${what}.limitations`),
    relatedServices: optStrings(o.related_services ?? o.relatedServices, `${what}.related_services`),
  });
}

/** A ServiceDescriptor in either casing (snake_case from the wire, camelCase from generated code). */
export function serviceDescriptorOf(value: unknown, what: string): ServiceDescriptor {
  const o = obj(value, what);
  const methods = list(o.methods, `${what}.methods`).map((m, i): MethodDescriptor => {
    const mo = obj(m, `${what}.methods[${i}]`);
    const at = `${what}.methods[${i}]`;
    return compact({
      name: str(mo.name, `${at}.name`),
      description: optStr(mo.description, `${at}.description`),
      inputSchema: schemaOf(mo.input_schema ?? mo.inputSchema, `${at}.input_schema`),
      outputSchema: schemaOf(mo.output_schema ?? mo.outputSchema, `${at}.output_schema`),
      tags: optStrings(mo.tags, `${at}.tags`),
      aiContext: methodAIContextOf(mo.ai_context ?? mo.aiContext, `${at}.ai_context`),
    });
  });
  return compact({
    name: str(o.name, `${what}.name`),
    version: typeof o.version === "string" ? o.version : "",
    description: optStr(o.description, `${what}.description`),
    methods,
    aiContext: serviceAIContextOf(o.ai_context ?? o.aiContext, `${what}.ai_context`),
    relatedServices: optStrings(o.related_services ?? o.relatedServices, `${what}.related_services`),
  });
}

export { num, obj, list };
