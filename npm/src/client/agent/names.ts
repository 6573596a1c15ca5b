/** Tool key formats: `original` (`Service_Method`), `snake_case`, `camelCase` (skill doc table). */
export type ToolNameFormat = "original" | "snake_case" | "camelCase";

/** Words of a PascalCase, camelCase or snake_case name: "ReadTemperature" -> ["read", "temperature"]. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_\-.]+/)
    .filter((w) => w !== "")
    .map((w) => w.toLowerCase());
}

function camel(name: string): string {
  return words(name)
    .map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1)))
    .join("");
}

/** The key a method's tool gets. */
export function toolName(service: string, method: string, format: ToolNameFormat): string {
  switch (format) {
    case "original":
      return `${service}_${method}`;
    case "snake_case":
      return [...words(service), ...words(method)].join("_");
    case "camelCase":
      return `${camel(service)}_${camel(method)}`;
  }
}
