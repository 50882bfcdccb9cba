import { describe, expect, it } from "vitest";
import { decodeEnvelope, encodeEnvelope, msgClassOf, normaliseBody } from "../../src/protocol/envelope.js";
import { ImError } from "../../src/protocol/errors.js";

const base = {
  compress: "0", encode: "0", encrypt: "0", version: "2.1.0",
  msg_from: "alice", msg_to: "bob", msg_id: "m1", msg_type: "MTT-000", msg_time: "1700000000123",
};

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof ImError) return err.code;
    throw err;
  }
  throw new Error("expected an ImError");
}

describe("decodeEnvelope", () => {
  it("decodes the documented envelope with body as an array", () => {
    const env = decodeEnvelope(JSON.stringify({ ...base, body: [{ text: "good morning" }] }));
    expect(env).toEqual({ ...base, body: [{ text: "good morning" }] });
  });

  it("accepts body as a JSON string holding the array (server-generated shape)", () => {
    const env = decodeEnvelope(JSON.stringify({ ...base, body: '[{"session_id":"s1","text":"hi"}]' }));
    expect(env.body).toEqual([{ session_id: "s1", text: "hi" }]);
  });

  it("accepts lenient JSON: single quotes and unquoted keys (legacy doc examples)", () => {
    const env = decodeEnvelope("{msg_from:'alice',msg_to:'bob',msg_id:'m2',msg_type:'MTT-000',msg_time:1700000000123,body:[{text:'hey'}]}");
    expect(env.msg_id).toBe("m2");
    expect(env.msg_time).toBe("1700000000123"); // number coerced to string
    expect(env.body).toEqual([{ text: "hey" }]);
  });

  it("fills defaults for the flag fields and ignores unknown fields", () => {
    const env = decodeEnvelope(JSON.stringify({ msg_from: "a", msg_to: "b", msg_id: "x", msg_type: "MTT-000", body: [{ text: "t" }], extra: 1 }));
    expect(env).toMatchObject({ compress: "0", encode: "0", encrypt: "0", version: "2.1.0" });
    expect(env).not.toHaveProperty("extra");
  });

  it("keeps emoji and CJK untouched", () => {
    const env = decodeEnvelope(JSON.stringify({ ...base, body: [{ text: "😀 中文 🎉" }] }));
    expect(env.body[0]!.text).toBe("😀 中文 🎉");
  });

  it("refuses broken JSON with error-005", () => {
    expect(codeOf(() => decodeEnvelope('{"msg_type": "MTT-000", '))).toBe("error-005");
    expect(codeOf(() => decodeEnvelope("[1,2]"))).toBe("error-005");
  });

  it("refuses an empty body text with error-000", () => {
    expect(codeOf(() => decodeEnvelope("   "))).toBe("error-000");
  });

  it("refuses a missing, empty or classless msg_type with error-001", () => {
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, msg_type: "", body: [{ text: "x" }] })))).toBe("error-001");
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, msg_type: "HFO-000", body: [{ text: "x" }] })))).toBe("error-001");
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, msg_type: "MTT000", body: [{ text: "x" }] })))).toBe("error-001");
    const { msg_type: _, ...noType } = base;
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...noType, body: [{ text: "x" }] })))).toBe("error-001");
  });

  it("refuses an empty or missing body array with error-000, a non-array with error-006", () => {
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, body: [] })))).toBe("error-000");
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base })))).toBe("error-000");
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, body: { text: "x" } })))).toBe("error-006");
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, body: ["x"] })))).toBe("error-006");
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, body: "not json" })))).toBe("error-006");
  });

  it("refuses over-long ids and an empty msg_id with error-000", () => {
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, msg_id: "x".repeat(65), body: [{ text: "x" }] })))).toBe("error-000");
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, msg_id: "", body: [{ text: "x" }] })))).toBe("error-000");
  });

  it("decides every field the same on the all-strings fast path and through the schema", () => {
    // Each pair differs only in whether one field needs the schema (a number to coerce).
    const limits = { compress: 20, encode: 20, encrypt: 50, version: 10, msg_from: 64, msg_to: 64, msg_id: 64, msg_time: 20 } as const;
    for (const [key, max] of Object.entries(limits)) {
      const atLimit = decodeEnvelope(JSON.stringify({ ...base, [key]: "7".repeat(max), body: [{ text: "x" }] }));
      const coerced = decodeEnvelope(JSON.stringify({ ...base, [key]: Number("7".repeat(Math.min(max, 15))), body: [{ text: "x" }] }));
      expect(atLimit[key as keyof typeof atLimit]).toBe("7".repeat(max));
      expect(coerced[key as keyof typeof coerced]).toBe("7".repeat(Math.min(max, 15)));
      expect(Object.keys(atLimit).sort()).toEqual(Object.keys(coerced).sort());
      expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, [key]: "7".repeat(max + 1), body: [{ text: "x" }] })))).toBe("error-000");
      expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, [key]: null, body: [{ text: "x" }] })))).toBe("error-000");
      expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, [key]: { a: 1 }, body: [{ text: "x" }] })))).toBe("error-000");
    }
    expect(decodeEnvelope(JSON.stringify({ ...base, msg_to: true, body: [{ text: "x" }] })).msg_to).toBe("true");
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, msg_type: "MTT-".repeat(6), body: [{ text: "x" }] })))).toBe("error-001");
    expect(codeOf(() => decodeEnvelope(JSON.stringify({ ...base, msg_type: null, body: [{ text: "x" }] })))).toBe("error-001");
  });
});

describe("msgClassOf", () => {
  it("follows the original's substring test", () => {
    expect(msgClassOf("MTT-000")).toBe("MTT");
    expect(msgClassOf("MTS-107")).toBe("MTS");
    expect(msgClassOf("MTB-100")).toBe("MTB");
    expect(msgClassOf("MTC-000")).toBe("MTC");
    expect(msgClassOf("XMTT-9")).toBe("MTT");
    expect(msgClassOf("MTT")).toBeNull();
    expect(msgClassOf("ABC-000")).toBeNull();
  });
});

describe("encodeEnvelope / normaliseBody", () => {
  it("round-trips and emits body as an array", () => {
    const env = { ...base, body: [{ text: "x" }] };
    const text = encodeEnvelope(env);
    expect(JSON.parse(text).body).toEqual([{ text: "x" }]);
    expect(decodeEnvelope(text)).toEqual(env);
  });

  it("normalises string and array bodies alike", () => {
    expect(normaliseBody('[{"a":1}]')).toEqual(normaliseBody([{ a: 1 }]));
  });
});
