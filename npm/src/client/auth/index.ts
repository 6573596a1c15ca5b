/** `dink-convex/auth`: bridge tokens for Convex functions edges call. */
export {
  canonicalTokenPayload,
  DEFAULT_TOKEN_TTL_SECONDS,
  DINK_BRIDGE_SECRET,
  dinkTokenValidator,
  DinkTokenError,
  extractAndVerifyDink,
  MAX_TOKEN_LIFETIME_SECONDS,
  signDinkToken,
  verifyDinkToken,
  type DinkIdentity,
  type DinkToken,
} from "./dinkToken.js";
