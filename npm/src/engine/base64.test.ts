import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { WASM_BASE64, WASM_SHA256 } from "../wasm/wasmBytes.js";
import { DECODER_WASM, decodeBase64, decodeBase64Portable, decodeBase64Wasm } from "./base64.js";

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

describe("base64", () => {
  it("decodes every length and byte value like btoa encodes them", () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
    for (let length = 0; length < 70; length++) {
      const bytes = Uint8Array.from({ length }, next);
      const encoded = toBase64(bytes);
      expect(decodeBase64Portable(encoded)).toEqual(bytes);
      expect(decodeBase64Portable(encoded.replace(/=+$/, ""))).toEqual(bytes);
      expect(decodeBase64(encoded)).toEqual(bytes);
    }
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(decodeBase64Portable(toBase64(all))).toEqual(all);
  });

  it.each(["A", "AB=C", "AB*D", "ABC\u00e9", "AB==="])("rejects invalid input %j", (text) => {
    expect(() => decodeBase64Portable(text)).toThrow(/invalid base64/);
  });

  it("prefers the runtime's Uint8Array.fromBase64 when it exists", () => {
    const holder = Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array };
    const original = holder.fromBase64;
    const native = vi.fn(() => new Uint8Array([42]));
    holder.fromBase64 = native;
    try {
      expect([...decodeBase64("AAAA")]).toEqual([42]);
      expect(native).toHaveBeenCalledWith("AAAA");
    } finally {
      if (original === undefined) delete holder.fromBase64;
      else holder.fromBase64 = original;
    }
    expect([...decodeBase64("AAAA")]).toEqual([0, 0, 0]);
  });

  it("decodes random bytes of every small length with the wasm decoder like Buffer", () => {
    let seed = 777;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 8;
    for (let length = 0; length < 300; length++) {
      for (let round = 0; round < 3; round++) {
        const bytes = Uint8Array.from({ length }, () => next() & 0xff);
        const encoded = Buffer.from(bytes).toString("base64");
        expect(decodeBase64Wasm(encoded)).toEqual(bytes);
        expect(decodeBase64Wasm(encoded.replace(/=+$/, ""))).toEqual(bytes);
      }
    }
  });

  it("decodes large random input with the wasm decoder like Buffer", () => {
    let seed = 99;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 8;
    for (const length of [4095, 65536, 65537, 200_001, 1_000_000]) {
      const bytes = Uint8Array.from({ length }, () => next() & 0xff);
      const encoded = Buffer.from(bytes).toString("base64");
      const decoded = decodeBase64Wasm(encoded);
      expect(decoded.length).toBe(length);
      expect(Buffer.compare(Buffer.from(decoded), Buffer.from(bytes))).toBe(0);
      // decodeBase64 takes the wasm path for long input (Node 20 has no Uint8Array.fromBase64).
      expect(Buffer.compare(Buffer.from(decodeBase64(encoded)), Buffer.from(bytes))).toBe(0);
    }
  });

  it("decodes known vectors with the wasm decoder", () => {
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    expect(text(decodeBase64Wasm(""))).toBe("");
    expect(text(decodeBase64Wasm("Zg=="))).toBe("f");
    expect(text(decodeBase64Wasm("Zm8="))).toBe("fo");
    expect(text(decodeBase64Wasm("Zm9v"))).toBe("foo");
    expect(text(decodeBase64Wasm("Zm9vYg=="))).toBe("foob");
    expect(text(decodeBase64Wasm("Zm9vYmE="))).toBe("fooba");
    expect(text(decodeBase64Wasm("Zm9vYmFy"))).toBe("foobar");
    expect([...decodeBase64Wasm("+/+/")]).toEqual([0xfb, 0xff, 0xbf]);
    expect([...decodeBase64Wasm("AAAA////")]).toEqual([0, 0, 0, 255, 255, 255]);
  });

  it.each(["A", "AB=C", "AB*D", "ABC\u00e9", "AB===", "AAAA-AAA", "AAAA_AAA", "AA AA", "AAA\u0000"])(
    "the wasm decoder rejects invalid input %j",
    (text) => {
      expect(() => decodeBase64Wasm(text)).toThrow(/invalid base64/);
    },
  );

  it("the wasm decoder finds one bad character anywhere in long input", () => {
    // 133,336 characters: three 64 Ki-character chunks; try both sides of each chunk boundary.
    const valid = Buffer.from(Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff)).toString("base64");
    const boundaries = [65535, 65536, 65537, 131071, 131072, 131073];
    for (const at of [0, 1, 2, 3, 4, 7, 8, 5000, ...boundaries, valid.length - 9, valid.length - 5, valid.length - 1]) {
      for (const bad of ["*", "\u0141", "\u00ff", "\u0080", "=", "\n"]) {
        const text = valid.slice(0, at) + bad + valid.slice(at + 1);
        if (bad === "=" && at >= valid.length - 2) continue; // that is padding, which is valid
        expect(() => decodeBase64Wasm(text), `${JSON.stringify(bad)} at ${at}`).toThrow(/invalid base64/);
        expect(() => decodeBase64(text), `${JSON.stringify(bad)} at ${at}`).toThrow(/invalid base64/);
      }
    }
  });

  it("embeds the assembled base64-decoder.wat", async () => {
    const { default: binaryen } = await import("binaryen");
    const module = binaryen.parseText(readFileSync(new URL("./base64-decoder.wat", import.meta.url), "utf8"));
    try {
      // The features of `wasm-as --enable-bulk-memory --enable-simd` (memory.fill, a DataCount
      // section; v128).
      module.setFeatures(binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.SIMD128);
      expect([...module.emitBinary()]).toEqual([...DECODER_WASM]);
      expect(WebAssembly.validate(new Uint8Array(DECODER_WASM))).toBe(true);
    } finally {
      module.dispose();
    }
  });

  it("decodes the embedded engine module to its recorded SHA-256", () => {
    const bytes = decodeBase64(WASM_BASE64);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(WASM_SHA256);
    expect(createHash("sha256").update(decodeBase64Portable(WASM_BASE64)).digest("hex")).toBe(WASM_SHA256);
  });

  it("the wasm decoder accepts exactly the alphabet, at every position of the SIMD and scalar paths", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // 40 characters: two 16-character SIMD blocks, then an 8-character scalar block.
    const valid = Buffer.from(Uint8Array.from({ length: 30 }, (_, i) => (i * 37 + 11) & 0xff)).toString("base64");
    expect(valid.length).toBe(40);
    for (let code = 0; code < 128; code++) {
      const c = String.fromCharCode(code);
      for (let at = 0; at < valid.length; at++) {
        const text = valid.slice(0, at) + c + valid.slice(at + 1);
        if (alphabet.includes(c)) {
          const expected = Buffer.from(text, "base64");
          expect(Buffer.compare(Buffer.from(decodeBase64Wasm(text)), expected), `${code} at ${at}`).toBe(0);
        } else if (!(c === "=" && at >= valid.length - 2 && (at === valid.length - 1 || text.endsWith("==")))) {
          expect(() => decodeBase64Wasm(text), `${code} at ${at}`).toThrow(/invalid base64/);
        }
      }
    }
  });
});
