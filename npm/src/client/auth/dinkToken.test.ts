// @vitest-environment node
/**
 * Bridge tokens. Known answers are computed independently with node:crypto's HMAC (not the
 * WebCrypto path under test) over canonical JSON written out by hand.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalTokenPayload, extractAndVerifyDink, signDinkToken, verifyDinkToken } from "./dinkToken.js";

const SECRET = "4f1c2b9a7d3e6f8001a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";
const NOW = 1_800_000_000_000; // ms
const EXP = 1_800_000_300; // s: NOW + 5 min

const hmac = (payload: string, secret = SECRET) => createHmac("sha256", secret).update(payload, "utf8").digest("hex");

describe("canonical JSON", () => {
  it("orders keys, sorts groups, writes no spaces, and a missing groups as []", () => {
    expect(canonicalTokenPayload({ edgeId: "edge-1", appId: "app-1", exp: EXP, groups: ["z", "a"] })).toBe(
      '{"appId":"app-1","edgeId":"edge-1","exp":1800000300,"groups":["a","z"]}',
    );
    expect(canonicalTokenPayload({ edgeId: "e", appId: "a", exp: 1 })).toBe(
      '{"appId":"a","edgeId":"e","exp":1,"groups":[]}',
    );
    expect(canonicalTokenPayload({ edgeId: "e", appId: "a", exp: 1, groups: null })).toBe(
      '{"appId":"a","edgeId":"e","exp":1,"groups":[]}',
    );
  });

  it("escapes strings as Go's encoding/json does", () => {
    expect(canonicalTokenPayload({ edgeId: 'a<b>&"c', appId: "x\u2028", exp: 2 })).toBe(
      '{"appId":"x\\u2028","edgeId":"a\\u003cb\\u003e\\u0026\\"c","exp":2,"groups":[]}',
    );
  });
});

describe("verifyDinkToken", () => {
  const good = () => ({
    edgeId: "edge-1",
    appId: "app-1",
    groups: ["ops", "admin"],
    exp: EXP,
    sig: hmac('{"appId":"app-1","edgeId":"edge-1","exp":1800000300,"groups":["admin","ops"]}'),
  });

  it("accepts a token signed independently (known answer), groups in any order", async () => {
    expect(await verifyDinkToken(good(), SECRET, NOW)).toEqual({
      edgeId: "edge-1",
      appId: "app-1",
      groups: ["ops", "admin"],
    });
    expect(await verifyDinkToken({ ...good(), groups: ["admin", "ops"] }, SECRET, NOW)).toMatchObject({
      edgeId: "edge-1",
    });
  });

  it.each([
    ["edgeId", { edgeId: "edge-2" }],
    ["appId", { appId: "app-2" }],
    ["groups", { groups: ["ops", "admin", "root"] }],
    ["exp", { exp: EXP + 60 }],
    ["sig", { sig: "0".repeat(64) }],
  ])("a tampered %s is an invalid signature", async (_field, change) => {
    await expect(verifyDinkToken({ ...good(), ...change }, SECRET, NOW)).rejects.toThrow(
      "Invalid Dink token signature",
    );
  });

  it("a wrong secret is an invalid signature; a missing one is not configured", async () => {
    await expect(verifyDinkToken(good(), `${SECRET}x`, NOW)).rejects.toThrow("Invalid Dink token signature");
    await expect(verifyDinkToken(good(), undefined, NOW)).rejects.toThrow("DINK_BRIDGE_SECRET not configured");
    await expect(verifyDinkToken(good(), " ", NOW)).rejects.toThrow("DINK_BRIDGE_SECRET not configured");
  });

  it("an expired token is refused; one that claims to live for years too", async () => {
    await expect(verifyDinkToken(good(), SECRET, EXP * 1000)).rejects.toThrow("Dink token expired");
    const far = { ...good(), exp: EXP + 10 * 365 * 86400 };
    far.sig = hmac(canonicalTokenPayload(far));
    await expect(verifyDinkToken(far, SECRET, NOW)).rejects.toThrow(/Malformed Dink token: exp is more than/);
  });

  it.each([
    ["null", null],
    ["a string", "token"],
    ["no sig", { edgeId: "e", appId: "a", exp: EXP }],
    ["a short sig", { edgeId: "e", appId: "a", exp: EXP, sig: "abc" }],
    ["exp as a string", { edgeId: "e", appId: "a", exp: "1800000300", sig: "0".repeat(64) }],
    ["groups not strings", { edgeId: "e", appId: "a", exp: EXP, groups: [1], sig: "0".repeat(64) }],
  ])("a malformed token (%s) gets a clear error, not an exception from inside", async (_name, token) => {
    await expect(verifyDinkToken(token, SECRET, NOW)).rejects.toThrow(/^Malformed Dink token: /);
  });
});

describe("extractAndVerifyDink and signDinkToken", () => {
  it("returns the identity and the arguments without _dink", async () => {
    const _dink = await signDinkToken({ edgeId: "edge-9", appId: "app-1", groups: ["b", "a"] }, SECRET, { nowMs: NOW });
    expect(_dink.exp).toBe(EXP);
    expect(_dink.sig).toBe(hmac('{"appId":"app-1","edgeId":"edge-9","exp":1800000300,"groups":["a","b"]}'));
    const out = await extractAndVerifyDink({ _dink, value: 3, label: "x" }, SECRET, NOW);
    expect(out).toEqual({
      identity: { edgeId: "edge-9", appId: "app-1", groups: ["a", "b"] },
      args: { value: 3, label: "x" },
    });
    await expect(extractAndVerifyDink({ value: 3 }, SECRET, NOW)).rejects.toThrow(
      "Malformed Dink token: the _dink argument is missing",
    );
  });
});
