// The tlim JSON envelope (docs/protocol.md "The envelope"). Pure: no I/O, no clock.
import JSON5 from "json5";
import { z } from "zod";
import { ImError } from "./errors.js";
import { addressId, IdError, messageId } from "./ids.js";

export type BodyItem = Record<string, unknown>;

export interface Envelope {
  compress: string;
  encode: string;
  encrypt: string;
  version: string;
  msg_from: string;
  msg_to: string;
  msg_id: string;
  msg_type: string;
  msg_time: string;
  body: BodyItem[];
}

export const MSG_TYPE_CLASSES = ["MTT", "MTS", "MTB", "MTC"] as const;
export type MsgClass = (typeof MSG_TYPE_CLASSES)[number];

/** Lenient JSON as the original (fastjson) accepted it: single quotes and unquoted keys too. */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // json5 prints a console warning for every U+2028/U+2029 inside a string: anyone could fill
    // the process's stderr with it. The parse is synchronous, so silencing it here is exact.
    const warn = console.warn;
    console.warn = () => {};
    try {
      return JSON5.parse(text);
    } finally {
      console.warn = warn;
    }
  }
}

// Scalars are coerced to strings the way the original's parser did (a JSON number or boolean
// becomes its text); objects and arrays are not scalars.
const scalarString = (max: number) =>
  z.preprocess(
    (v) => (typeof v === "number" || typeof v === "boolean" ? String(v) : v),
    z.string().max(max, `at most ${max} characters`),
  );

const flag = (max: number, dflt: string) => scalarString(max).optional().transform((v) => v ?? dflt);

const envelopeSchema = z.object({
  compress: flag(20, "0"),
  encode: flag(20, "0"),
  encrypt: flag(50, "0"),
  version: flag(10, "2.1.0"),
  msg_from: scalarString(64).optional().transform((v) => v ?? ""),
  msg_to: scalarString(64).optional().transform((v) => v ?? ""),
  msg_id: scalarString(64).optional().transform((v) => v ?? ""),
  msg_type: scalarString(20).optional().transform((v) => v ?? ""),
  msg_time: scalarString(20).optional().transform((v) => v ?? ""),
  body: z.unknown(),
});

/** The class of a msg_type: must contain a dash and one of MTT/MTS/MTB/MTC (the original's substring test; docs/protocol.md "Errors", error-001). */
export function msgClassOf(msgType: string): MsgClass | null {
  if (!msgType.includes("-")) return null;
  return MSG_TYPE_CLASSES.find((c) => msgType.includes(c)) ?? null;
}

/**
 * Normalises `body`: an array of objects, or a JSON string holding one (server-generated
 * stanzas carry the string form; docs/architecture.md "The body: an array on XMPP, a string over HTTP").
 */
export function normaliseBody(raw: unknown): BodyItem[] {
  let value = raw;
  if (typeof value === "string") {
    const text = value.trim();
    if (text === "") throw ImError.bodyInvalid("body is empty");
    try {
      value = parseLenientJson(text);
    } catch {
      throw ImError.bodyNotArray("body is a string that is not a JSON array");
    }
  }
  if (value === undefined || value === null) throw ImError.bodyInvalid("body is missing");
  if (!Array.isArray(value)) throw ImError.bodyNotArray("body must be an array of objects");
  if (value.length === 0) throw ImError.bodyInvalid("body is an empty array");
  for (const [i, item] of value.entries()) {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw ImError.bodyNotArray(`body[${i}] is not an object`);
    }
  }
  return value as BodyItem[];
}

type RawEnvelope = z.output<typeof envelopeSchema>;

/**
 * The common envelope — every field a string within its length, or absent — read without zod
 * (zod was ≈ 5 % of the component path's CPU, docs/performance.md); exactly what the schema would
 * give. Anything else (numbers to coerce, wrong types, too long) returns null: the schema decides
 * and words the error.
 */
function plainEnvelope(raw: Record<string, unknown>): RawEnvelope | null {
  const compress = field(raw.compress, 20, "0");
  const encode = field(raw.encode, 20, "0");
  const encrypt = field(raw.encrypt, 50, "0");
  const version = field(raw.version, 10, "2.1.0");
  const msgFrom = field(raw.msg_from, 64, "");
  const msgTo = field(raw.msg_to, 64, "");
  const msgId = field(raw.msg_id, 64, "");
  const msgType = field(raw.msg_type, 20, "");
  const msgTime = field(raw.msg_time, 20, "");
  if (compress === null || encode === null || encrypt === null || version === null || msgFrom === null ||
    msgTo === null || msgId === null || msgType === null || msgTime === null) return null;
  return {
    compress, encode, encrypt, version, msg_from: msgFrom, msg_to: msgTo, msg_id: msgId, msg_type: msgType,
    msg_time: msgTime, body: raw.body,
  };
}

function field(v: unknown, max: number, dflt: string): string | null {
  if (v === undefined) return dflt;
  return typeof v === "string" && v.length <= max ? v : null;
}

/** Parses and validates the envelope carried in a `<body>`. Throws ImError. */
export function decodeEnvelope(text: string): Envelope {
  if (text.trim() === "") throw ImError.bodyInvalid("the message body is empty");
  let raw: unknown;
  try {
    raw = parseLenientJson(text);
  } catch (err) {
    throw ImError.jsonInvalid(`body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw ImError.jsonInvalid("body JSON must be an object (the tlim envelope)");
  }
  let env = plainEnvelope(raw as Record<string, unknown>);
  if (env === null) {
    const parsed = envelopeSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join(".") || "envelope";
      throw field === "msg_type"
        ? ImError.msgTypeInvalid(`msg_type: ${issue.message}`)
        : ImError.bodyInvalid(`${field}: ${issue.message}`);
    }
    env = parsed.data;
  }
  if (env.msg_type === "") throw ImError.msgTypeInvalid("msg_type is empty");
  if (!MSG_TYPE.test(env.msg_type)) throw ImError.msgTypeInvalid("msg_type may hold only printable ASCII without spaces");
  if (!msgClassOf(env.msg_type)) {
    throw ImError.msgTypeInvalid(`msg_type '${env.msg_type}' is not one of the MTT/MTS/MTB/MTC classes`);
  }
  if (env.msg_id === "") throw ImError.bodyInvalid("msg_id is empty");
  return checkEnvelopeIds({
    compress: env.compress, encode: env.encode, encrypt: env.encrypt, version: env.version, msg_from: env.msg_from,
    msg_to: env.msg_to, msg_id: env.msg_id, msg_type: env.msg_type, msg_time: env.msg_time, body: normaliseBody(env.body),
  });
}

const MSG_TYPE = /^[\x21-\x7e]+$/;

/**
 * The envelope's identifiers validated and normalised in place (docs/reliability.md
 * "Identifiers"): msg_from, msg_to and body[0].session_id are XMPP local parts, folded as the
 * server folds them; msg_id is opaque but printable. Every transport's envelope passes here
 * (decodeEnvelope, and ImCore.submit for envelopes a gateway built). Throws error-000.
 */
export function checkEnvelopeIds(env: Envelope): Envelope {
  try {
    env.msg_id = messageId(env.msg_id, "msg_id");
    if (env.msg_from !== "") env.msg_from = addressId(env.msg_from, "msg_from");
    if (env.msg_to !== "") env.msg_to = addressId(env.msg_to, "msg_to");
    const first = env.body[0];
    const sid = first?.session_id;
    if (first && (typeof sid === "string" || typeof sid === "number") && String(sid) !== "") {
      first.session_id = addressId(String(sid), "body[0].session_id");
    }
    return env;
  } catch (err) {
    if (err instanceof IdError) throw ImError.bodyInvalid(err.message);
    throw err;
  }
}

/** Compact JSON text of a body array, as stored (re-serialised compactly, as the original did). */
export function encodeBody(body: BodyItem[]): string {
  return JSON.stringify(body);
}

/** The envelope as emitted on XMPP: `body` as a real array (docs/architecture.md "The body: an array on XMPP, a string over HTTP"). */
export function encodeEnvelope(env: Envelope): string {
  return JSON.stringify({
    compress: env.compress,
    encode: env.encode,
    encrypt: env.encrypt,
    version: env.version,
    msg_from: env.msg_from,
    msg_to: env.msg_to,
    msg_id: env.msg_id,
    msg_type: env.msg_type,
    msg_time: env.msg_time,
    body: env.body,
  });
}

/** First body element's string field, or "" (routing reads only body[0], as the original did). */
export function bodyField(body: BodyItem[], field: string): string {
  const v = body[0]?.[field];
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}
