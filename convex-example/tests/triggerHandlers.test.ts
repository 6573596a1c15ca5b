/**
 * createSyncTriggersWithHandlers (the skill doc's older form, its code verbatim in
 * support/skillDocTriggers.ts) behaves exactly as createSyncMutation: the same deltas, states,
 * feed entries and outbox items for the same writes, and one outbox drain scheduled per mutation.
 */
import { anyApi, type FunctionReference } from "convex/server";
import { convexTest } from "convex-test";
import { describe, expect, test } from "vitest";
import { register } from "dink-convex/test";
import schema from "../convex/schema";
import { fns, testModules, useSyncTestEnv } from "./support/app";
import { keysOf } from "./support/edge";

useSyncTestEnv();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const legacy = anyApi.functions as unknown as Record<string, FunctionReference<any, "public">>;

// Imported by a computed path so this project's stricter tsconfig (verbatimModuleSyntax) does not
// typecheck the verbatim doc code; tests/package/pack.test.ts typechecks it with Convex's own.
const SKILL_DOC_MODULE = "./support/skillDocTriggers";

function makeTest() {
  const t = convexTest(schema, {
    ...testModules,
    "../convex/functions.ts": () => import(/* @vite-ignore */ SKILL_DOC_MODULE),
  });
  register(t);
  return t;
}

async function syncState(t: ReturnType<typeof makeTest>) {
  return t.run(async (ctx) => ({
    documents: (await ctx.db.query("sync_documents").collect()).map((d) => ({
      docId: d.docId,
      version: d.version,
      deleted: d.deleted,
    })),
    deltas: (await ctx.db.query("sync_deltas").collect()).map((d) => ({
      docId: d.docId,
      version: d.version,
      origin: d.origin,
      keys: keysOf(d.delta),
    })),
    outbox: (await ctx.db.query("sync_outbox").collect()).map((o) => ({ docId: o.docId, version: o.version })),
    scheduled: (await ctx.db.system.query("_scheduled_functions").collect()).map((s) => s.name),
  }));
}

describe("createSyncTriggersWithHandlers", () => {
  test("the same writes give the same sync state as createSyncMutation", async () => {
    const viaTriggers = makeTest();
    const rowId = await viaTriggers.mutation(legacy.insertTask!, { id: "r1", title: "a" });
    await viaTriggers.mutation(legacy.renameTask!, { id: rowId, title: "b" });

    const viaWrapper = makeTest();
    const otherId = await viaWrapper.mutation(fns.insertTask!, { id: "r1", title: "a", completed: false });
    await viaWrapper.mutation(fns.patchTask!, { id: otherId, title: "b" });

    const a = await syncState(viaTriggers);
    const b = await syncState(viaWrapper);
    expect(a.documents).toEqual(b.documents);
    expect(a.deltas).toEqual(b.deltas);
    expect(a.outbox).toEqual(b.outbox);
    expect(a.deltas).toHaveLength(2);
    expect(a.deltas[0]!.keys.fields).toEqual(["completed", "id", "title"]);
    // One drain per mutation that queued something, scheduled by the seed's module name.
    expect(a.scheduled).toEqual([
      "outboxProcessor:scheduleOutboxProcessing",
      "outboxProcessor:scheduleOutboxProcessing",
    ]);
    expect(a.scheduled).toEqual(b.scheduled);
  });
});
