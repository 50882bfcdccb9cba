// Hostile inputs for the fuzz properties (docs/reliability.md "Fuzzing"): strings over all of
// UTF-16 (lone surrogates included), the characters XML 1.0 §2.2 excludes, the markup and JSON
// metacharacters, their JSON-escaped spellings, case-folding traps (RFC 3454 B.2), ids just over
// 64 characters, and huge and empty strings.
import fc from "fast-check";

/** Single characters (or short sequences) known to trip writers, parsers and folding. */
export const SPECIALS: readonly string[] = [
  "\u0000", "\u0001", "\u0008", "\u000b", "\u000c", "\u001b", "\u001f", "\u007f", "\u0085", "\u009f",
  "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d", "\ude00", "\ufffe", "\uffff", "\ufffd", "\ufdd0", "\ufdef",
  "\ufeff", "\u200b", "\u200d", "\u202e", "\u2028", "\u2029", "\u00ad", "\ue000", "\uf8ff",
  "\ud83f\udffe", "\udbff\udfff", "\ud83d\ude00", "\ud800\udc00",
  "<", ">", "&", "\"", "'", "]]>", "<!--", "<![CDATA[", "&amp;", "&#1;", "&#x0;", "&lt;", "\\", "/", ":", "@", " ", "\u3000", "\u00a0",
  "\t", "\n", "\r", "\r\n", "{", "}", "[", "]", ",", "null", "true", "1e400", "-0", "NaN", "Infinity",
  "ß", "İ", "ı", "ﬃ", "Σ", "ς", "K", "Å", "e\u0301", "ǅ", "ᾈ", "ŉ", "ΐ", "Ⅻ", "①", "ｱ", "中", "A", "Z", "é",
  "__proto__", "constructor", "prototype",
];

/** Any UTF-16 code unit, lone surrogates included. */
export const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** A special character as JSON would escape it (`\u0001`, `\ud800`), or as `\uXXXX` of any unit. */
const jsonEscaped = fc.oneof(
  fc.constantFrom(...SPECIALS).map((c) => JSON.stringify(c).slice(1, -1)),
  fc.integer({ min: 0, max: 0xffff }).map((c) => `\\u${c.toString(16).padStart(4, "0")}`),
);

const piece = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...SPECIALS) },
  { weight: 3, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 8 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 6 }) },
  { weight: 2, arbitrary: fc.string({ unit: anyUnit, maxLength: 6 }) },
  { weight: 1, arbitrary: jsonEscaped },
);

const joined = (min: number, max: number) => fc.array(piece, { minLength: min, maxLength: max }).map((a) => a.join(""));

/** 64 .. 65,536 characters of a repeated hostile piece. */
export const hugeString = fc
  .tuple(joined(1, 4), fc.integer({ min: 6, max: 16 }))
  .map(([s, e]) => {
    const n = 2 ** e;
    const unit = s === "" ? "x" : s;
    return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
  });

/** The general hostile string: mostly short mixes, sometimes empty, sometimes huge. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 20, arbitrary: joined(0, 10) },
  { weight: 2, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: hugeString },
);

/** Short hostile strings only (field values where huge ones just get "too long"). */
export const shortHostile: fc.Arbitrary<string> = joined(0, 6);

const ID_CHARS = [..."abcdefxyz0123456789._-", ..."ABCXYZ", "ß", "İ", "Σ", "ς", "K", "ﬃ", "中", "é", "e\u0301", "\ud83d\ude00"];
const HOSTILE_ID_CHARS = ["\u0001", "\u0000", "\ufffe", "\uffff", "\ud800", "\udc00", "\u200b", "\ufeff", "<", "&", "\"", "'", "@", "/", ":", " ", "\u3000", ">", "\ue000", "\ud83f\udffe"];

/** Ids as clients send them: plain, mixed case, Unicode, hostile characters, 64/65+ characters. */
export const hostileId: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[0-9a-z._-]{1,12}$/) },
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 12 }).map((a) => a.join("")) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.array(fc.constantFrom(...ID_CHARS), { maxLength: 8 }), fc.constantFrom(...HOSTILE_ID_CHARS), fc.array(fc.constantFrom(...ID_CHARS), { maxLength: 8 }))
      .map(([a, c, b]) => a.join("") + c + b.join("")),
  },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 70 }).chain((n) => fc.constantFrom("a", "ß", "\ud83d\ude00", "A").map((c) => c.repeat(n))) },
  { weight: 1, arbitrary: shortHostile },
  { weight: 1, arbitrary: fc.constant("") },
);

/** A JSON-ish value with hostile strings (for bodies, extras, parameters). */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    shortHostile,
    fc.integer(),
    fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0) && Number.isFinite(d)),
    fc.boolean(),
    fc.constant(null),
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.array(fc.tuple(shortHostile, tie("value")), { maxLength: 4 }).map((kv) => Object.fromEntries(kv)),
})).value;

/** Where a string is wanted, sometimes something else. */
export const fieldValue = (s: fc.Arbitrary<string>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 8, arbitrary: s }, { weight: 1, arbitrary: fc.integer() }, { weight: 1, arbitrary: fc.double() }, { weight: 1, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: hostileJson });

const MSG_TYPES = ["MTT-000", "MTT-001", "MTT-100", "MTT-101", "MTS-000", "MTS-100", "MTS-101", "MTS-107", "MTB-100", "MTC-000", "MTT-999", "MTX-000", "MTT000", "mtt-000"];

const bodyItem = fc.record(
  {
    session_id: fieldValue(hostileId),
    text: fieldValue(hostileString),
    msg_id: fieldValue(hostileId),
    fileId: fieldValue(shortHostile),
    extras: hostileJson,
  },
  { requiredKeys: [] },
);

/** `body` in every shape: an array of items, its JSON text, garbage. */
const body = fc.oneof(
  { weight: 8, arbitrary: fc.array(bodyItem, { minLength: 1, maxLength: 3 }) },
  { weight: 2, arbitrary: fc.array(bodyItem, { minLength: 1, maxLength: 3 }).map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileJson },
);

/** An envelope object whose fields are hostile (and sometimes of the wrong type or absent). */
export const envelopeObject: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    compress: fieldValue(fc.constantFrom("0", "1", "")),
    encode: fieldValue(fc.constantFrom("0", "1")),
    encrypt: fieldValue(shortHostile),
    version: fieldValue(fc.constantFrom("2.1.0", "2.0.0", "")),
    msg_from: fieldValue(hostileId),
    msg_to: fieldValue(hostileId),
    msg_id: fieldValue(hostileId),
    msg_type: fieldValue(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...MSG_TYPES) }, { weight: 1, arbitrary: shortHostile })),
    msg_time: fieldValue(fc.oneof(fc.constant("1700000000000"), shortHostile)),
    body,
  },
  { requiredKeys: ["msg_id", "msg_type", "body"] },
);

/** Envelope text: JSON of a hostile envelope, mutated, lenient (JSON5) forms, or any text. */
export const envelopeText: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: envelopeObject.map((e) => JSON.stringify(e)) },
  { weight: 2, arbitrary: fc.tuple(envelopeObject, fc.nat(), shortHostile).map(([e, at, junk]) => insertAt(JSON.stringify(e), at, junk)) },
  { weight: 1, arbitrary: envelopeObject.map((e) => JSON.stringify(e).replace(/"([a-z_]+)":/g, "$1:").replace(/"/g, "'")) },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileString.map((s) => `{${s}}`) },
);

export function insertAt(s: string, at: number, what: string): string {
  const i = s.length === 0 ? 0 : at % (s.length + 1);
  return s.slice(0, i) + what + s.slice(i);
}
