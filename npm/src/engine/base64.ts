/**
 * Base64 decoding without Node globals. Convex has no `Buffer`; newer runtimes (Convex included)
 * have `Uint8Array.fromBase64`, which is used when present. Otherwise a table-driven decoder.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const INVALID = 0xff;

let table: Uint8Array | undefined;

function decodeTable(): Uint8Array {
  if (table !== undefined) return table;
  const t = new Uint8Array(256).fill(INVALID);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  table = t;
  return t;
}

/**
 * Decode standard base64 (padding optional, no whitespace) by hand.
 *
 * The text is first turned into bytes with the native TextEncoder (any non-ASCII character
 * becomes bytes >= 0x80, which the table rejects), so the hot loop reads a Uint8Array
 * instead of calling charCodeAt: about 1.5x faster on a cold start, where this runs once over
 * ~1 MB of text before the JIT has warmed up.
 */
export function decodeBase64Portable(text: string): Uint8Array<ArrayBuffer> {
  const src = new TextEncoder().encode(text);
  let end = src.length;
  while (end > 0 && src[end - 1] === 61 /* '=' */) end--;
  if (end % 4 === 1 || src.length - end > 2) throw new Error("invalid base64 length");
  const t = decodeTable();
  const out = new Uint8Array((end * 3) >>> 2);
  const full = end - (end % 4);
  let o = 0;
  let seen = 0; // OR of every sextet: bit 7 set means some character was not in the alphabet
  for (let i = 0; i < full; i += 4) {
    const a = t[src[i]!]!;
    const b = t[src[i + 1]!]!;
    const c = t[src[i + 2]!]!;
    const d = t[src[i + 3]!]!;
    seen |= a | b | c | d;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  const rest = end - full;
  if (rest >= 2) {
    const a = t[src[full]!]!;
    const b = t[src[full + 1]!]!;
    const c = rest === 3 ? t[src[full + 2]!]! : 0;
    seen |= a | b | c;
    const n = (a << 18) | (b << 12) | (c << 6);
    out[o++] = n >>> 16;
    if (rest === 3) out[o++] = (n >>> 8) & 0xff;
  }
  if (seen & 0x80) throw new Error("invalid base64 character");
  return out;
}

type FromBase64 = (text: string) => Uint8Array<ArrayBuffer>;

/** Decode base64, preferring the runtime's native `Uint8Array.fromBase64` when it exists. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const native = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;
  if (typeof native === "function") return native.call(Uint8Array, text);
  return decodeBase64Portable(text);
}
