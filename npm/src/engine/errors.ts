/**
 * Typed engine errors. Every failure the engine reports carries one of these codes, so callers
 * can answer an edge device with a structured rejection instead of a stack trace.
 */

/** Error codes of the wasm boundary (docs/wasm-boundary.md), plus INTERNAL for wrapper faults. */
export type EngineErrorCode =
  | "INVALID_DELTA"
  | "TOO_LARGE"
  | "MISSING_DEPENDENCIES"
  | "VALIDATION_ERROR"
  | "INVALID_ARGUMENT"
  /** A trap inside the engine (Rust panic/abort), a malformed result frame, or a load failure. */
  | "INTERNAL";

export const ENGINE_ERROR_CODES: readonly EngineErrorCode[] = [
  "INVALID_DELTA",
  "TOO_LARGE",
  "MISSING_DEPENDENCIES",
  "VALIDATION_ERROR",
  "INVALID_ARGUMENT",
  "INTERNAL",
];

export interface EngineErrorDetails {
  /** Field path for validation and limit errors. */
  field?: string;
  /** The server's state vector (MISSING_DEPENDENCIES), so the sender can resend a full diff. */
  stateVector?: Uint8Array;
  /** The underlying error, when the failure came from the JavaScript side. */
  cause?: unknown;
}

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly field?: string;
  readonly stateVector?: Uint8Array;

  constructor(code: EngineErrorCode, message: string, details: EngineErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "EngineError";
    this.code = code;
    if (details.field !== undefined) this.field = details.field;
    if (details.stateVector !== undefined) this.stateVector = details.stateVector;
  }
}

export function isEngineErrorCode(value: string): value is EngineErrorCode {
  return (ENGINE_ERROR_CODES as readonly string[]).includes(value);
}

/** True when `error` is an {@link EngineError}, optionally with the given code. */
export function isEngineError(error: unknown, code?: EngineErrorCode): error is EngineError {
  return error instanceof EngineError && (code === undefined || error.code === code);
}
