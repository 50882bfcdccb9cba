import { describe, expect, it } from "vitest";
import { encodeBody, encodeEnvelope, normaliseBody } from "../../src/protocol/envelope.js";
import type { StoredMessage } from "../../src/store/types.js";
import { envelopeText } from "../../src/transports/xmpp/stanzas.js";

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
