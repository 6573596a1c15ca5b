// Small helpers around `dink-convex/engine` for the interop tests.

import { expect } from "vitest";
import * as engine from "dink-convex/engine";
import { EngineError } from "dink-convex/engine";
import type { Fields, Row } from "@dink-convex/testkit";

export { engine, EngineError };

/** Runs `fn`, expects an EngineError with `code`, and returns it. */
export function expectEngineError(fn: () => unknown, code: string): EngineError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected EngineError ${code}, nothing was thrown`).toBeDefined();
  expect(caught).toBeInstanceOf(EngineError);
  const err = caught as EngineError;
  expect(err.code, err.message).toBe(code);
  return err;
}

/** The engine's view of a stored state as a Row. */
export function engineRow(state: Uint8Array): Row {
  const m = engine.materialize(state);
  return { fields: m.fields as Fields, deleted: m.deleted };
}

/** Engine insert of a whole row (`change(null, null, fields)`); returns state and delta. */
export function engineInsert(fields: Fields, now = 1_000, clientId?: number) {
  const out = engine.change(null, null, fields, { now, ...(clientId === undefined ? {} : { clientId }) });
  expect(out.delta).not.toBeNull();
  return out as typeof out & { delta: Uint8Array };
}
