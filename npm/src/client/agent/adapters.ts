/**
 * Adapters from {@link DinkTool}s to agent frameworks, without depending on them: the caller
 * passes the framework's own functions (dependency injection), so `ai` and `zod` stay optional.
 * The frameworks' functions are heavily generic, so they are taken as "a one-argument function"
 * and the result keeps the framework's own tool type (`ReturnType` of what was passed).
 */
import type { JsonSchema } from "../edges/validators.js";
import type { DinkTool } from "./tools.js";

/** Any one-argument function (a framework's `tool` / `createTool` / `jsonSchema`). */
type OneArgument = (argument: never) => unknown;

/** What the adapters pass to the framework's tool factory. */
interface ToolDefinition<Schema, Execute> {
  description: string;
  inputSchema: Schema;
  execute: Execute;
}

/**
 * Vercel AI SDK: `toAISDKTools(tools, { tool, jsonSchema })` with `tool` and `jsonSchema` from "ai".
 * The result is what `generateText({ tools })` takes.
 */
export function toAISDKTools<ToolFn extends OneArgument>(
  tools: Record<string, DinkTool>,
  sdk: { tool: ToolFn; jsonSchema: OneArgument },
): Record<string, ReturnType<ToolFn>> {
  const make = sdk.tool as unknown as (
    definition: ToolDefinition<unknown, (input: Record<string, unknown>) => Promise<unknown>>,
  ) => ReturnType<ToolFn>;
  const schema = sdk.jsonSchema as unknown as (schema: JsonSchema) => unknown;
  return Object.fromEntries(
    Object.entries(tools).map(([name, t]) => [
      name,
      make({ description: t.description, inputSchema: schema(t.parameters), execute: (input) => t.execute(input) }),
    ]),
  );
}

/**
 * @convex-dev/agent: `dinkToolsToAgentTools(tools, { createTool, z })` with `createTool` from
 * "@convex-dev/agent" and `z` from "zod" (v4: `z.fromJSONSchema` turns the parameters into the
 * schema the agent validates the model's input with).
 */
export function dinkToolsToAgentTools<CreateToolFn extends OneArgument>(
  tools: Record<string, DinkTool>,
  agent: { createTool: CreateToolFn; z: { fromJSONSchema: OneArgument } },
): Record<string, ReturnType<CreateToolFn>> {
  const make = agent.createTool as unknown as (
    definition: ToolDefinition<unknown, (ctx: unknown, input: Record<string, unknown>) => Promise<unknown>>,
  ) => ReturnType<CreateToolFn>;
  const fromJSONSchema = agent.z.fromJSONSchema as unknown as (schema: JsonSchema) => unknown;
  return Object.fromEntries(
    Object.entries(tools).map(([name, t]) => [
      name,
      make({
        description: t.description,
        inputSchema: fromJSONSchema(t.parameters),
        execute: (_ctx, input) => t.execute(input),
      }),
    ]),
  );
}
