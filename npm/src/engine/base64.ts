/**
 * Base64 decoding without Node globals, for the engine's embedded WebAssembly module (~1 MB of
 * base64 text, decoded once per JavaScript realm; Convex creates a fresh realm for every query
 * and mutation, so this runs on every call that touches the engine).
 *
 * In order of preference:
 * - the runtime's native `Uint8Array.fromBase64` (V8 >= 14; not in Node 20);
 * - a 930-byte WebAssembly decoder (`base64-decoder.wat`), embedded below as a plain number
 *   array: `TextEncoder.encodeInto` writes the text into its memory 64 KiB at a time, it
 *   decodes each chunk in place (SIMD), and the bytes are copied out. Unlike a JS loop, its
 *   machine code does not depend on warm-up in the realm: a JS decoder starts cold
 *   (interpreted) in every fresh context, while V8 compiles the wasm one once and shares it for
 *   as long as any realm holds it (docs/wasm-boundary.md, "Start-up");
 * - a table-driven JS decoder, for short input or a runtime without WebAssembly.
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

/**
 * The bytes of `base64-decoder.wat` (`wasm-as --enable-bulk-memory --enable-simd`; base64.test.ts rebuilds and
 * compares them). A number array needs no decoding and is a few hundred bytes of source.
 */
export const DECODER_WASM: readonly number[] = [
  0, 97, 115, 109, 1, 0, 0, 0, 1, 11, 2, 96, 0, 0, 96, 3, 127, 127, 127, 1, 127, 2, 8, 1, 1, 101, 1, 109, 2, 0, 1, 3, 3,
  2, 0, 1, 7, 9, 2, 1, 105, 0, 0, 1, 100, 0, 1, 12, 1, 1, 10, 164, 6, 2, 108, 1, 2, 127, 65, 0, 65, 128, 1, 65, 128, 32,
  252, 11, 0, 3, 64, 32, 0, 45, 0, 128, 32, 65, 2, 116, 33, 1, 32, 1, 32, 0, 65, 2, 116, 54, 2, 0, 32, 1, 32, 0, 65, 4,
  118, 32, 0, 65, 15, 113, 65, 12, 116, 114, 54, 2, 128, 8, 32, 1, 32, 0, 65, 2, 118, 65, 8, 116, 32, 0, 65, 3, 113, 65,
  22, 116, 114, 54, 2, 128, 16, 32, 1, 32, 0, 65, 16, 116, 54, 2, 128, 24, 32, 0, 65, 1, 106, 33, 0, 32, 0, 65, 192, 0,
  73, 13, 0, 11, 11, 180, 5, 3, 6, 127, 1, 126, 4, 123, 32, 0, 32, 1, 65, 112, 113, 106, 33, 3, 2, 64, 32, 0, 32, 3, 79,
  13, 0, 3, 64, 32, 0, 253, 0, 4, 0, 33, 10, 32, 10, 65, 4, 253, 109, 33, 11, 32, 12, 253, 12, 21, 17, 17, 17, 17, 17,
  17, 17, 17, 17, 19, 26, 27, 27, 27, 26, 32, 10, 253, 12, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
  15, 253, 78, 253, 14, 253, 12, 16, 16, 1, 2, 4, 8, 4, 8, 16, 16, 16, 16, 16, 16, 16, 16, 32, 11, 253, 14, 253, 78,
  253, 80, 33, 12, 32, 10, 253, 12, 0, 16, 19, 4, 191, 191, 185, 185, 0, 0, 0, 0, 0, 0, 0, 0, 32, 11, 32, 10, 253, 12,
  47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 253, 35, 253, 110, 253, 14, 253, 110, 33, 13, 32, 13,
  65, 6, 253, 139, 1, 253, 12, 192, 15, 192, 15, 192, 15, 192, 15, 192, 15, 192, 15, 192, 15, 192, 15, 253, 78, 32, 13,
  65, 8, 253, 141, 1, 253, 80, 253, 12, 0, 16, 1, 0, 0, 16, 1, 0, 0, 16, 1, 0, 0, 16, 1, 0, 253, 186, 1, 33, 13, 32, 2,
  32, 13, 253, 12, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, 255, 255, 255, 255, 253, 14, 253, 11, 4, 0, 32, 2, 65, 12,
  106, 33, 2, 32, 0, 65, 16, 106, 33, 0, 32, 0, 32, 3, 73, 13, 0, 11, 11, 32, 12, 253, 83, 4, 64, 65, 127, 33, 7, 11,
  32, 1, 65, 15, 113, 33, 1, 32, 1, 65, 3, 113, 33, 8, 32, 0, 32, 1, 65, 120, 113, 106, 33, 3, 2, 64, 32, 0, 32, 3, 79,
  13, 0, 3, 64, 32, 0, 41, 3, 0, 33, 9, 32, 9, 167, 33, 4, 32, 4, 65, 2, 116, 65, 252, 7, 113, 40, 2, 0, 32, 4, 65, 6,
  118, 65, 252, 7, 113, 40, 2, 128, 8, 114, 32, 4, 65, 14, 118, 65, 252, 7, 113, 40, 2, 128, 16, 32, 4, 65, 22, 118, 65,
  252, 7, 113, 40, 2, 128, 24, 114, 114, 33, 5, 32, 9, 66, 32, 136, 167, 33, 4, 32, 4, 65, 2, 116, 65, 252, 7, 113, 40,
  2, 0, 32, 4, 65, 6, 118, 65, 252, 7, 113, 40, 2, 128, 8, 114, 32, 4, 65, 14, 118, 65, 252, 7, 113, 40, 2, 128, 16, 32,
  4, 65, 22, 118, 65, 252, 7, 113, 40, 2, 128, 24, 114, 114, 33, 6, 32, 7, 32, 5, 32, 6, 114, 114, 33, 7, 32, 2, 32, 5,
  54, 2, 0, 32, 2, 32, 6, 54, 2, 3, 32, 2, 65, 6, 106, 33, 2, 32, 0, 65, 8, 106, 33, 0, 32, 0, 32, 3, 73, 13, 0, 11, 11,
  32, 1, 65, 4, 113, 4, 64, 32, 0, 40, 2, 0, 33, 4, 32, 4, 65, 2, 116, 65, 252, 7, 113, 40, 2, 0, 32, 4, 65, 6, 118, 65,
  252, 7, 113, 40, 2, 128, 8, 114, 32, 4, 65, 14, 118, 65, 252, 7, 113, 40, 2, 128, 16, 32, 4, 65, 22, 118, 65, 252, 7,
  113, 40, 2, 128, 24, 114, 114, 33, 5, 32, 7, 32, 5, 114, 33, 7, 32, 2, 32, 5, 54, 2, 0, 32, 2, 65, 3, 106, 33, 2, 32,
  0, 65, 4, 106, 33, 0, 11, 32, 8, 65, 2, 79, 4, 64, 32, 0, 45, 0, 0, 65, 2, 116, 40, 2, 0, 32, 0, 45, 0, 1, 65, 2, 116,
  40, 2, 128, 8, 114, 32, 0, 45, 0, 2, 65, 2, 116, 40, 2, 128, 16, 65, 0, 32, 8, 65, 3, 70, 27, 114, 33, 5, 32, 7, 32,
  5, 114, 33, 7, 32, 2, 32, 5, 58, 0, 0, 32, 8, 65, 3, 70, 4, 64, 32, 2, 32, 5, 65, 8, 118, 58, 0, 1, 11, 11, 32, 7, 11,
  11, 71, 1, 0, 65, 128, 32, 11, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85,
  86, 87, 88, 89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116,
  117, 118, 119, 120, 121, 122, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 43, 47,
];

/** Where the text goes in the decoder's memory (after its tables and alphabet). */
const TEXT_AT = 4160;
/**
 * Characters per chunk (a multiple of 16). The text goes through a window this size and each
 * chunk is decoded in place and copied out: a fresh WebAssembly memory is zero pages the OS
 * fills on first touch, and writing ~1 MB into one cost more than the decoding itself (see
 * docs/wasm-boundary.md, "Start-up").
 */
const WINDOW = 65536;
const PAGE = 65536;

let decoder: WebAssembly.Module | undefined;

interface DecoderExports {
  /** Build the tables. */
  i(): void;
  /** Decode n characters at src to dst (may equal src); negative if one is outside the alphabet. */
  d(src: number, n: number, dst: number): number;
}

/**
 * Decode standard base64 (padding optional, no whitespace) with the WebAssembly decoder. Throws
 * like {@link decodeBase64Portable} on invalid input, and whatever `WebAssembly` throws if it is
 * unavailable.
 */
export function decodeBase64Wasm(text: string): Uint8Array<ArrayBuffer> {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* '=' */) end--;
  if (end % 4 === 1 || text.length - end > 2) throw new Error("invalid base64 length");
  decoder ??= new WebAssembly.Module(new Uint8Array(DECODER_WASM));
  const memory = new WebAssembly.Memory({ initial: Math.ceil((TEXT_AT + WINDOW + 16) / PAGE) });
  const exports = new WebAssembly.Instance(decoder, { e: { m: memory } }).exports as unknown as DecoderExports;
  exports.i();
  const window = new Uint8Array(memory.buffer, TEXT_AT, WINDOW);
  const encoder = new TextEncoder();
  const out = new Uint8Array((end * 3) >>> 2);
  let seen = 0;
  for (let at = 0; at < end; at += WINDOW) {
    const n = Math.min(WINDOW, end - at);
    // `encodeInto` writes the characters' UTF-8: all ASCII iff n characters took n bytes.
    const { read, written } = encoder.encodeInto(text.substring(at, at + n), window);
    if (read !== n || written !== n) throw new Error("invalid base64 character");
    seen |= exports.d(TEXT_AT, n, TEXT_AT);
    out.set(window.subarray(0, (n * 3) >>> 2), (at >>> 2) * 3);
  }
  if (seen < 0) throw new Error("invalid base64 character");
  return out;
}

/**
 * Below this many characters the JS decoder is used: the wasm decoder's set-up (module, memory,
 * tables) takes about 0.2 ms in a fresh realm, what the cold JS loop needs for ~20,000
 * characters (it took ~10 ms for the engine's ~1 MB).
 */
const WASM_MIN_LENGTH = 16384;

type FromBase64 = (text: string) => Uint8Array<ArrayBuffer>;

/**
 * Decode base64: the runtime's native `Uint8Array.fromBase64` when it exists, else the
 * WebAssembly decoder for long input (falling back to JS if WebAssembly cannot run it), else the
 * JS decoder.
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const native = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;
  if (typeof native === "function") return native.call(Uint8Array, text);
  if (text.length >= WASM_MIN_LENGTH && typeof WebAssembly === "object") {
    let ready = false;
    try {
      decoder ??= new WebAssembly.Module(new Uint8Array(DECODER_WASM));
      ready = true;
    } catch {
      // No usable WebAssembly (e.g. a runtime that forbids compiling): decode in JS.
    }
    if (ready) return decodeBase64Wasm(text);
  }
  return decodeBase64Portable(text);
}
