/**
 * llm.txt from a ServiceDescriptor, in the layout the dink CLI renders (`services describe
 * --llm-txt`, dink-protocol §9): sections only when their source is non-empty, schemas
 * pretty-printed with sorted keys, `version`, `tags`, `inject_fields` and the AI context's own
 * related services not printed.
 */
import type { JsonValue, MethodDescriptor, ServiceDescriptor } from "./validators.js";

/** JSON with object keys sorted at every level, 2-space indent. */
function sortedJson(value: JsonValue): string {
  const sort = (v: JsonValue): JsonValue => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort(v[k]!)]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2);
}

const bullets = (items: readonly string[] | undefined): string | null =>
  items === undefined || items.length === 0 ? null : items.map((i) => `- ${i}`).join("\n");

function methodBlocks(m: MethodDescriptor): string[] {
  const ai = m.aiContext ?? {};
  const blocks: Array<string | null> = [`### ${m.name}`];
  if (m.description) blocks.push(m.description);
  if (ai.whenToUse) blocks.push(`**When to use:** ${ai.whenToUse}`);
  if (ai.whyToUse) blocks.push(`**Why:** ${ai.whyToUse}`);
  if (ai.howToUse) blocks.push(`**How:** ${ai.howToUse}`);
  const pre = bullets(ai.preconditions);
  if (pre !== null) blocks.push("**Preconditions:**", pre);
  const side = bullets(ai.sideEffects);
  if (side !== null) blocks.push("**Side Effects:**", side);
  if (ai.relatedMethods !== undefined && ai.relatedMethods.length > 0) {
    blocks.push(`**Related Methods:** ${ai.relatedMethods.join(", ")}`);
  }
  if (ai.toolGroup) blocks.push(`**Tool Group:** ${ai.toolGroup}`);
  if (m.inputSchema !== undefined)
    blocks.push("#### Request Schema", "```json\n" + sortedJson(m.inputSchema) + "\n```");
  if (m.outputSchema !== undefined)
    blocks.push("#### Response Schema", "```json\n" + sortedJson(m.outputSchema) + "\n```");
  const scenarios = bullets(ai.scenarios);
  if (scenarios !== null) blocks.push("**Scenarios:**", scenarios);
  return blocks.filter((b): b is string => b !== null);
}

/** One service's llm.txt. */
export function renderLLMText(descriptor: ServiceDescriptor): string {
  const ai = descriptor.aiContext ?? {};
  const blocks: string[] = [`# ${descriptor.name} LLM Reference`];
  if (descriptor.description) blocks.push(`> ${descriptor.description}`);
  if (ai.overview) blocks.push("## When to Use This Service", ai.overview);
  const capabilities = bullets(ai.capabilities);
  if (capabilities !== null) blocks.push("## Capabilities", capabilities);
  const limitations = bullets(ai.limitations);
  if (limitations !== null) blocks.push("## Limitations", limitations);
  if (descriptor.methods !== undefined && descriptor.methods.length > 0) {
    blocks.push("## Methods");
    for (const method of descriptor.methods) blocks.push(...methodBlocks(method));
  }
  const related = bullets(descriptor.relatedServices);
  if (related !== null) blocks.push("## Related Services", related);
  return `${blocks.join("\n\n")}\n`;
}
