import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests run against the package's TypeScript sources, so several people can work on the package
// without rebuilding npm/dist between runs. The package's published entry points (`exports` ->
// dist) are exercised by the typecheck and by the Convex bundler check.
const src = (path: string) => fileURLToPath(new URL(`../npm/src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^dink-convex$/, replacement: src("client/index.ts") },
      { find: /^dink-convex\/(component|convex\.config)(\.js)?$/, replacement: src("component/convex.config.ts") },
      { find: /^dink-convex\/test$/, replacement: src("test.ts") },
      { find: /^dink-convex\/engine$/, replacement: src("engine/index.ts") },
      { find: /^dink-convex\/auth$/, replacement: src("client/auth/index.ts") },
      { find: /^dink-convex\/protocol$/, replacement: src("protocol.ts") },
      { find: /^dink-convex\/_generated\/component(\.js)?$/, replacement: src("component/_generated/component.ts") },
    ],
  },
  test: {
    environment: "edge-runtime",
    server: {
      deps: {
        inline: ["convex-test"],
        // tests/bundle.test.ts runs the Convex bundler's output as written: Node loads it, not Vite.
        external: [/\/dink-bundle-[^/]+\/bundle\//],
      },
    },
    include: ["tests/**/*.test.ts"],
    // Generous: several suites run real timers (outbox retries, interleaved feed writers), and a
    // loaded 2-core machine can stretch them well past the 5 s default.
    testTimeout: 30_000,
  },
});
