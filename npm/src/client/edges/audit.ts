/**
 * Kicks and revocations, with their reasons, in the component's audit log. Best effort: the
 * operation on the gateway already happened, and an app without the component still works.
 */
import type { GenericActionCtx, GenericDataModel } from "convex/server";
import { dinkComponent } from "../component.js";

export async function recordAudit(
  ctx: object,
  kind: "kick" | "revoke",
  subject: string,
  reason?: string,
): Promise<void> {
  const runMutation = (ctx as Partial<GenericActionCtx<GenericDataModel>>).runMutation;
  if (typeof runMutation !== "function") return;
  try {
    await runMutation(dinkComponent().audit.record, { kind, subject, ...(reason === undefined ? {} : { reason }) });
  } catch (error) {
    console.warn(`dink-convex: could not record the ${kind} of ${subject} in the audit log: ${String(error)}`);
  }
}
