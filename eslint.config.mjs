// ESLint for the TypeScript and JavaScript of the package, the example app, the tests and the
// tools (run by `make test` through `npm run lint`). typescript-eslint's recommended rules, as the
// Convex components use them; generated files are skipped.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "target/**",
      "fuzz/**",
      "npm/src/wasm/**",
      "**/_generated/**",
      "npm/src/componentModules.ts",
      "bench/results/**",
      // The skill doc's code, kept verbatim (it uses `any`).
      "convex-example/tests/support/skillDocTriggers.ts",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        URL: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        performance: "readonly",
        crypto: "readonly",
        fetch: "readonly",
        Response: "readonly",
        Request: "readonly",
        Headers: "readonly",
        AbortController: "readonly",
        Buffer: "readonly",
        globalThis: "readonly",
        WebAssembly: "readonly",
        structuredClone: "readonly",
        queueMicrotask: "readonly",
        atob: "readonly",
        btoa: "readonly",
      },
    },
    rules: {
      // `_`-prefixed names are deliberately unused (destructuring to drop a key, callback slots).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
    },
  },
);
