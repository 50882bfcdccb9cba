// The fuzz targets (docs/reliability.md "Fuzzing"): one property per input surface, shared by the
// CI-sized run (test/unit/fuzz-*.test.ts) and the long run (test/fuzz/run.ts, `npm run fuzz`).
// Every property states "no crash" (only the surface's own error types escape) and, where tlim
// writes XML, "the output is XML 1.0" (test/fuzz/xml.ts).
import { isDeepStrictEqual } from "node:util";
import xml, { type Element } from "@xmpp/xml";
import fc from "fast-check";
import { pino } from "pino";
import { ImCore } from "../../src/core/im.js";
import { bodyField, checkEnvelopeIds, decodeEnvelope, encodeBody, type Envelope } from "../../src/protocol/envelope.js";
import { ImError } from "../../src/protocol/errors.js";
import { addressId, messageId } from "../../src/protocol/ids.js";
import {
  CHAT_FIELDS, CLOSE_FIELDS, GET_MESSAGE_FIELDS, GET_USER_FIELDS, JOIN_FIELDS, LOGIN_ALIASES, LOGIN_FIELDS, RECALL_FIELDS,
  chatSchema, closeSchema, cmdOf, getMessageSchema, getUserSchema, joinSchema, loginSchema, parseBodyObject, parseRequest, recallSchema,
} from "../../src/protocol/jim-commands.js";
import { encodeFrame, FrameDecoder, FrameError, readFrames } from "../../src/protocol/jim-frame.js";
import { ChatRefusal, chatToEnvelope, messageToJim, recallToEnvelope } from "../../src/protocol/jim-mapping.js";
import { isXmlSafe, jsonXmlSafe, xmlSafe } from "../../src/protocol/xml-safe.js";
import { MemoryStore } from "../../src/store/memory.js";
import { chatConvId, sessionConvId, type StoredMessage } from "../../src/store/types.js";
import { routes, type RouteContext } from "../../src/transports/http/routes.js";
import type { Params } from "../../src/transports/http/conventions.js";
import { deliveryStanza, errorStanza, escapeXml, escapeXmlText, forwardStanza, passStanza, receiptStanza } from "../../src/transports/xmpp/stanzas.js";
import { envelopeObject, envelopeText, fieldValue, hostileId, hostileJson, hostileString, shortHostile } from "./arbitraries.js";
import { firstNonXmlChar, parseStrict, parseTextAndAttr } from "./xml.js";

export interface FuzzTarget<T = any> {
  name: string;
  /** What the property states (printed by the fuzz script, listed in docs/reliability.md). */
  states: string;
  /** Cases in `npm test` (fixed seed). */
  ciRuns: number;
  /** Share of FUZZ_RUNS the fuzz script runs (1 unless a case costs a real socket round trip). */
  fuzzShare?: number;
  arbitrary: fc.Arbitrary<T>;
  /** Throws (or rejects) when the property does not hold. */
  check(value: T): void | Promise<void>;
  async?: boolean;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

export class PropertyViolation extends Error {
  override name = "PropertyViolation";
}

/**
 * A bug in src/ a property found and that is not fixed yet. The property goes on past it (so the
 * long run still checks everything else) but counts every hit; the fuzz script exits non-zero
 * while any is hit, and test/unit/fuzz-known-bugs.test.ts keeps its minimal reproducer.
 */
export interface KnownBug {
  id: string;
  summary: string;
  matches(err: unknown, input: unknown): boolean;
}

/** None open. Found and fixed: see test/unit/fuzz-regressions.test.ts. */
export const KNOWN_BUGS: Record<string, KnownBug> = {};

/** Hits per known bug id, since the process started. */
export const knownBugHits = new Map<string, number>();

/** Runs f; an error that is a known bug is counted and gives null (wrap the call a bug is in). */
export function tolerate<T>(bug: KnownBug, input: unknown, f: () => T): T | null {
  try {
    return f();
  } catch (err) {
    if (!bug.matches(err, input)) throw err;
    knownBugHits.set(bug.id, (knownBugHits.get(bug.id) ?? 0) + 1);
    return null;
  }
}

function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new PropertyViolation(what);
}

/** Runs f; an error of one of `allowed` types is an answer, anything else escapes. */
function only<T>(f: () => T, ...allowed: Array<new (...a: any[]) => Error>): T | Error {
  try {
    return f();
  } catch (err) {
    if (allowed.some((c) => err instanceof c)) return err as Error;
    throw err;
  }
}

const silent = pino({ level: "silent" });

// ---- a. the XML writer ----

const xmlSafeTarget: FuzzTarget<string> = {
  name: "xml-safe",
  states: "xmlSafe(s) is XML text and an attribute value, keeps length and every Char; isXmlSafe agrees with XML 1.0 Char",
  ciRuns: 600,
  arbitrary: hostileString,
  check(s) {
    const safe = xmlSafe(s);
    assert(isXmlSafe(s) === (firstNonXmlChar(s) < 0), "isXmlSafe disagrees with the XML 1.0 Char production");
    assert(isXmlSafe(safe), "xmlSafe output is not isXmlSafe");
    assert(safe.length === s.length, "xmlSafe changed the length");
    if (isXmlSafe(s)) assert(safe === s, "xmlSafe changed an XML-safe string");
    // Escaped then made safe, as the link does (element text is escaped by ltx or stanzas.ts first)…
    const parsed = parseStrict(xmlSafe(`<r a="${escapeXml(s)}">${escapeXmlText(s)}</r>`));
    // …and made safe then escaped: the same content either way.
    parseTextAndAttr(escapeXmlText(safe), escapeXml(safe));
    const eol = safe.replace(/\r\n?/g, "\n"); // XML 1.0 §2.11
    assert((parsed.texts.get("r") ?? "") === eol, "element text did not survive");
    assert(parsed.attrs.find((a) => a.name === "a")?.value === eol.replace(/[\t\n]/g, " "), "attribute value did not survive (XML 1.0 §3.3.3)");
  },
};

const jsonXmlSafeTarget: FuzzTarget<unknown> = {
  name: "json-xml-safe",
  states: "jsonXmlSafe(JSON.stringify(x)) is XML text and JSON.parse of the parsed text is exactly x (lossless)",
  ciRuns: 600,
  arbitrary: fc.oneof(hostileJson, hostileString),
  check(x) {
    const json = JSON.stringify(x);
    const safe = jsonXmlSafe(json);
    assert(firstNonXmlChar(safe) < 0, "jsonXmlSafe left a character outside XML 1.0 Char");
    const text = parseStrict(`<body>${escapeXmlText(safe)}</body>`).texts.get("body") ?? "";
    assert(isDeepStrictEqual(JSON.parse(text), x), "JSON.parse(jsonXmlSafe(JSON.stringify(x))) is not x");
  },
};

// ---- b. envelope decoding ----

/** The ids of an accepted envelope are valid and already folded: validating again is a no-op. */
function checkAcceptedIds(env: Envelope): void {
  assert(messageId(env.msg_id, "msg_id") === env.msg_id, "msg_id changes when validated again");
  assert(isXmlSafe(env.msg_id) && isXmlSafe(env.msg_type), "msg_id/msg_type not XML-safe");
  for (const f of ["msg_from", "msg_to"] as const) {
    if (env[f] !== "") assert(addressId(env[f], f) === env[f], `${f} changes when validated again`);
  }
  const sid = env.body[0]?.session_id;
  if (typeof sid === "number") throw new PropertyViolation("body[0].session_id left a number");
  if (typeof sid === "string" && sid !== "") assert(addressId(sid, "sid") === sid, "body[0].session_id changes when validated again");
  const again = checkEnvelopeIds(structuredClone(env));
  assert(isDeepStrictEqual(again, env), "checkEnvelopeIds is not idempotent");
}

const envelopeTarget: FuzzTarget<string> = {
  name: "envelope-decode",
  states: "decodeEnvelope returns an envelope whose ids are valid and folded (re-validating is a no-op), or throws ImError",
  ciRuns: 800,
  arbitrary: envelopeText,
  check(text) {
    const r = only(() => decodeEnvelope(text), ImError);
    if (r instanceof Error) return;
    checkAcceptedIds(r);
  },
};

// ---- c. the stanzas tlim writes ----

const D = { component: "im.example.org", users: "example.org" };
const CHILD_NAMES = ["received", "displayed", "active", "composing", "request", "x"] as const;
const CHILD_NS = ["urn:xmpp:receipts", "urn:xmpp:chat-markers:0", "http://jabber.org/protocol/chatstates", "urn:x:&<\"'"];

const originalArb = fc.record({
  from: fc.option(hostileString, { nil: undefined }),
  to: fc.option(hostileString, { nil: undefined }),
  id: fc.option(fc.oneof(hostileId, hostileString), { nil: undefined }),
  type: fc.option(fc.constantFrom("chat", "normal", "headline", "groupchat", "x\u0001\"<"), { nil: undefined }),
  children: fc.array(fc.record({ name: fc.constantFrom(...CHILD_NAMES), xmlns: fc.constantFrom(...CHILD_NS), id: shortHostile, text: shortHostile }), { maxLength: 2 }),
});
type Original = typeof originalArb extends fc.Arbitrary<infer O> ? O : never;

function originalOf(o: Original, body: string | null): Element {
  const attrs: Record<string, string> = {};
  for (const k of ["from", "to", "id", "type"] as const) if (o[k] !== undefined) attrs[k] = o[k]!;
  const el = xml("message", attrs);
  if (body !== null) el.append(xml("body", {}, body));
  for (const c of o.children) el.append(xml(c.name, { xmlns: c.xmlns, id: c.id }, c.text));
  return el;
}

/** What XmppLink writes for an element or stanza text. */
const written = (stanza: Element | string) => xmlSafe(typeof stanza === "string" ? stanza : stanza.toString());

/** The stored message tlim would make of an accepted envelope (the columns the stanzas read). */
function storedOf(env: Envelope): StoredMessage {
  const sid = env.msg_type.startsWith("MTS-") ? bodyField(env.body, "session_id") || null : null;
  const from = env.msg_from === "" ? "alice" : env.msg_from;
  return {
    convId: sid !== null ? sessionConvId(sid) : chatConvId(from, env.msg_to), seq: 1, msgId: env.msg_id, msgFrom: from, msgTo: env.msg_to,
    msgType: env.msg_type, msgTime: env.msg_time, body: encodeBody(env.body), sessionId: sid, compress: env.compress, encode: env.encode,
    encrypt: env.encrypt, version: env.version, createdAt: 1_700_000_000_000, revoked: false, hidden: false,
  };
}

const stanzaTarget: FuzzTarget<{ text: string; original: Original; errText: string; delayed: boolean }> = {
  name: "stanzas",
  states: "every stanza written for any input (delivery, error, receipt, pass-through, forward) parses as XML 1.0; delivery needs no backstop and its body JSON gives back the envelope",
  ciRuns: 500,
  arbitrary: fc.record({ text: envelopeText, original: originalArb, errText: hostileString, delayed: fc.boolean() }),
  check({ text, original, errText, delayed }) {
    const el = originalOf(original, text);
    const decoded = only(() => decodeEnvelope(text), ImError);
    // Error replies: the refusal of this input, and one whose text is anything at all.
    const refusals = [ImError.bodyInvalid(errText), ImError.forbidden(`msg_from '${errText}' does not match`)];
    if (decoded instanceof ImError) refusals.push(decoded);
    for (const err of refusals) parseStrict(written(errorStanza(el, err)));
    parseStrict(written(receiptStanza(el)));
    parseStrict(written(passStanza(`${original.from ?? ""}@${D.component}`, `${original.to ?? ""}@${D.users}`, original.id, text)));
    parseStrict(written(forwardStanza(el, `${original.from ?? ""}@${D.component}`, `${original.to ?? ""}@${D.users}`)));
    if (decoded instanceof Error) return;
    const m = storedOf(decoded);
    const expected = JSON.parse(m.body) as unknown;
    for (const userId of new Set([m.msgTo, m.msgFrom].filter((u) => u !== ""))) {
      for (const type of ["chat", "headline"] as const) {
        const stanza = deliveryStanza(D, { userId, inboxSeq: 1, message: m }, { to: `${userId}@${D.users}/r`, type, delayed });
        // Lossless: the raw stanza is XML already; the link's lossy backstop must change nothing.
        assert(written(stanza) === stanza, "deliveryStanza relies on the link's lossy xmlSafe");
        const parsed = parseStrict(stanza);
        const env = JSON.parse(parsed.texts.get("body") ?? "") as Record<string, unknown>;
        for (const [k, v] of Object.entries({ compress: m.compress, encode: m.encode, encrypt: m.encrypt, version: m.version, msg_from: m.msgFrom, msg_to: m.msgTo, msg_id: m.msgId, msg_type: m.msgType, msg_time: m.msgTime })) {
          assert(env[k] === v, `delivered ${k} differs from the envelope's`);
        }
        assert(isDeepStrictEqual(env.body, expected), "delivered body differs from the stored body");
        assert(parsed.attrs.some((a) => a.element === "message" && a.name === "id" && a.value === m.msgId), "delivered id attribute differs from msg_id");
      }
    }
  },
};

// ---- d. J-IM ----

const HEADER_MAX = 11;

/** A frame header (7 or 11 bytes) with any version, mask, cmd and length. */
const hostileHeader = fc
  .record({ version: fc.constantFrom(1, 1, 1, 0, 2, 0xff), mask: fc.integer({ min: 0, max: 255 }), seq: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), cmd: fc.integer({ min: -128, max: 127 }), length: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 300 }), fc.constantFrom(-1, 0, 2 ** 31 - 1, 65536, 65537)) })
  .map(({ version, mask, seq, cmd, length }) => {
    const withSeq = (mask & 0x20) !== 0;
    const b = Buffer.alloc(withSeq ? 11 : 7);
    b[0] = version;
    b[1] = mask;
    if (withSeq) b.writeInt32BE(seq, 2);
    b.writeInt8(cmd, b.length - 5);
    b.writeInt32BE(length, b.length - 4);
    return b;
  });

const framesBytesTarget: FuzzTarget<{ bytes: Uint8Array[]; max: number }> = {
  name: "jim-frames-bytes",
  states: "readFrames and FrameDecoder over any bytes yield frames or throw FrameError; the decoder never holds more than one header + maxBodyBytes",
  ciRuns: 500,
  arbitrary: fc.record({
    bytes: fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), hostileHeader.map((b) => new Uint8Array(b)), fc.uint8Array({ minLength: 1, maxLength: 2048 })), { maxLength: 6 }),
    max: fc.oneof(fc.integer({ min: 0, max: 512 }), fc.constant(65536)),
  }),
  check({ bytes, max }) {
    const all = Buffer.concat(bytes.map((b) => Buffer.from(b)));
    let total = 0;
    const used = only(() => readFrames(all, max, { frame: (_c, _s, body) => { total += body.length; } }), FrameError);
    if (typeof used === "number") assert(used <= all.length && total <= used, "readFrames used more than it was given");
    const dec = new FrameDecoder(max);
    for (const chunk of bytes) {
      const r = only(() => dec.push(Buffer.from(chunk)), FrameError);
      if (r instanceof Error) return;
      assert(dec.buffered <= HEADER_MAX + max, `decoder holds ${dec.buffered} bytes (limit ${max})`);
      for (const f of r) assert(f.body.length <= max, "frame body over the limit");
    }
  },
};

const frameArb = fc.record({ cmd: fc.integer({ min: 0, max: 20 }), synSeq: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 31 - 1 })), body: fc.oneof(fc.uint8Array({ maxLength: 300 }), hostileString.map((s) => new Uint8Array(Buffer.from(s.slice(0, 2000))))) });

const framesStreamTarget: FuzzTarget<{ frames: Array<{ cmd: number; synSeq: number; body: Uint8Array }>; tail: Uint8Array | null; cuts: number[]; max: number }> = {
  name: "jim-frames-stream",
  states: "valid frames split at random points come out exactly, in order; a hostile header after them is a FrameError as soon as it is complete; the buffer stays bounded",
  ciRuns: 500,
  arbitrary: fc.record({
    frames: fc.array(frameArb, { maxLength: 5 }),
    tail: fc.option(fc.oneof(hostileHeader.map((b) => new Uint8Array(b)), fc.uint8Array({ minLength: 1, maxLength: 40 })), { nil: null }),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
    max: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constant(65536)),
  }),
  check({ frames, tail, cuts, max }) {
    const encoded = frames.map((f) => encodeFrame(f.cmd, Buffer.from(f.body), f.synSeq));
    const stream = Buffer.concat([...encoded, ...(tail ? [Buffer.from(tail)] : [])]);
    const at = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let prev = 0;
    for (const c of [...at, stream.length]) {
      chunks.push(stream.subarray(prev, c));
      prev = c;
    }
    const dec = new FrameDecoder(max);
    const got: Array<{ cmd: number; synSeq: number; body: Buffer }> = [];
    let failed: FrameError | null = null;
    for (const chunk of chunks) {
      const r = only(() => dec.push(chunk), FrameError);
      if (r instanceof Error) {
        failed = r as FrameError;
        break;
      }
      got.push(...r);
      assert(dec.buffered <= HEADER_MAX + max, `decoder holds ${dec.buffered} bytes (limit ${max})`);
    }
    // What came out is a prefix of what went in, frame for frame (a tail that happens to be a
    // valid frame may add one).
    assert(got.length <= frames.length + (tail ? 1 : 0), "more frames out than in");
    got.slice(0, frames.length).forEach((g, i) => {
      const f = frames[i]!;
      assert(g.cmd === f.cmd && g.synSeq === f.synSeq && Buffer.from(f.body).equals(g.body), `frame ${i} differs`);
    });
    const fits = frames.every((f) => f.body.length <= max);
    if (fits && tail === null) assert(failed === null && got.length === frames.length && dec.buffered === 0, "valid frames were not all read");
    if (!fits) assert(failed !== null, "an over-long frame was not refused");
  },
};

const CHAT_KEYS = ["id", "createTime", "cmd", "extras", "from", "to", "msgType", "chatType", "content", "groupId", "group_id", "GROUPID", "msg_type", "chat_type", "userId", "user_id", "loginname", "password", "token", "fromUserId", "type", "beginTime", "endTime", "offset", "count", "name"];

/** A J-IM request body: an object with known keys (any spelling) and hostile values, or any text. */
const jimBodyArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.array(fc.tuple(fc.constantFrom(...CHAT_KEYS), fieldValue(fc.oneof(hostileId, hostileString, fc.constantFrom("1", "2", " 2 ", "0", "6", "7", "-1", "2.0", "1e3")))), { maxLength: 8 }),
        fc.constantFrom(1, 2, "1", "2", 0, 3, undefined),
        fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, "0", "6", undefined),
        fc.oneof(hostileString, fc.constantFrom("a?fileId=abc&x=1", "http://h/p?fileId=%41%42", "x?fileId=%E0%A4%A", "x?fileId=%", "/f/1", "https://x/" + "y".repeat(70))),
      )
      .map(([kv, chatType, msgType, content]) => JSON.stringify({ chatType, msgType, content, to: "bob", groupId: "s1", ...Object.fromEntries(kv) })),
  },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileJson.map((j) => JSON.stringify(j) ?? "") },
);

const SCHEMAS = [
  [CHAT_FIELDS, chatSchema, {}], [LOGIN_FIELDS, loginSchema, LOGIN_ALIASES], [JOIN_FIELDS, joinSchema, {}], [CLOSE_FIELDS, closeSchema, {}],
  [GET_USER_FIELDS, getUserSchema, {}], [GET_MESSAGE_FIELDS, getMessageSchema, {}], [RECALL_FIELDS, recallSchema, {}],
] as const;

/** An envelope a gateway built: checkEnvelopeIds accepts it with valid, folded ids, or refuses with ImError. */
function checkGatewayEnvelope(env: Envelope): void {
  const r = only(() => checkEnvelopeIds(env), ImError);
  if (!(r instanceof Error)) checkAcceptedIds(r);
}

const jimBodiesTarget: FuzzTarget<{ text: string; sender: string; stored: string }> = {
  name: "jim-bodies",
  states: "parseBodyObject, cmdOf and parseRequest (every schema) never throw; chatToEnvelope/recallToEnvelope return or throw ChatRefusal, and their envelopes pass checkEnvelopeIds or are refused with ImError; messageToJim never throws",
  ciRuns: 600,
  arbitrary: fc.record({ text: jimBodyArb, sender: fc.constantFrom("alice", "bob", "中文", "a.b-c_d"), stored: fc.oneof(hostileString, hostileJson.map((j) => JSON.stringify(j) ?? "")) }),
  check({ text, sender, stored }) {
    const body = parseBodyObject(text);
    assert(body === null || (typeof body === "object" && !Array.isArray(body)), "parseBodyObject returned a non-object");
    const cmd = cmdOf(body);
    assert(cmd === null || Number.isInteger(cmd), "cmdOf returned a non-integer");
    for (const [fields, schema, aliases] of SCHEMAS) parseRequest(body, fields, schema, aliases);
    const chat = parseRequest(body, CHAT_FIELDS, chatSchema);
    if (chat) {
      const env = only(() => chatToEnvelope(chat, sender, 1_700_000_000_000, "0123456789abcdef0123456789abcdef"), ChatRefusal);
      if (!(env instanceof Error)) checkGatewayEnvelope(env);
    }
    const recall = parseRequest(body, RECALL_FIELDS, recallSchema);
    if (recall) {
      const env = only(() => recallToEnvelope(recall, sender, 1_700_000_000_000, "0123456789abcdef0123456789abcdef"), ChatRefusal);
      if (!(env instanceof Error)) checkGatewayEnvelope(env);
    }
    for (const msgType of ["MTT-000", "MTS-001", "MTT-101", "MTB-100", "X"]) {
      for (const dialect of ["v2", "v3"] as const) {
        messageToJim({ msgId: "m", msgFrom: sender, msgTo: "bob", msgType, msgTime: text.slice(0, 20), body: stored, sessionId: msgType.startsWith("MTS") ? "s1" : null, createdAt: 1, hidden: false }, dialect);
      }
    }
  },
};

// ---- e. the HTTP API ----

const ID_POOL = ["s1", "s2", "alice", "bob", "carol", "m1", "m2", "admin", "ALICE", "S1", "Bob", "alice ", "systemMessage"];
const idParam = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ID_POOL) }, { weight: 3, arbitrary: hostileId }, { weight: 1, arbitrary: hostileString });
const numParam = fc.oneof(fc.constantFrom("0", "1", "2", "-1", "max", "MAX", "2147483648", "99999999999999999999", "1e3", " 5 ", "0x10", "", "20"), shortHostile);
const entryArb = fc.record(
  { user_id: fieldValue(idParam), userId: fieldValue(idParam), user_name: fieldValue(hostileString), type: fieldValue(fc.constantFrom("add", "del", "ADD", " del ", "x")), acct_login: fieldValue(shortHostile), user_email: fieldValue(shortHostile), pic_url: fieldValue(shortHostile), app_push_code: fieldValue(shortHostile), password: fieldValue(shortHostile) },
  { requiredKeys: [] },
);
const listParam = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.oneof({ weight: 8, arbitrary: entryArb }, { weight: 1, arbitrary: hostileJson }), { maxLength: 4 }).map((a) => JSON.stringify(a)) },
  { weight: 1, arbitrary: fc.array(entryArb, { maxLength: 3 }).map((a) => JSON.stringify(a).replace(/"([a-z_]+)":/gi, "$1:").replace(/"/g, "'")) },
  { weight: 1, arbitrary: hostileString },
);
const bodyParam = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.record({ text: fieldValue(hostileString), session_id: fieldValue(idParam), msg_id: fieldValue(idParam) }, { requiredKeys: [] }), { minLength: 1, maxLength: 3 }).map((a) => JSON.stringify(a)) },
  { weight: 1, arbitrary: hostileString },
);
const KNOWN_PARAMS: Record<string, fc.Arbitrary<string>> = {
  session_id: idParam, user_id: idParam, other_id: idParam, msg_to: idParam, msgTo: idParam, msg_from: idParam, request_user: idParam, sender: idParam,
  msg_id: idParam, id_: idParam, fileId: idParam, subscribers: listParam, userList: listParam, params: bodyParam,
  session_type: numParam, session_valid: numParam, valid: numParam, start: numParam, length: numParam, style_value: numParam, getThenClear: numParam,
  before: fc.oneof(fc.constantFrom("chat:alice:bob#1", "session:s1#2", "3", "#", "x#99999999999999999"), shortHostile),
  session_name: hostileString, session_pic: hostileString, title: hostileString, content: hostileString, style_name: hostileString,
  registrationId: hostileString, device: hostileString, secret: shortHostile,
};
const paramsArb: fc.Arbitrary<Params> = fc
  .tuple(fc.record(KNOWN_PARAMS, { requiredKeys: [] }), fc.array(fc.tuple(shortHostile, hostileString), { maxLength: 3 }))
  .map(([known, unknown]) => Object.fromEntries([...unknown, ...Object.entries(known)]) as Params);

/** A store with two sessions, three users and a few messages, for routes to find something. */
async function seededCore(): Promise<{ core: ImCore; store: MemoryStore }> {
  const store = new MemoryStore();
  const core = new ImCore(store, { maxTextChars: 3000, revokeWindowS: 120, writeBatchMax: 100, syncPageSize: 50 }, silent);
  const now = "1700000000000";
  await core.directory.put([{ userId: "alice", userName: "Alice" }, { userId: "bob" }, { userId: "carol" }]);
  for (const [sid, members] of [["s1", ["alice", "bob"]], ["s2", ["alice", "carol"]]] as const) {
    await store.sessionCreate(
      { sessionId: sid, sessionType: 1, sessionName: sid, sessionUser: "alice", sessionPic: null, sessionValid: 0, sessionCreateTime: now, sessionModifyTime: null, sessionDeleteTime: null },
      members.map((userId) => ({ sessionId: sid, userId, userName: userId, acctLogin: userId, pic: null, ts: now })),
    );
  }
  const send = (from: string, env: Record<string, unknown>) =>
    core.submit({ sender: { userId: from, resource: "r" }, addressedNode: null, envelope: decodeEnvelope(JSON.stringify({ msg_time: now, ...env })) });
  await send("alice", { msg_id: "m1", msg_to: "bob", msg_type: "MTT-000", body: [{ text: "hi" }] });
  await send("bob", { msg_id: "m2", msg_to: "s1", msg_type: "MTS-000", body: [{ session_id: "s1", text: "hello" }] });
  await core.messaging.business("MTB-100", "alice", '[{"text":"notice"}]');
  return { core, store };
}

/** Every user, session and message id the memory store holds, by where it is held. */
function storedIds(store: MemoryStore): { address: Array<[string, string]>; message: Array<[string, string]> } {
  const s = store as unknown as Record<string, Map<string, any>>;
  const address: Array<[string, string]> = [];
  const message: Array<[string, string]> = [];
  for (const u of s.users!.values()) address.push(["users.user_id", u.userId]);
  for (const x of s.sessions!.values()) address.push(["sessions.session_id", x.sessionId], ["sessions.session_user", x.sessionUser]);
  for (const list of s.members!.values()) for (const m of list) address.push(["session_members.user_id", m.userId], ["session_members.session_id", m.sessionId]);
  for (const conv of s.convs!.values()) {
    for (const m of conv.messages.values()) {
      address.push(["messages.msg_from", m.msgFrom], ["messages.msg_to", m.msgTo]);
      if (m.sessionId !== null) address.push(["messages.session_id", m.sessionId]);
      message.push(["messages.msg_id", m.msgId]);
    }
  }
  for (const userId of s.inboxes!.keys()) address.push(["inbox.user_id", userId]);
  for (const k of s.cursors!.keys()) address.push(["device_cursors.user_id", k.slice(0, k.indexOf("\u0000"))]);
  for (const c of s.chats!.values()) address.push(["chats.user_id", c.userId], ["chats.peer_id", c.peerId]);
  for (const p of s.pubacts!.values()) address.push(["pubacts.user_id", p.userId], ["pubacts.session_id", p.sessionId]);
  for (const x of s.styles!.values()) address.push(["styles.user_id", x.userId]);
  for (const r of s.reads!.values()) address.push(["message_reads.author", r.author], ["message_reads.reader", r.reader]);
  for (const f of s.files!.values()) if (f.userId !== null) address.push(["files.user_id", f.userId]);
  return { address, message };
}

/** A Response stand-in: records what the route answered. */
function fakeRes() {
  const bodies: unknown[] = [];
  const res = {
    statusCode: 200,
    status(code: number) {
      res.statusCode = code;
      return res;
    },
    type: () => res,
    setHeader: () => res,
    json(body: unknown) {
      bodies.push(body);
      return res;
    },
  };
  return { res, bodies };
}

const ROUTE_NAMES = Object.keys(routes);

async function runRoute(route: string, params: Params): Promise<{ store: MemoryStore }> {
  const { core, store } = await seededCore();
  const ctx: RouteContext = { core, presence: () => "offline", provisioner: null, log: silent };
  const { res, bodies } = fakeRes();
  let refused: unknown = null;
  try {
    await routes[route]!(ctx, params, res as never);
  } catch (err) {
    if (!(err instanceof ImError)) throw err;
    refused = err;
  }
  await core.close();
  if (refused) {
    assert(bodies.length === 0, `${route} answered and then threw`);
  } else {
    assert(bodies.length === 1, `${route} answered ${bodies.length} times`);
    const body = JSON.parse(JSON.stringify(bodies[0])) as unknown;
    const isResult = typeof body === "object" && body !== null && typeof (body as { result?: unknown }).result === "string";
    assert(isResult || (route === "findPresence" && Array.isArray(body)), `${route} answered without a result`);
  }
  return { store };
}

const routeArb = fc.record({ route: fc.constantFrom(...ROUTE_NAMES), params: paramsArb });

const httpRoutesTarget: FuzzTarget<{ route: string; params: Params }> = {
  name: "http-routes",
  states: "every route, called with any parameter map over a seeded memory store, answers one JSON body with `result` or throws ImError",
  ciRuns: 600,
  async: true,
  arbitrary: routeArb,
  async check({ route, params }) {
    await runRoute(route, params);
  },
};

const httpStoredIdsTarget: FuzzTarget<{ route: string; params: Params }> = {
  name: "http-stored-ids",
  states: "after any route call, every user/session id the store holds is valid and folded (addressId is a no-op) and every msg_id is valid (messageId)",
  ciRuns: 600,
  async: true,
  arbitrary: routeArb,
  async check({ route, params }) {
    const { store } = await runRoute(route, params);
    const { address, message } = storedIds(store);
    for (const [where, id] of address) {
      const ok = only(() => addressId(id, where), Error);
      assert(ok === id, `${route} stored ${where} ${JSON.stringify(id)}, which ${ok instanceof Error ? `is refused (${ok.message})` : `folds to ${JSON.stringify(ok)}`}`);
    }
    for (const [where, id] of message) {
      const ok = only(() => messageId(id, where), Error);
      assert(ok === id, `${route} stored ${where} ${JSON.stringify(id)}, which is refused`);
    }
  },
};

export const TARGETS: FuzzTarget[] = [
  xmlSafeTarget, jsonXmlSafeTarget, envelopeTarget, stanzaTarget, framesBytesTarget, framesStreamTarget, jimBodiesTarget, httpRoutesTarget, httpStoredIdsTarget,
];

/** The envelope arbitrary, exported for the socket target. */
export { envelopeObject };
