import { makeFunctionReference, type FunctionReference } from "convex/server";
import { describe, expect, it } from "vitest";
import { OutboxModuleError, scheduleDrain } from "./schedule.js";

const ref = makeFunctionReference<"mutation">(
  "outboxProcessor:scheduleOutboxProcessing",
) as unknown as FunctionReference<"mutation", "internal">;
const schedulerThrowing = (message: string) => ({
  scheduler: {
    runAfter: async () => {
      throw new Error(message);
    },
  } as never,
});

describe("scheduleDrain", () => {
  it("schedules the reference now", async () => {
    const calls: unknown[][] = [];
    await scheduleDrain({ scheduler: { runAfter: async (...args: unknown[]) => void calls.push(args) } as never }, ref);
    expect(calls).toEqual([[0, ref, {}]]);
  });

  it.each([
    "Attempted to schedule function at nonexistent path: outboxProcessor",
    "Attempted to schedule function, but no exported function scheduleOutboxProcessing found in the file: outboxProcessor.js. Did you forget to export it?",
  ])("turns Convex's %j into an error naming the module and the fix", async (message) => {
    const error = await scheduleDrain(schedulerThrowing(message), ref).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboxModuleError);
    expect(String((error as Error).message)).toContain("convex/outboxProcessor.ts");
    expect(String((error as Error).message)).toContain(message);
  });

  it("passes other scheduler errors through unchanged", async () => {
    const error = await scheduleDrain(schedulerThrowing("Too many functions scheduled"), ref).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(OutboxModuleError);
    expect((error as Error).message).toBe("Too many functions scheduled");
  });
});
