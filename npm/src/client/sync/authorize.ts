/**
 * Access check of every public function `createSyncMutations` makes. They are public (dinkd
 * reaches them through the HTTP router), so each one proves its caller first: either the sync key
 * passed as `syncKey` (compared in constant time with DINK_APP_SYNC_KEY), or, without a key, the
 * app's own `authorize` hook. With neither, the call is refused before any read or write.
 */
import type { GenericDataModel, GenericMutationCtx, GenericQueryCtx } from "convex/server";
import { ConvexError } from "convex/values";
import { checkSyncKey } from "../auth/syncKey.js";

/** Names of the functions the hook can be asked about. */
export type SyncFunctionName = "applyDeltaFromEdge" | "getDocumentState" | "listDocuments" | "listDocumentsPaginated";

/**
 * The app's own access rule, for callers that hold no sync key (e.g. a signed-in user allowed to
 * read sync state). `args` are the call's arguments without `syncKey`. Return true to allow.
 */
export type SyncAuthorize<DataModel extends GenericDataModel = GenericDataModel> = (
  ctx: GenericQueryCtx<DataModel> | GenericMutationCtx<DataModel>,
  request: { fn: SyncFunctionName; args: Record<string, unknown> },
) => boolean | Promise<boolean>;

/** The structured error thrown when access is refused (`error.data`). */
export type SyncAccessErrorData = {
  code: "UNAUTHORIZED" | "NOT_CONFIGURED";
  message: string;
};

function refuse(code: SyncAccessErrorData["code"], message: string): never {
  throw new ConvexError<SyncAccessErrorData>({ code, message });
}

/**
 * Allow the call or throw `ConvexError<SyncAccessErrorData>`. A presented key decides alone (a
 * wrong key is refused even when a hook exists, so a leaked-key probe cannot fall through to a
 * laxer rule); without a key the hook decides; with neither the call is refused, with the seed's
 * message when the deployment has no key configured.
 */
export async function authorizeSyncCall<DataModel extends GenericDataModel>(
  ctx: GenericQueryCtx<DataModel> | GenericMutationCtx<DataModel>,
  fn: SyncFunctionName,
  args: { syncKey?: string | undefined } & Record<string, unknown>,
  authorize: SyncAuthorize<DataModel> | undefined,
): Promise<void> {
  const { syncKey, ...rest } = args;
  if (syncKey !== undefined || authorize === undefined) {
    const check = checkSyncKey(syncKey);
    if (check.ok) return;
    refuse(check.reason, check.message);
  }
  if ((await authorize(ctx, { fn, args: rest })) !== true) {
    refuse("UNAUTHORIZED", `not authorized to call ${fn}`);
  }
}
