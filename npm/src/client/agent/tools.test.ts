// @vitest-environment node
/**
 * Agent tools from descriptors, with the real `ai` (tool, jsonSchema) and `@convex-dev/agent`
 * (createTool) + `zod` adapters. The edge is reached through callEdge; here the gateway is a
 * local stand-in that records the call (the real gateway and edge: tests/gateway/).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTool } from "@convex-dev/agent";
import { jsonSchema, tool } from "ai";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { dinkToolsToAgentTools, toAISDKTools } from "./adapters.js";
import { DinkToolError, dinkToolsFromDescriptor } from "./tools.js";

/** A generated (camelCase) descriptor, as `dink codegen --lang ts` writes it. */
const SensorServiceDescriptor = {
  name: "SensorService",
  version: "1.0.0",
  description: "Reads sensors.",
  methods: [
    {
      name: "ReadTemperature",
      description: "Reads one temperature sensor.",
      inputSchema: {
        type: "object",
        properties: { sensorId: { type: "string" }, sandboxId: { type: "string" } },
        required: ["sensorId", "sandboxId"],
      },
      aiContext: { whenToUse: "For a current reading.", toolGroup: "environment-control", injectFields: ["sandboxId"] },
    },
    { name: "Calibrate", description: "Calibrates.", aiContext: { toolGroup: "maintenance" } },
  ],
};
/** The same service as the wire carries it (snake_case). */
const wireActuator = {
  name: "ActuatorService",
  version: "2",
  methods: [{ name: "SetValve", input_schema: { type: "object", properties: { open: { type: "boolean" } } } }],
};

let server: Server;
let reply: unknown = {};
const calls: unknown[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      calls.push(JSON.parse(body));
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  vi.stubEnv("DINK_HTTP_URL", `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  vi.stubEnv("DINK_APP_SYNC_KEY", "k");
});
afterAll(() => {
  vi.unstubAllEnvs();
  return new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  calls.length = 0;
  reply = {
    success: true,
    data: { edge_id: "sensor-42", success: true, result: { success: true, result: { celsius: 21.5 } } },
  };
});

const ctx = {};

describe("dinkToolsFromDescriptor", () => {
  it("names tools in each format and filters by group and service", () => {
    const both = [SensorServiceDescriptor, wireActuator];
    expect(Object.keys(dinkToolsFromDescriptor(both, { ctx, edgeId: "e" })).sort()).toEqual([
      "ActuatorService_SetValve",
      "SensorService_Calibrate",
      "SensorService_ReadTemperature",
    ]);
    expect(
      Object.keys(dinkToolsFromDescriptor(SensorServiceDescriptor, { ctx, edgeId: "e", nameFormat: "snake_case" })),
    ).toEqual(["sensor_service_read_temperature", "sensor_service_calibrate"]);
    expect(
      Object.keys(dinkToolsFromDescriptor(SensorServiceDescriptor, { ctx, edgeId: "e", nameFormat: "camelCase" })),
    ).toEqual(["sensorService_readTemperature", "sensorService_calibrate"]);
    expect(Object.keys(dinkToolsFromDescriptor(both, { ctx, edgeId: "e", groups: ["environment-control"] }))).toEqual([
      "SensorService_ReadTemperature",
    ]);
    expect(Object.keys(dinkToolsFromDescriptor(both, { ctx, edgeId: "e", services: ["ActuatorService"] }))).toEqual([
      "ActuatorService_SetValve",
    ]);
  });

  it("hides injected fields from the model and merges them at execute time", async () => {
    const tools = dinkToolsFromDescriptor(SensorServiceDescriptor, {
      ctx,
      edgeId: "sensor-42",
      inject: { sandboxId: () => "sb-1", sessionId: "s-9" },
    });
    const read = tools.SensorService_ReadTemperature!;
    expect(read.parameters).toEqual({
      type: "object",
      properties: { sensorId: { type: "string" } },
      required: ["sensorId"],
    });
    // The descriptor itself is untouched.
    expect(SensorServiceDescriptor.methods[0]!.inputSchema?.required).toEqual(["sensorId", "sandboxId"]);
    expect(read.description).toContain("When to use: For a current reading.");
    expect(await read.execute({ sensorId: "t1" })).toEqual({ celsius: 21.5 });
    expect(calls[0]).toMatchObject({
      edge_id: "sensor-42",
      service_name: "SensorService",
      method_name: "ReadTemperature",
      payload: { sensorId: "t1", sandboxId: "sb-1", sessionId: "s-9" },
    });
  });

  it("throws the edge's coded error", async () => {
    reply = {
      success: true,
      data: { edge_id: "e", success: false, error: { code: "SENSOR_OFFLINE", message: "unplugged" } },
    };
    const tools = dinkToolsFromDescriptor(SensorServiceDescriptor, { ctx, edgeId: "e" });
    const error = await tools.SensorService_Calibrate!.execute({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DinkToolError);
    expect(error).toMatchObject({ code: "SENSOR_OFFLINE", tool: "SensorService_Calibrate" });
  });
});

describe("adapters with the real libraries", () => {
  const tools = () =>
    dinkToolsFromDescriptor(SensorServiceDescriptor, { ctx, edgeId: "sensor-42", inject: { sandboxId: "sb" } });

  it("Vercel AI SDK: tool() + jsonSchema() tools that validate input and execute on the edge", async () => {
    const aiTools = toAISDKTools(tools(), { tool, jsonSchema });
    const read = aiTools.SensorService_ReadTemperature!;
    expect(read.description).toContain("Reads one temperature sensor.");
    const schema = await (read.inputSchema as ReturnType<typeof jsonSchema>).jsonSchema;
    expect(schema).toEqual({ type: "object", properties: { sensorId: { type: "string" } }, required: ["sensorId"] });
    const execute = (read as unknown as { execute: (input: unknown, options: unknown) => Promise<unknown> }).execute;
    const out = await execute({ sensorId: "t1" }, { toolCallId: "c1", messages: [] });
    expect(out).toEqual({ celsius: 21.5 });
  });

  it("@convex-dev/agent: createTool() with a zod schema from the JSON Schema", async () => {
    const agentTools = dinkToolsToAgentTools(tools(), { createTool, z });
    const read = agentTools.SensorService_ReadTemperature!;
    const zodSchema = read.inputSchema as z.ZodType;
    expect(zodSchema.safeParse({ sensorId: "t1" }).success).toBe(true);
    expect(zodSchema.safeParse({}).success).toBe(false);
    // The Agent gives each tool its action ctx before running it (its wrapTools sets `ctx`); so here.
    const bound = read as unknown as { ctx?: unknown; execute: (input: unknown, options: unknown) => Promise<unknown> };
    bound.ctx = {};
    const out = await bound.execute({ sensorId: "t2" }, { toolCallId: "c1", messages: [] });
    expect(out).toEqual({ celsius: 21.5 });
    expect(calls.at(-1)).toMatchObject({ payload: { sensorId: "t2", sandboxId: "sb" } });
  });
});
