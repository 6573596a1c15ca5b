/**
 * Edge services as AI agent tools: one provider-neutral {@link DinkTool} per method, its
 * parameters the method's input JSON Schema, its `execute` a `callEdge` to the chosen edge.
 */
import { describeEdgeServices } from "../edges/introspection.js";
import { callEdge, type EdgeActionCtx } from "../edges/rpc.js";
import type { JsonSchema, JsonValue, MethodDescriptor, ServiceDescriptor } from "../edges/validators.js";
import { serviceDescriptorOf } from "../edges/wire.js";
import { toolName, type ToolNameFormat } from "./names.js";

/** A tool any agent framework can adapt (see adapters.ts). */
export interface DinkTool {
  /** Built from the method's description and `@ai.*` context. */
  description: string;
  /** JSON Schema of the arguments the model fills in (injected fields removed). */
  parameters: JsonSchema;
  /** Calls the method on the edge; resolves to its result, or throws {@link DinkToolError}. */
  execute: (args: Record<string, unknown>) => Promise<unknown>;
}

/** The edge answered with an error (or could not be reached): its code and message. */
export class DinkToolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly tool: string,
  ) {
    super(`${tool}: ${code}: ${message}`);
    this.name = "DinkToolError";
  }
}

/** A value for an injected field, or a function computing it at execute time. */
export type InjectedValue = unknown | (() => unknown | Promise<unknown>);

export interface DinkToolOptions {
  /** The Convex action ctx the calls run in. */
  ctx: EdgeActionCtx;
  /** The edge the tools call. */
  edgeId: string;
  /** Key format; default "original". */
  nameFormat?: ToolNameFormat;
  /** Only methods whose `@ai.tool_group` is one of these. */
  groups?: string[];
  /** Only these services (when several descriptors are given). */
  services?: string[];
  /**
   * Fields the runtime supplies, not the model: removed from `parameters` and merged into the
   * arguments at execute time. Fields a method marks `@ai.inject` are removed too; they are then
   * filled from here when given.
   */
  inject?: Record<string, InjectedValue>;
  /** RPC timeout per call. */
  timeoutMs?: number;
}

function describe(service: ServiceDescriptor, method: MethodDescriptor): string {
  const ai = method.aiContext ?? {};
  const parts = [method.description ?? `${service.name}.${method.name}`];
  if (ai.whenToUse) parts.push(`When to use: ${ai.whenToUse}`);
  if (ai.whyToUse) parts.push(`Why: ${ai.whyToUse}`);
  if (ai.howToUse) parts.push(`How: ${ai.howToUse}`);
  if (ai.preconditions?.length) parts.push(`Preconditions: ${ai.preconditions.join("; ")}`);
  if (ai.sideEffects?.length) parts.push(`Side effects: ${ai.sideEffects.join("; ")}`);
  return parts.join("\n");
}

/** The input schema without the injected fields (a copy; the descriptor is not changed). */
function visibleSchema(schema: JsonSchema | undefined, hidden: ReadonlySet<string>): JsonSchema {
  const base: JsonSchema = schema ?? { type: "object", properties: {} };
  if (hidden.size === 0) return structuredClone(base);
  const out = structuredClone(base);
  const properties = out.properties;
  if (properties !== null && typeof properties === "object" && !Array.isArray(properties)) {
    out.properties = Object.fromEntries(Object.entries(properties).filter(([k]) => !hidden.has(k))) as JsonValue;
  }
  if (Array.isArray(out.required)) out.required = out.required.filter((k) => typeof k !== "string" || !hidden.has(k));
  return out;
}

async function injected(values: Record<string, InjectedValue>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    out[key] = typeof value === "function" ? await (value as () => unknown)() : value;
  }
  return out;
}

/**
 * Tools from descriptors (generated camelCase ones, or snake_case ones from the wire).
 *
 * ```ts
 * const tools = dinkToolsFromDescriptor(SensorServiceDescriptor, { ctx, edgeId: "sensor-42" });
 * // { SensorService_ReadTemperature: { description, parameters, execute } }
 * ```
 */
export function dinkToolsFromDescriptor(
  descriptors: unknown | readonly unknown[],
  options: DinkToolOptions,
): Record<string, DinkTool> {
  const list = (Array.isArray(descriptors) ? descriptors : [descriptors]).map((d, i) =>
    serviceDescriptorOf(d, `descriptors[${i}]`),
  );
  const format = options.nameFormat ?? "original";
  const tools: Record<string, DinkTool> = {};
  for (const service of list) {
    if (options.services !== undefined && !options.services.includes(service.name)) continue;
    for (const method of service.methods ?? []) {
      const group = method.aiContext?.toolGroup;
      if (options.groups !== undefined && (group === undefined || !options.groups.includes(group))) continue;
      const name = toolName(service.name, method.name, format);
      const hidden = new Set([...Object.keys(options.inject ?? {}), ...(method.aiContext?.injectFields ?? [])]);
      tools[name] = {
        description: describe(service, method),
        parameters: visibleSchema(method.inputSchema, hidden),
        execute: async (args) => {
          const payload = { ...args, ...(await injected(options.inject ?? {})) };
          const result = await callEdge(options.ctx, {
            edgeId: options.edgeId,
            service: service.name,
            method: method.name,
            payload,
            ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
          });
          if (!result.success) {
            throw new DinkToolError(
              result.error?.code ?? "EDGE_ERROR",
              result.error?.message ?? "edge call failed",
              name,
            );
          }
          return result.result;
        },
      };
    }
  }
  return tools;
}

/**
 * Tools from the descriptors edges registered with the gateway.
 *
 * ```ts
 * const tools = await dinkToolsFromRuntime(ctx, { services: ["SensorService"], edgeId: "sensor-42" });
 * ```
 */
export async function dinkToolsFromRuntime(
  ctx: EdgeActionCtx,
  options: Omit<DinkToolOptions, "ctx" | "services"> & { services: string[] },
): Promise<Record<string, DinkTool>> {
  const descriptors = await Promise.all(options.services.map((name) => describeEdgeServices(ctx, name)));
  return dinkToolsFromDescriptor(descriptors, { ...options, ctx });
}
