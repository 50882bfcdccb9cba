import { describe, expect, it } from "vitest";
import { encodeBody, encodeEnvelope, normaliseBody } from "../../src/protocol/envelope.js";
import type { StoredMessage } from "../../src/store/types.js";
import { deliveryStanza, envelopeText, receiptStanza } from "../../src/transports/xmpp/stanzas.js";
import xml, { Parser, type Element } from "@xmpp/xml";
import { conversationNode } from "../../src/core/conversation.js";

function stored(body: string): StoredMessage {
  return {
    convId: "chat:a:b", seq: 1, msgId: "m\"1", msgFrom: "a", msgTo: "b", msgType: "MTT-000", msgTime: "1700000000123",
    body, sessionId: null, compress: "0", encode: "0", encrypt: "1", version: "2.1.0", createdAt: 1, revoked: false, hidden: false,
  };
}

describe("envelopeText", () => {
  it("splices the stored body into exactly the bytes encodeEnvelope produces", () => {
    const bodies = [
      [{ text: "😀 中文 \"quoted\" \\ back\nslash \u2028" }],
      [{ confTime: 1700000000000, n: 1.5, f: false, nested: { a: [1, null] } }],
      normaliseBody("[{fileId:'x', session_id: 's'}]"),
    ];
    for (const body of bodies) {
      const m = stored(encodeBody(body));
      const expected = encodeEnvelope({
        compress: m.compress, encode: m.encode, encrypt: m.encrypt, version: m.version, msg_from: m.msgFrom,
        msg_to: m.msgTo, msg_id: m.msgId, msg_type: m.msgType, msg_time: m.msgTime, body,
      });
      expect(envelopeText(m)).toBe(expected);
      expect(envelopeText(m)).toBe(expected); // cached
    }
  });
});

/** One stanza parsed the way the component link parses what it reads (a stream Parser). */
function parse(text: string): Element {
  const p = new Parser();
  let root: Element | null = null;
  let error: unknown = null;
  p.on("start", (el: Element) => (root = el));
  p.on("element", (el: Element) => root!.append(el));
  p.on("error", (err: unknown) => (error = err));
  p.write(text);
  p.end("");
  if (error) throw error;
  return root!;
}

describe("deliveryStanza", () => {
  const d = { component: "im.example", users: "example" };
  const item = (m: StoredMessage, userId: string) => ({ userId, inboxSeq: 7, message: m });

  /** The same stanza built as an element tree, as ltx would write it. */
  function viaLtx(m: StoredMessage, userId: string, to: string, type: string, delayed: boolean): string {
    const own = m.msgFrom === userId && m.sessionId === null;
    return xml(
      "message",
      { type, from: `${conversationNode(item(m, userId))}@${d.component}`, to, id: m.msgId },
      ...(own ? [xml("subject", {}, "ASYNC")] : []),
      xml("body", {}, envelopeText(m)),
      xml("request", { xmlns: "urn:xmpp:receipts" }),
      xml("no-store", { xmlns: "urn:xmpp:hints" }),
      ...(delayed ? [xml("delay", { xmlns: "urn:xmpp:delay", from: d.component, stamp: new Date(m.createdAt).toISOString() })] : []),
    ).toString();
  }

  it("writes exactly what the element tree would, escapes included", () => {
    const m = { ...stored(encodeBody([{ text: "<b>&amp; \"q\" 'a' ]]>" }])), msgId: "id<&>\"'" };
    for (const [userId, to, type, delayed] of [
      ["b", "b@example", "chat", false],
      ["a", "a@example", "headline", false],
      ["b", "b@example/phone&'\"", "chat", true],
    ] as const) {
      const text = deliveryStanza(d, item(m, userId), { to, type, delayed });
      expect(text).toBe(viaLtx(m, userId, to, type, delayed));
      // Well-formed, and the body parses back to the envelope.
      const parsed = parse(text);
      expect(parsed.getChildText("body")).toBe(envelopeText(m));
      expect(parsed.attrs.id).toBe(m.msgId);
      expect(parsed.attrs.to).toBe(to);
    }
  });
});

describe("receiptStanza", () => {
  it("writes what the element tree would, escapes included", () => {
    const original = xml("message", { from: "a'b@example/r&1", to: "b\"<c>@im.example", id: "id<&>\"'" });
    const text = receiptStanza(original);
    expect(text).toBe(xml("message", { from: original.attrs.to, to: original.attrs.from }, xml("received", { xmlns: "urn:xmpp:receipts", id: original.attrs.id })).toString());
    expect(parse(text).getChild("received")?.attrs.id).toBe(original.attrs.id);
  });
});
