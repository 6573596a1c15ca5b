/**
 * The package as a user gets it: `npm pack`, the tarball unpacked into a fresh app made from the
 * example's `convex/*.ts` (the seed's seven files and tasks.ts) with `_generated/` in exactly the
 * shape `npx convex dev` writes (scripts/codegen.mjs, from the Convex CLI's own templates), and
 * `tsc` run with Convex's template `convex/tsconfig.json` and on a React file using
 * `useQuery(api.tasks.list)`. Also: what the tarball holds, plain-Node imports (no Vite), and
 * `moduleResolution: node10`.
 *
 * Needs the built package (npm/dist, `make build`). Dependencies of the fresh app are linked from
 * the workspace's node_modules, so the test needs no network.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const work = mkdtempSync(join(tmpdir(), "dink-pack-"));
const app = join(work, "app");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

interface PackedFile {
  path: string;
  size: number;
}
let packed: PackedFile[] = [];

/** Convex's template tsconfig for `convex/` (cli/codegen_templates/tsconfig.js). */
const CONVEX_TSCONFIG = {
  compilerOptions: {
    allowJs: true,
    strict: true,
    moduleResolution: "Bundler",
    jsx: "react-jsx",
    skipLibCheck: true,
    allowSyntheticDefaultImports: true,
    target: "ESNext",
    lib: ["ES2023", "dom"],
    forceConsistentCasingInFileNames: true,
    module: "ESNext",
    isolatedModules: true,
    noEmit: true,
  },
  include: ["./**/*"],
  exclude: ["./_generated"],
};

/** The seed README's React component, plus a type-level check that `api` is not `any`. */
const TASK_LIST = `import { useMutation, useQuery } from "convex/react";
import { api } from "../convex/_generated/api";

type IsAny<T> = 0 extends 1 & T ? true : false;
// Each line fails to compile if the type on the left is \`any\`.
export const apiIsTyped: IsAny<typeof api> = false;
export const createIsTyped: IsAny<typeof api.tasks.create> = false;
export const listIsTyped: IsAny<typeof api.tasks.list> = false;

export function TaskList() {
  const tasks = useQuery(api.tasks.list);
  const createTask = useMutation(api.tasks.create);
  const toggleTask = useMutation(api.tasks.toggle);
  void createTask;
  return (
    <div>
      {tasks?.map((task) => (
        <div key={task._id} onClick={() => toggleTask({ id: task._id })}>
          {task.completed ? "✓" : "○"} {task.title}
        </div>
      ))}
    </div>
  );
}
`;

function link(name: string): void {
  const target = join(app, "node_modules", name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(root, "node_modules", name), target, "dir");
}

function runTsc(project: string): { status: number; output: string } {
  const result = spawnSync(process.execPath, [tsc, "-p", project], { cwd: app, encoding: "utf8" });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

beforeAll(async () => {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: join(root, "npm"),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const info = JSON.parse(out.slice(out.indexOf("["))) as Array<{ filename: string; files: PackedFile[] }>;
  const first = info[0];
  if (first === undefined) throw new Error(`npm pack printed no result: ${out}`);
  packed = first.files;

  mkdirSync(join(app, "node_modules", "dink-convex"), { recursive: true });
  execFileSync("tar", [
    "-xzf",
    join(work, first.filename),
    "-C",
    join(app, "node_modules", "dink-convex"),
    "--strip-components=1",
  ]);
  for (const dep of ["convex", "convex-helpers", "react", "@types/react", "yjs"]) link(dep);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true, type: "module" }));

  // The example's convex/ files (the seed's seven and tasks.ts), not its _generated/.
  const example = join(root, "convex-example", "convex");
  mkdirSync(join(app, "convex", "_generated"), { recursive: true });
  for (const name of readdirSync(example)) {
    if (name.endsWith(".ts")) cpSync(join(example, name), join(app, "convex", name));
  }
  // The skill doc's trigger-handlers file (convex-example/tests/support/skillDocTriggers.ts) as
  // convex/functions.ts, where the doc puts it.
  const skillDoc = readFileSync(join(root, "convex-example", "tests", "support", "skillDocTriggers.ts"), "utf8");
  writeFileSync(
    join(app, "convex", "functions.ts"),
    skillDoc.replace("../../convex/_generated/server", "./_generated/server"),
  );
  const codegen = (await import(join(root, "scripts", "codegen.mjs"))) as {
    appFiles: (dir: string) => Promise<Record<string, string>>;
  };
  for (const [name, text] of Object.entries(await codegen.appFiles(join(app, "convex")))) {
    writeFileSync(join(app, "convex", "_generated", name), text);
  }
  writeFileSync(join(app, "convex", "tsconfig.json"), JSON.stringify(CONVEX_TSCONFIG, null, 2));
  mkdirSync(join(app, "src"));
  writeFileSync(join(app, "src", "TaskList.tsx"), TASK_LIST);
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { ...CONVEX_TSCONFIG.compilerOptions }, include: ["src"] }, null, 2),
  );
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the tarball", () => {
  test("holds README, LICENSE and dist/ only: one wasm payload, no sources, tests or maps", () => {
    const paths = packed.map((f) => f.path);
    expect(paths).toContain("README.md");
    expect(paths).toContain("LICENSE");
    expect(paths).toContain("package.json");
    expect(paths.filter((p) => !p.startsWith("dist/")).sort()).toEqual(["LICENSE", "README.md", "package.json"]);
    // The embedded engine: one base64 module, far larger than anything else.
    const big = packed.filter((f) => f.size > 200_000).map((f) => f.path);
    expect(big).toEqual(["dist/wasm/wasmBytes.js"]);
    expect(paths.filter((p) => /\.test\.|test-support|\.map$|\.wasm$/.test(p))).toEqual([]);
    expect(readFileSync(join(app, "node_modules", "dink-convex", "LICENSE"), "utf8")).toContain("Apache License");
  });
});

describe("a fresh app with the seed's files and real-shape codegen", () => {
  test("the generated api.d.ts lists every module, http and crons included", () => {
    const api = readFileSync(join(app, "convex", "_generated", "api.d.ts"), "utf8");
    for (const module of ["crons", "functions", "http", "outboxProcessor", "sync", "syncSetup", "tasks"]) {
      expect(api).toContain(`import type * as ${module} from "../${module}.js";`);
    }
  });

  test("convex/ typechecks under Convex's template tsconfig", () => {
    const { status, output } = runTsc("convex/tsconfig.json");
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  test("a React file using useQuery(api.tasks.list) typechecks and api is not any", () => {
    const { status, output } = runTsc("tsconfig.json");
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  test("the one-line `export default createSyncHttpRouter(...)` is circular in TypeScript (why http.ts takes two lines)", () => {
    const http = join(app, "convex", "http.ts");
    const original = readFileSync(http, "utf8");
    writeFileSync(
      http,
      'import { createSyncHttpRouter } from "dink-convex";\nimport { httpAction } from "./_generated/server";\nimport { api } from "./_generated/api";\nexport default createSyncHttpRouter({ httpAction, api });\n',
    );
    try {
      const { status, output } = runTsc("convex/tsconfig.json");
      expect(status).not.toBe(0);
      expect(output).toContain("error TS7022");
    } finally {
      writeFileSync(http, original);
    }
  });

  test("a renamed outbox module is a type error where `internal` is passed", () => {
    const from = join(app, "convex", "outboxProcessor.ts");
    const to = join(app, "convex", "dinkOutbox.ts");
    const apiFile = join(app, "convex", "_generated", "api.d.ts");
    const api = readFileSync(apiFile, "utf8");
    cpSync(from, to);
    rmSync(from);
    writeFileSync(apiFile, api.replaceAll("outboxProcessor", "dinkOutbox"));
    try {
      const { status, output } = runTsc("convex/tsconfig.json");
      expect(status).not.toBe(0);
      expect(output).toMatch(/crons\.ts\(\d+,\d+\): error TS2322/);
    } finally {
      cpSync(to, from);
      rmSync(to);
      writeFileSync(apiFile, api);
    }
  });

  test("typechecks against the untyped stub `npx convex dev --once` writes before a deployment", () => {
    const apiFile = join(app, "convex", "_generated", "api.d.ts");
    const api = readFileSync(apiFile, "utf8");
    // componentApiStubDTS in the Convex CLI's codegen templates.
    writeFileSync(
      apiFile,
      'import type { AnyApi, AnyComponents } from "convex/server";\nexport declare const api: AnyApi;\nexport declare const internal: AnyApi;\nexport declare const components: AnyComponents;\n',
    );
    try {
      const { output } = runTsc("convex/tsconfig.json");
      expect(output).not.toContain("TS2741");
      expect(output).not.toMatch(/(http|crons|outboxProcessor|syncSetup|sync)\.ts/);
    } finally {
      writeFileSync(apiFile, api);
    }
  });

  test("plain Node imports every entry point (no Vite, no TypeScript loader)", () => {
    const script = [
      'const root = await import("dink-convex");',
      'const test = await import("dink-convex/test");',
      'const protocol = await import("dink-convex/protocol");',
      'const engine = await import("dink-convex/engine");',
      'const component = await import("dink-convex/component");',
      'const auth = await import("dink-convex/auth");',
      "console.log(JSON.stringify({",
      "  root: typeof root.createSyncMutations, register: typeof test.register,",
      "  modules: Object.keys(test.modules).length, parse: typeof protocol.parseApplyDeltaRequest,",
      "  ingest: typeof engine.ingest, rootIngest: typeof root.ingest, component: typeof component.default,",
      "  verify: typeof auth.verifyDinkToken,",
      "}));",
    ].join("\n");
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: app, encoding: "utf8" });
    const seen = JSON.parse(out) as Record<string, unknown>;
    expect(seen).toMatchObject({
      root: "function",
      register: "function",
      parse: "function",
      ingest: "function",
      rootIngest: "undefined",
      component: "object",
      verify: "function",
    });
    expect(seen.modules).toBeGreaterThan(4);
  });

  test("subpaths resolve with moduleResolution node10 (typesVersions)", () => {
    writeFileSync(
      join(app, "node10.ts"),
      [
        'import dink from "dink-convex/component";',
        'import { createSyncMutations } from "dink-convex";',
        'import { parseApplyDeltaRequest } from "dink-convex/protocol";',
        'import { ingest } from "dink-convex/engine";',
        'import { register } from "dink-convex/test";',
        'import { verifyDinkToken } from "dink-convex/auth";',
        "export const all = [dink, createSyncMutations, parseApplyDeltaRequest, ingest, register, verifyDinkToken];",
      ].join("\n"),
    );
    writeFileSync(
      join(app, "tsconfig.node10.json"),
      JSON.stringify({
        compilerOptions: {
          module: "commonjs",
          moduleResolution: "node10",
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          target: "ES2022",
          lib: ["ES2023", "dom"],
        },
        files: ["node10.ts"],
      }),
    );
    const { status, output } = runTsc("tsconfig.node10.json");
    expect(output).toBe("");
    expect(status).toBe(0);
  });
});
