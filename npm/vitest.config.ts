import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The Convex convention: edge-runtime is closest to the Convex JS runtime (no Node
    // globals). Files that need plain Node opt in with `// @vitest-environment node`.
    environment: "edge-runtime",
    include: ["src/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
    // 2-core machines shared with Rust builds: keep the pool small.
    maxWorkers: 2,
  },
});
