/**
 * Base64 for the wire: bytes (Yjs deltas, states, state vectors) travel as standard base64
 * (RFC 4648 §4, `+/`, padding optional on input, always written on output).
 *
 * Decoding reuses the engine's decoder (`../engine/base64.js`); this module adds the encoder and
 * the strict checks the wire needs. Convex has no `Buffer` and `btoa` on a binary string is
 * quadratic-ish for large inputs, so encoding is table-driven unless the runtime has the native
 * `Uint8Array.prototype.toBase64`.
 */
import { decodeBase64 } from "../../engine/base64.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Shape of valid standard base64: groups of four alphabet characters, then an optional tail of
 * 2 or 3 characters with optional padding. Checked before decoding because the native
 * `Uint8Array.fromBase64` silently skips whitespace, which a strict wire format must refuse.
 */
const SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** True when `text` is well-formed standard base64 (padding optional). */
export function isBase64(text: string): boolean {
  return SHAPE.test(text);
}

/**
 * The number of bytes `text` decodes to, computed from its length alone, so a size cap can be
 * enforced before any decoding work (or allocation) happens.
 */
export function base64DecodedLength(text: string): number {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* '=' */) end--;
  return Math.floor((end * 3) / 4);
}

/** Decode strict standard base64; throws `Error("invalid base64")` on anything else. */
export function decodeBase64Strict(text: string): Uint8Array<ArrayBuffer> {
  if (!isBase64(text)) throw new Error("invalid base64");
  return decodeBase64(text);
}

type ToBase64 = (this: Uint8Array) => string;

/** Encode bytes as padded standard base64. */
export function encodeBase64(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const native = (Uint8Array.prototype as unknown as { toBase64?: ToBase64 }).toBase64;
  if (typeof native === "function") return native.call(view);
  // Built in chunks of characters joined once: string concatenation per byte would allocate
  // a rope of millions of pieces for a 1 MiB state.
  const parts: string[] = [];
  const CHUNK = 3 * 4096;
  for (let start = 0; start < view.length; start += CHUNK) {
    const end = Math.min(start + CHUNK, view.length);
    let out = "";
    let i = start;
    for (; i + 2 < end; i += 3) {
      const n = (view[i]! << 16) | (view[i + 1]! << 8) | view[i + 2]!;
      out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
    }
    const rest = end - i;
    if (rest === 1) {
      const n = view[i]! << 16;
      out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + "==";
    } else if (rest === 2) {
      const n = (view[i]! << 16) | (view[i + 1]! << 8);
      out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + "=";
    }
    parts.push(out);
  }
  return parts.join("");
}

export { decodeBase64 };
