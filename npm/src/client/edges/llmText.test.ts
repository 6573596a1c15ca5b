import { describe, expect, it } from "vitest";
import { renderLLMText } from "./llmText.js";
import { serviceDescriptorOf } from "./wire.js";

describe("renderLLMText", () => {
  it("renders only the sections that have content, schemas with sorted keys", () => {
    const descriptor = serviceDescriptorOf(
      {
        name: "SensorService",
        version: "1.0.0",
        description: "Reads sensors.",
        ai_context: { overview: "Use for readings.", capabilities: ["read"], related_services: ["Ignored"] },
        methods: [
          {
            name: "ReadSensor",
            description: "Reads one sensor.",
            input_schema: { type: "object", properties: { sensorId: { type: "string" } }, $schema: "x" },
            ai_context: { when_to_use: "For one value.", tool_group: "read", inject_fields: ["tenant"] },
            tags: ["t"],
          },
          { name: "Bare" },
        ],
        related_services: ["ClockService"],
      },
      "d",
    );
    expect(renderLLMText(descriptor)).toBe(
      [
        "# SensorService LLM Reference",
        "> Reads sensors.",
        "## When to Use This Service",
        "Use for readings.",
        "## Capabilities",
        "- read",
        "## Methods",
        "### ReadSensor",
        "Reads one sensor.",
        "**When to use:** For one value.",
        "**Tool Group:** read",
        "#### Request Schema",
        '```json\n{\n  "$schema": "x",\n  "properties": {\n    "sensorId": {\n      "type": "string"\n    }\n  },\n  "type": "object"\n}\n```',
        "### Bare",
        "## Related Services",
        "- ClockService",
      ].join("\n\n") + "\n",
    );
  });

  it("reads descriptors in both casings to the same result", () => {
    const snake = serviceDescriptorOf(
      { name: "S", version: "1", methods: [{ name: "M", ai_context: { when_to_use: "w", inject_fields: ["a"] } }] },
      "d",
    );
    const camel = serviceDescriptorOf(
      { name: "S", version: "1", methods: [{ name: "M", aiContext: { whenToUse: "w", injectFields: ["a"] } }] },
      "d",
    );
    expect(camel).toEqual(snake);
  });
});
