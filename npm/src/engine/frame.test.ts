import { describe, expect, it } from "vitest";
import { EngineError } from "./errors.js";
import {
  decodeFrame,
  decodeOkFrame,
  frameError,
  requireFlags,
  requireSection,
  STATUS_ERROR,
  STATUS_OK,
  Tag,
} from "./frame.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Build a frame: status byte, then (tag, u32 LE length, payload) sections. */
function frameOf(status: number, sections: [number, Uint8Array][]): Uint8Array {
  const total = 1 + sections.reduce((n, [, p]) => n + 5 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out[0] = status;
  let at = 1;
  for (const [tag, payload] of sections) {
    view.setUint8(at, tag);
    view.setUint32(at + 1, payload.length, true);
    out.set(payload, at + 5);
    at += 5 + payload.length;
  }
  return out;
}

function catchError(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    return error as EngineError;
  }
  throw new Error("expected an EngineError");
}

describe("decodeFrame", () => {
  it("splits an ok frame into its sections and skips unknown tags", () => {
    const frame = frameOf(STATUS_OK, [
      [Tag.STATE, new Uint8Array([1, 2, 3])],
      [99, new Uint8Array([0xff, 0xfe])], // unknown tag in the middle
      [Tag.STATE_VECTOR, new Uint8Array([4])],
      [Tag.DELTA, new Uint8Array([])],
      [200, new Uint8Array(300)], // unknown tag, longer payload
      [Tag.FIELDS, utf8('{"a":1}')],
      [Tag.FLAGS, new Uint8Array([0b011])],
      [255, new Uint8Array([])], // unknown empty section at the end
    ]);
    const decoded = decodeFrame(frame);
    expect(decoded.ok).toBe(true);
    expect([...(decoded.state ?? [])]).toEqual([1, 2, 3]);
    expect([...(decoded.stateVector ?? [])]).toEqual([4]);
    expect(decoded.delta).toBeDefined();
    expect(decoded.delta?.length).toBe(0);
    expect(new TextDecoder().decode(decoded.fields)).toBe('{"a":1}');
    expect(requireFlags(decoded)).toBe(0b011);
    expect(decoded.keys).toBeUndefined();
    // Sections are views into the frame, not copies.
    expect(decoded.state?.buffer).toBe(frame.buffer);
    expect(decoded.state?.byteOffset).toBe(frame.byteOffset + 1 + 5);
  });

  it("reads a frame that is itself a view at a non-zero offset", () => {
    const inner = frameOf(STATUS_OK, [[Tag.BYTES, new Uint8Array([7, 8, 9])]]);
    const backing = new Uint8Array(inner.length + 13);
    backing.set(inner, 7);
    const view = backing.subarray(7, 7 + inner.length);
    expect([...requireSection(decodeFrame(view), "bytes")]).toEqual([7, 8, 9]);
  });

  it("accepts a bare ok status with no sections", () => {
    const decoded = decodeOkFrame(new Uint8Array([STATUS_OK]));
    expect(decoded).toEqual({ ok: true });
  });

  it.each([
    ["empty frame", new Uint8Array([])],
    ["unknown status", new Uint8Array([2])],
    ["cut section header", new Uint8Array([STATUS_OK, Tag.STATE, 1, 0])],
    ["length beyond the end", new Uint8Array([STATUS_OK, Tag.STATE, 4, 0, 0, 0, 1, 2, 3])],
    ["huge length", new Uint8Array([STATUS_OK, Tag.BYTES, 0xff, 0xff, 0xff, 0xff, 1])],
  ])("throws INTERNAL (not a crash) on a malformed frame: %s", (_name, frame) => {
    const error = catchError(() => decodeFrame(frame));
    expect(error.code).toBe("INTERNAL");
    expect(error.message).toMatch(/malformed engine result frame/);
  });

  it("throws INTERNAL on every truncation of a valid frame", () => {
    const frame = frameOf(STATUS_OK, [
      [Tag.STATE, new Uint8Array([1, 2, 3, 4])],
      [Tag.FLAGS, new Uint8Array([1])],
    ]);
    const sectionEnds = new Set([1, 1 + 5 + 4, frame.length]);
    for (let cut = 0; cut < frame.length; cut++) {
      const truncated = frame.subarray(0, cut);
      if (sectionEnds.has(cut)) {
        expect(() => decodeFrame(truncated)).not.toThrow();
      } else {
        expect(catchError(() => decodeFrame(truncated)).code).toBe("INTERNAL");
      }
    }
  });
});

describe("error frames", () => {
  it("maps code, message, field and state vector", () => {
    const frame = frameOf(STATUS_ERROR, [
      [Tag.ERROR_CODE, utf8("MISSING_DEPENDENCIES")],
      [Tag.ERROR_MESSAGE, utf8("update depends on missing structs")],
      [Tag.STATE_VECTOR, new Uint8Array([1, 200, 1, 5])],
      [42, utf8("future section")],
    ]);
    const error = catchError(() => decodeOkFrame(frame));
    expect(error.code).toBe("MISSING_DEPENDENCIES");
    expect(error.message).toBe("update depends on missing structs");
    expect(error.name).toBe("EngineError");
    expect([...(error.stateVector ?? [])]).toEqual([1, 200, 1, 5]);
    expect(error.field).toBeUndefined();
  });

  it.each(["INVALID_DELTA", "TOO_LARGE", "VALIDATION_ERROR", "INVALID_ARGUMENT"] as const)(
    "maps %s with its field",
    (code) => {
      const error = frameError(
        decodeFrame(
          frameOf(STATUS_ERROR, [
            [Tag.ERROR_CODE, utf8(code)],
            [Tag.ERROR_MESSAGE, utf8("bad")],
            [Tag.ERROR_FIELD, utf8("tags[3]")],
          ]),
        ),
      );
      expect(error.code).toBe(code);
      expect(error.field).toBe("tags[3]");
      expect(error.stateVector).toBeUndefined();
    },
  );

  it("maps an unknown or missing code to INTERNAL and keeps the message", () => {
    const unknown = frameError(
      decodeFrame(
        frameOf(STATUS_ERROR, [
          [Tag.ERROR_CODE, utf8("NEW_CODE")],
          [Tag.ERROR_MESSAGE, utf8("details")],
        ]),
      ),
    );
    expect(unknown.code).toBe("INTERNAL");
    expect(unknown.message).toContain('"NEW_CODE"');
    expect(unknown.message).toContain("details");

    const missing = frameError(decodeFrame(new Uint8Array([STATUS_ERROR])));
    expect(missing.code).toBe("INTERNAL");
    expect(missing.message).toContain("missing");

    // The engine never sends INTERNAL itself; treat it as unknown too.
    const internal = frameError(decodeFrame(frameOf(STATUS_ERROR, [[Tag.ERROR_CODE, utf8("INTERNAL")]])));
    expect(internal.code).toBe("INTERNAL");
  });

  it("maps invalid UTF-8 in an error section to INTERNAL", () => {
    const frame = frameOf(STATUS_ERROR, [[Tag.ERROR_CODE, new Uint8Array([0xc3, 0x28])]]);
    const error = catchError(() => decodeOkFrame(frame));
    expect(error.code).toBe("INTERNAL");
    expect(error.message).toMatch(/not valid UTF-8/);
  });
});

describe("required sections", () => {
  it("a missing required section or empty FLAGS is INTERNAL", () => {
    const decoded = decodeFrame(frameOf(STATUS_OK, [[Tag.FLAGS, new Uint8Array([])]]));
    expect(catchError(() => requireSection(decoded, "state")).message).toMatch(/missing STATE section/);
    expect(catchError(() => requireFlags(decoded)).message).toMatch(/empty FLAGS/);
  });

  it("the last copy of a repeated section wins", () => {
    const decoded = decodeFrame(
      frameOf(STATUS_OK, [
        [Tag.BYTES, new Uint8Array([1])],
        [Tag.BYTES, new Uint8Array([2])],
      ]),
    );
    expect([...requireSection(decoded, "bytes")]).toEqual([2]);
  });
});
