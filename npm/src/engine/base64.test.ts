import { describe, expect, it, vi } from "vitest";
import { decodeBase64, decodeBase64Portable } from "./base64.js";

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
});
