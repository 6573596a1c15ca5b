import { describe, expect, it } from "vitest";
import { findDuplicateKey } from "./json.js";

describe("findDuplicateKey", () => {
  it("accepts bodies whose objects have distinct keys", () => {
    expect(findDuplicateKey('{"version":1,"deltas":[{"op_id":"a"},{"op_id":"b"}]}')).toBeNull();
    expect(findDuplicateKey('{"a":{"b":1},"c":{"b":2}}')).toBeNull();
    expect(findDuplicateKey('["a","a",{"a":1}]')).toBeNull();
  });

  it("names the first repeated key by its path", () => {
    expect(findDuplicateKey('{"version":1,"version":2}')).toBe("version");
    expect(findDuplicateKey('{"deltas":[{"op_id":"a"},{"op_id":"b","op_id":"c"}]}')).toBe("deltas[1].op_id");
    expect(findDuplicateKey('{"a":{"b":{"c":1,"c":2}}}')).toBe("a.b.c");
  });

  it("compares keys as decoded strings and is not fooled by strings holding JSON", () => {
    expect(findDuplicateKey('{"a":1,"\\u0061":2}')).toBe("a");
    expect(findDuplicateKey('{"x":"{\\"a\\":1,\\"a\\":2}","y":"\\"z\\":"}')).toBeNull();
  });
});
