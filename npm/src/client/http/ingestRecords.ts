/**
 * What the HTTP ingest route tells the component after a batch: one metrics call with the
 * outcome counts and a dead letter per delta the sync function refused for a reason a resend
 * will not fix. Off the hot path (after the mutation, from the action) and best effort: the
 * edge's answer never depends on the control plane being installed or healthy.
 */
import type { GenericActionCtx, GenericDataModel } from "convex/server";
import { dinkComponent } from "../component.js";
import type { DeltaInput, DeltaResult } from "./protocol.js";

/** MISSING_DEPENDENCIES is the normal out-of-order case: the edge resends a diff. */
const ROUTINE_REJECTIONS = new Set(["MISSING_DEPENDENCIES"]);

/** Deltas above this are dead-lettered without their bytes (a component row is capped at 1 MiB). */
const MAX_LETTER_DELTA_BYTES = 512 * 1024;

export async function recordIngestOutcomes(
  ctx: GenericActionCtx<GenericDataModel>,
  inputs: readonly DeltaInput[],
  results: readonly DeltaResult[],
  componentName?: string,
): Promise<void> {
  const dink = dinkComponent(componentName);
  const counts = new Map<string, number>();
  const letters: Promise<unknown>[] = [];
  results.forEach((result, i) => {
    const name = `ingest.${result.status}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const input = inputs[i];
    const error = result.error;
    if (result.status !== "rejected" || error === undefined || input === undefined) return;
    if (ROUTINE_REJECTIONS.has(error.code)) return;
    const keepBytes = input.delta.byteLength <= MAX_LETTER_DELTA_BYTES;
    letters.push(
      ctx.runMutation(dink.deadLetters.record, {
        source: "ingest",
        eventId: input.opId,
        collection: input.collection,
        docId: input.docId,
        delta: keepBytes ? input.delta : new ArrayBuffer(0),
        edgeId: input.edgeId,
        reason: `${error.code}${error.field === undefined ? "" : ` (${error.field})`}: ${error.message}${keepBytes ? "" : " [delta not kept: too large]"}`,
        attempts: 1,
      }),
    );
  });
  try {
    await Promise.all([
      ...letters,
      ctx.runMutation(dink.metrics.increment, {
        counts: [...counts].map(([name, delta]) => ({ name, delta })),
      }),
    ]);
  } catch (error) {
    console.warn(`dink-convex: could not record ingest outcomes in the component: ${String(error)}`);
  }
}
