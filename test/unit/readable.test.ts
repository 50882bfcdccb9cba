// What plain XMPP clients show for each kind of stored message (docs/protocol.md "Plain XMPP clients").
import { describe, expect, it } from "vitest";
import { readableText } from "../../src/protocol/readable.js";
import { deliveryStanza } from "../../src/transports/xmpp/stanzas.js";
import type { StoredMessage } from "../../src/store/types.js";

const msg = (msgType: string, body: unknown, extra: Partial<StoredMessage> = {}): StoredMessage => ({
  convId: "chat:a:b", seq: 1, msgId: "m1", msgFrom: "alice", msgTo: "bob", msgType, msgTime: "1", body: JSON.stringify(body),
  sessionId: null, compress: "0", encode: "0", encrypt: "0", version: "2.1.0", createdAt: 0, revoked: false, hidden: false, ...extra,
});

describe("readable text for plain clients", () => {
  it("shows text, kinds, notices and business messages; a session line says who wrote it", () => {
    expect(readableText(msg("MTT-000", [{ text: "hi" }, { text: "there" }]))).toBe("hi\nthere");
    expect(readableText(msg("MTT-001", [{ fileId: "f1" }]))).toBe("[图片 picture] f1");
    expect(readableText(msg("MTT-003", [{ file_id: "v9" }]))).toBe("[语音 voice] v9");
    expect(readableText(msg("MTT-101", [{ msg_id: "m0" }]))).toBe("撤回了一条消息 (revoked a message)");
    expect(readableText(msg("MTS-000", [{ session_id: "s", text: "all" }], { sessionId: "s" }))).toBe("alice: all");
    expect(readableText(msg("MTS-102", [{ session_id: "s", session_name: "Ops" }], { sessionId: "s" }))).toBe("alice: 会话改名 (session renamed): Ops");
    expect(readableText(msg("MTB-100", "[{\"x\":1}]", { msgFrom: "admin" }))).toBe("收到一条系统消息 (system message)");
    expect(readableText(msg("MTT-777", [{}]))).toBe("收到了一条新消息 (new message)");
    expect(readableText(msg("MTT-100", [{ msg_id: "m0" }], { hidden: true }))).toBeNull();
  });

  it("writes a plain device's stanza with the text as body and the envelope in a XEP-0335 container", () => {
    const m = msg("MTT-000", [{ text: "a < b & \ufffe" }]);
    const xml = deliveryStanza({ component: "tlim.localhost", users: "localhost" }, { userId: "bob", inboxSeq: 1, message: m }, { to: "bob@localhost/x", type: "chat", delayed: false, plain: true });
    expect(xml).toContain("<body>a &lt; b &amp; \ufffd</body>");
    expect(xml).toContain('<json xmlns="urn:xmpp:json:0">');
    expect(xml).toContain("\\ufffe"); // the envelope keeps the exact text, as a JSON escape
    const receipt = deliveryStanza({ component: "tlim.localhost", users: "localhost" }, { userId: "bob", inboxSeq: 2, message: msg("MTT-100", [{ msg_id: "m0" }], { hidden: true }) }, { to: "bob@localhost/x", type: "chat", delayed: false, plain: true });
    expect(receipt).not.toContain("<body>");
    expect(receipt).toContain('<displayed xmlns="urn:xmpp:chat-markers:0" id="m0"/>');
  });
});
