/**
 * Base64 decoding without Node globals. Convex has no `Buffer`; newer runtimes (Convex included)
 * have `Uint8Array.fromBase64`, which is used when present. Otherwise a table-driven decoder.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

let table: Uint8Array | undefined;

function decodeTable(): Uint8Array {
  if (table !== undefined) return table;
  const t = new Uint8Array(256).fill(255);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  table = t;
  return t;
}

/** Decode standard base64 (padding optional, no whitespace) by hand. */
export function decodeBase64Portable(text: string): Uint8Array<ArrayBuffer> {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* '=' */) end--;
  if (end % 4 === 1 || text.length - end > 2) throw new Error("invalid base64 length");
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  const t = decodeTable();
  let o = 0;
  let i = 0;
  const sextet = (at: number): number => {
    const code = text.charCodeAt(at);
    const value = code < 256 ? (t[code] ?? 255) : 255;
    if (value === 255) throw new Error(`invalid base64 character at ${at}`);
    return value;
  };
  for (; i + 4 <= end; i += 4) {
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6) | sextet(i + 3);
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  const rest = end - i;
  if (rest === 2) {
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12);
    out[o++] = n >>> 16;
  } else if (rest === 3) {
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6);
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 0xff;
  }
  return out;
}

type FromBase64 = (text: string) => Uint8Array<ArrayBuffer>;

/** Decode base64, preferring the runtime's native `Uint8Array.fromBase64` when it exists. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const native = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;
  if (typeof native === "function") return native.call(Uint8Array, text);
  return decodeBase64Portable(text);
}
