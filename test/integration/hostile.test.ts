// A trust boundary no input can cross (docs/reliability.md): ids and texts that XML cannot carry,
// sent as JSON escapes in well-formed stanzas over XMPP and J-IM, never make tlim write a stanza
// the server refuses (which would close the component stream for every user); ids are refused
// with a readable error, texts travel intact; `Bob` is `bob`; a revoke names (msg_from, msg_id);
// one user's flood gets wait errors while everyone else is served. Real server, SQLite and MariaDB.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/protocol/jim-token.js";
import { jimLogin, JimTcpClient, type JimClient } from "../support/jim-client.js";
import { createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { envelope, envelopeOf, isErrorFor, isMessageWithId, isReceiptFor, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { connectClient, xml, type Element, type TestClient } from "../support/xmpp-client.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";

const PW = "pw";
const SECRET = "hostile-token-secret";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** The envelope as JSON text with the given fields spliced in raw (JSON escapes stay escapes). */
function rawEnvelope(fields: Record<string, string>, body: string): string {
  const head = Object.entries({ compress: "0", encode: "0", encrypt: "0", version: "2.1.0", msg_time: String(Date.now()), ...fields })
    .map(([k, v]) => `"${k}":"${v}"`)
    .join(",");
  return `{${head},"body":${body}}`;
}

describe.each(DB_KINDS)(onServer("hostile input on %s"), (kind) => {
  let server: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  let C: string;
  let linkDrops = 0;
  const users = Array.from({ length: 30 }, (_, i) => `h${i + 1}`);
  let next = 0;
  const fresh = () => users[next++]!;
  const clients: TestClient[] = [];
  const jims: JimClient[] = [];

  const login = async (user: string) => {
    const c = await connectClient(server, user, PW);
    clients.push(c);
    await c.sendPresenceTo(C);
    return c;
  };
  const refusalOf = async (c: TestClient, stanza: Element) => {
    const err = await c.waitFor(isErrorFor(stanza.attrs.id as string), 5000);
    return { code: err.getChildText("body"), error: err.getChild("error")!, text: err.getChild("error")!.getChildText("text", NS_STANZAS) ?? "" };
  };

  beforeAll(async () => {
    server = await startXmppServer({ users: users.map((u) => [u, PW] as [string, string]) });
    C = server.componentDomain;
    db = await createDb(kind, "hostile");
    tlim = await startTestTlim(server, db.url, { jimTokenSecret: SECRET, userRate: 20, userBurst: 20 });
    tlim.xmpp.link.onOffline(() => linkDrops++);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) await c.stop();
    for (const j of jims) j.close();
    await tlim?.stop();
    await server?.stop();
    await db?.drop();
  });

  it("refuses ids XML cannot carry with error-000, keeps the link up, and serves the next message", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await login(a);
    const bob = await login(b);
    await sleep(150);
    const poison: Array<[string, string]> = [
      [rawEnvelope({ msg_from: a, msg_to: "bo\\u0001b", msg_id: "p1", msg_type: "MTT-000" }, '[{"text":"x"}]'), "msg_to"],
      [rawEnvelope({ msg_from: a, msg_to: b, msg_id: "p\\u0001\\ufffe2", msg_type: "MTT-000" }, '[{"text":"x"}]'), "msg_id"],
      [rawEnvelope({ msg_from: a, msg_to: b, msg_id: "p\\ud8003", msg_type: "MTT-000" }, '[{"text":"x"}]'), "msg_id"],
      [rawEnvelope({ msg_from: a, msg_to: "", msg_id: "p4", msg_type: "MTS-000" }, '[{"session_id":"s\\u0007","text":"x"}]'), "session_id"],
      [rawEnvelope({ msg_from: a, msg_to: b, msg_id: "p5", msg_type: "MTT-100" }, '[{"msg_id":"m\\u0000"}]'), "msg_id"],
    ];
    for (const [body, field] of poison) {
      const stanza = tlimMessage(`${b}@${C}`, body);
      await alice.send(stanza);
      const r = await refusalOf(alice, stanza);
      expect(r.code, body).toBe("error-000");
      expect(r.error.getChild("bad-request", NS_STANZAS), body).toBeDefined();
      expect(r.text, body).toContain(field);
      expect(r.text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\ufffd]/);
    }
    const ok = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "still here" }] });
    const s = tlimMessage(`${b}@${C}`, ok);
    await alice.send(s);
    await alice.waitFor(isReceiptFor(s.attrs.id as string), 5000);
    await bob.waitFor(isMessageWithId(ok.msg_id), 5000);
    expect(linkDrops).toBe(0);
    expect(tlim.xmpp.link.isOnline()).toBe(true);
    expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total).toBe(1);
  });

  it("carries texts XML cannot carry (U+FFFE, lone surrogates, controls) to the peer intact, as JSON escapes", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await login(a);
    const bob = await login(b);
    await sleep(150);
    const text = "a\ufffeb\ud800c\u0001d\uffff\u001fe";
    const body = `[{"text":${JSON.stringify(text).replace(/[\ufffe\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16)}`)}}]`;
    const stanza = tlimMessage(`${b}@${C}`, rawEnvelope({ msg_from: a, msg_to: b, msg_id: "txt-1", msg_type: "MTT-000" }, body));
    await alice.send(stanza);
    await alice.waitFor(isReceiptFor(stanza.attrs.id as string), 5000);
    const got = await bob.waitFor(isMessageWithId("txt-1"), 5000);
    expect(envelopeOf(got).body[0].text).toBe(text);
    expect(linkDrops).toBe(0);
  });

  it("folds ids as the server does: a message to 'BOB' reaches bob's inbox and device", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await login(a);
    const bob = await login(b);
    await sleep(150);
    const env = envelope({ msg_from: a.toUpperCase(), msg_to: b.toUpperCase(), msg_type: "MTT-000", body: [{ text: "case" }] });
    const stanza = tlimMessage(`${b}@${C}`, env);
    await alice.send(stanza);
    await alice.waitFor(isReceiptFor(stanza.attrs.id as string), 5000);
    const got = await bob.waitFor(isMessageWithId(env.msg_id), 5000);
    expect(envelopeOf(got)).toMatchObject({ msg_from: a, msg_to: b });
  });

  it("over J-IM: refuses a poison id with 10002 and carries a poison text to an XMPP user; the link stays up", async () => {
    const [a, b] = [fresh(), fresh()];
    const bob = await login(b);
    await sleep(150);
    const alice = await JimTcpClient.connect(tlim.jimPort);
    jims.push(alice);
    expect((await jimLogin(alice, a, { token: signToken(SECRET, a, Math.floor(Date.now() / 1000) + 3600) })).json.code).toBe(10007);
    alice.send(11, { from: a, to: "bo\u0001b", chatType: 2, msgType: 0, content: "x", id: "j-p1" });
    const refused = await alice.next(12);
    expect(refused.json.code).toBe(10002);
    alice.send(11, { from: a, to: b, chatType: 2, msgType: 0, content: "j\ufffek\ud800", id: "j-p2" });
    expect((await alice.next(12)).json.code).toBe(10000);
    const got = await bob.waitFor(isMessageWithId("j-p2"), 5000);
    expect(envelopeOf(got).body[0].text).toBe("j\ufffek\ud800");
    expect(linkDrops).toBe(0);
  });

  it("revokes (msg_from, msg_id): another author's message with the same msg_id stays, in a session and 1:1", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await login(a);
    const bob = await login(b);
    await sleep(150);
    const sessionId = (await tlim.core.sessions.create({ sessionType: 0, owner: a, members: [{ userId: a }, { userId: b }] })).session.sessionId;
    const post = (c: TestClient, from: string, msgType: string, body: unknown, msgId: string) => {
      const s = tlimMessage(`${sessionId}@${C}`, envelope({ msg_id: msgId, msg_from: from, msg_to: sessionId, msg_type: msgType, body }));
      return c.send(s).then(() => c.waitFor(isReceiptFor(s.attrs.id as string), 5000));
    };
    await post(alice, a, "MTS-000", [{ session_id: sessionId, text: "alice's" }], "twin");
    await post(bob, b, "MTS-000", [{ session_id: sessionId, text: "bob's" }], "twin");
    await post(alice, a, "MTS-101", [{ session_id: sessionId, msg_id: "twin" }], "rv-1");
    const history = await tlim.api("findSessionHistory", { session_id: sessionId });
    const texts = history.message_list.map((m: { msg_from: string; msg_type: string }) => `${m.msg_from}:${m.msg_type}`);
    expect(texts).toContain(`${b}:MTS-000`);
    expect(texts).not.toContain(`${a}:MTS-000`);

    const chat = (c: TestClient, from: string, to: string, msgType: string, body: unknown, msgId: string) => {
      const s = tlimMessage(`${to}@${C}`, envelope({ msg_id: msgId, msg_from: from, msg_to: to, msg_type: msgType, body }));
      return c.send(s).then(() => c.waitFor(isReceiptFor(s.attrs.id as string), 5000));
    };
    await chat(alice, a, b, "MTT-000", [{ text: "a" }], "t2");
    await chat(bob, b, a, "MTT-000", [{ text: "b" }], "t2");
    await chat(alice, a, b, "MTT-101", [{ msg_id: "t2" }], "rv-2");
    const h = await tlim.api("findChatHistory", { user_id: a, session_id: b });
    expect(h.message_list.filter((m: { msg_type: string }) => m.msg_type === "MTT-000").map((m: { msg_from: string }) => m.msg_from)).toEqual([b]);
  });

  it("answers one user's flood with wait errors (error-020, resource-constraint) while others are served; nothing half-stored", async () => {
    const [a, b, c, d] = [fresh(), fresh(), fresh(), fresh()];
    const flooder = await login(a);
    const carol = await login(c);
    const dave = await login(d);
    await login(b);
    await sleep(150);
    const flood = Array.from({ length: 300 }, (_, i) => tlimMessage(`${b}@${C}`, envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: `flood ${i}` }] })));
    const others = Array.from({ length: 5 }, (_, i) => envelope({ msg_from: c, msg_to: d, msg_type: "MTT-000", body: [{ text: `calm ${i}` }] }));
    await Promise.all(flood.map((s) => flooder.send(s)));
    for (const e of others) await carol.send(tlimMessage(`${d}@${C}`, e));
    for (const e of others) await dave.waitFor(isMessageWithId(e.msg_id), 5000);
    const ids = new Set(flood.map((s) => s.attrs.id as string));
    const answered = (el: Element) => ids.has(el.attrs.id as string) || ids.has(el.getChild("received", "urn:xmpp:receipts")?.attrs.id as string);
    const answers = await flooder.waitForCount(answered, 300, 20_000);
    const errors = answers.filter((el) => el.attrs.type === "error");
    const receipts = answers.filter((el) => el.attrs.type !== "error");
    expect(errors.length).toBeGreaterThan(0);
    expect(receipts.length).toBeGreaterThanOrEqual(20);
    for (const e of errors) {
      expect(e.getChildText("body")).toBe("error-020");
      expect(e.getChild("error")!.attrs.type).toBe("wait");
      expect(e.getChild("error")!.getChild("resource-constraint", NS_STANZAS)).toBeDefined();
    }
    expect((await tlim.api("findChatHistory", { user_id: a, session_id: b, length: "1000" })).total).toBe(receipts.length);
  });
});
