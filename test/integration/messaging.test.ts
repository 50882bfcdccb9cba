// The spine, end to end: real Prosody, real @xmpp/client users, real tlim on SQLite and MariaDB.
import { beforeAll, describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { DB_KINDS } from "../support/tlim.js";
import { envelope, envelopeOf, isErrorFor, isMessageWithId, isReceiptFor, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { xml } from "../support/xmpp-client.js";
import { onServer } from "../support/xmpp-server.js";

describe.each(DB_KINDS)(onServer("messaging through the XMPP server on %s"), (kind) => {
  const f = useTlim(kind, { prefix: "u" });
  const freshUser = () => f.fresh();
  const login = (user: string, resource?: string, presenceToComponent = true) => f.login(user, resource, presenceToComponent ? {} : false);
  const settle = () => f.settle();
  let C = "";
  let tlim = f.tlim;
  let prosody = f.prosody;
  beforeAll(() => {
    ({ C, tlim, prosody } = f);
  });

  it("stores a 1:1 text first, then delivers it from <sender>@C to the recipient, and acks the sender", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const alice = await login(a);
    const bob = await login(b);
    await settle();
    const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "good morning" }] });
    const stanza = tlimMessage(`${b}@${C}`, env);
    await alice.send(stanza);

    const got = await bob.waitFor(isMessageWithId(env.msg_id));
    expect(got.attrs.from).toBe(`${a}@${C}`);
    expect(got.attrs.type).toBe("chat");
    expect(envelopeOf(got)).toMatchObject({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "good morning" }] });
    await alice.waitFor(isReceiptFor(stanza.attrs.id as string));

    const h = await tlim.api("findChatHistory", { user_id: b, session_id: a, start: "0", length: "10" });
    expect(h.result).toBe("ok");
    expect(h.total).toBe(1);
    expect(h.message_list[0]).toMatchObject({ msg_id: env.msg_id, msg_from: a, msg_to: b, msg_type: "MTT-000" });
    expect(JSON.parse(h.message_list[0].body)).toEqual([{ text: "good morning" }]);
  });

  it("sends picture, file and voice (MTT-001..003) the same way", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const alice = await login(a);
    const bob = await login(b);
    await settle();
    const envs = ["MTT-001", "MTT-002", "MTT-003"].map((t, i) => envelope({ msg_from: a, msg_to: b, msg_type: t, body: [{ fileId: `f${i}` }] }));
    for (const e of envs) await alice.send(tlimMessage(`${b}@${C}`, e));
    for (const e of envs) expect(envelopeOf(await bob.waitFor(isMessageWithId(e.msg_id))).body).toEqual(e.body);
  });

  it("gives the sender's other resources the ASYNC copy from <peer>@C", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const phone = await login(a, "phone");
    const laptop = await login(a, "laptop");
    await login(b);
    await settle();
    const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "from phone" }] });
    await phone.send(tlimMessage(`${b}@${C}`, env));
    const copy = await laptop.waitFor(isMessageWithId(env.msg_id));
    expect(copy.getChildText("subject")).toBe("ASYNC");
    expect(copy.attrs.from).toBe(`${b}@${C}`);
  });

  it("fans a session message out to every member from <session_id>@C, stored once", async () => {
    const [a, b, c] = [freshUser(), freshUser(), freshUser()];
    const created = await tlim.api("addSession", { session_type: "0", request_user: a, subscribers: JSON.stringify([{ user_id: b }, { user_id: c }]) }, { method: "POST" });
    expect(created.result).toBe("ok");
    const sid = created.session_id as string;
    expect(created.subscribers.map((s: any) => s.user_id).sort()).toEqual([a, b, c].sort());
    const [alice, bob, carol] = [await login(a), await login(b), await login(c)];
    await settle();
    const env = envelope({ msg_from: a, msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text: "hello all" }] });
    await alice.send(tlimMessage(`${sid}@${C}`, env));
    for (const member of [alice, bob, carol]) {
      const got = await member.waitFor(isMessageWithId(env.msg_id));
      expect(got.attrs.from).toBe(`${sid}@${C}`);
      expect(envelopeOf(got).body).toEqual([{ session_id: sid, text: "hello all" }]);
    }
    const h = await tlim.api("findSessionHistory", { session_id: sid, start: "0", length: "max" });
    expect(h.total).toBe(1);
    expect(h.message_list[0].msg_id).toBe(env.msg_id);
  });

  it("also routes session messages sent to the bare component domain by body[0].session_id", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const { session_id: sid } = await tlim.api("addSession", { session_type: "0", request_user: a, subscribers: JSON.stringify([{ user_id: b }]) });
    const alice = await login(a);
    const bob = await login(b);
    await settle();
    const env = envelope({ msg_from: a, msg_to: sid, msg_type: "MTS-001", body: [{ session_id: sid, fileId: "pic1" }] });
    await alice.send(tlimMessage(C, env));
    expect((await bob.waitFor(isMessageWithId(env.msg_id))).attrs.from).toBe(`${sid}@${C}`);
  });

  it("acknowledges a resent message again and does not deliver it twice", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const alice = await login(a);
    const bob = await login(b);
    await settle();
    const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "once" }] });
    const first = tlimMessage(`${b}@${C}`, env);
    const second = tlimMessage(`${b}@${C}`, env);
    await alice.send(first);
    await alice.send(second);
    await alice.waitFor(isReceiptFor(first.attrs.id as string));
    await alice.waitFor(isReceiptFor(second.attrs.id as string));
    await bob.waitFor(isMessageWithId(env.msg_id));
    await sleep(300);
    expect(bob.messages().filter(isMessageWithId(env.msg_id))).toHaveLength(1);
    const h = await tlim.api("findChatHistory", { user_id: a, session_id: b, length: "10" });
    expect(h.total).toBe(1);
  });

  it("gives a user who was offline everything after the cursor, in order, once, when it sends presence", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const alice = await login(a);
    const envs = [1, 2, 3, 4, 5].map((i) => envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: `m${i}` }] }));
    for (const e of envs) await alice.send(tlimMessage(`${b}@${C}`, e));
    await alice.waitForCount((el) => el.getChild("received", "urn:xmpp:receipts") !== undefined, 5);

    const bob = await login(b, "phone");
    const got = await bob.waitForCount((el) => el.is("message") && envelopeOf(el)?.msg_from === a, 5);
    expect(got.map((el) => envelopeOf(el).body[0].text)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    expect(got.every((el) => el.getChild("delay", "urn:xmpp:delay") !== undefined)).toBe(true);
    await sleep(300);
    expect(bob.messages().filter((el) => envelopeOf(el)?.msg_from === a)).toHaveLength(5);

    // The device acknowledges the last one (XEP-0184): next time it comes online nothing repeats.
    await bob.send(xml("message", { to: `${a}@${C}` }, xml("received", { xmlns: "urn:xmpp:receipts", id: envs[4]!.msg_id })));
    await sleep(200);
    await bob.stop();
    const bob2 = await login(b, "phone");
    const later = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "m6" }] });
    await settle();
    await alice.send(tlimMessage(`${b}@${C}`, later));
    await bob2.waitFor(isMessageWithId(later.msg_id));
    await sleep(200);
    expect(bob2.messages().filter((el) => envelopeOf(el)?.msg_from === a).map((el) => envelopeOf(el).body[0].text)).toEqual(["m6"]);
  });

  it("a device that read its backlog does not get it again at its next login, though it sent no receipt", async () => {
    // The test client answers XEP-0199 pings (as RFC 6120 §8.2.3 requires of every client) but
    // sends no receipts: tlim's barrier ping behind the backlog proves the device read it.
    const [a, b] = [freshUser(), freshUser()];
    const alice = await login(a);
    const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "once" }] });
    await alice.send(tlimMessage(`${b}@${C}`, env));
    await alice.waitFor((el) => el.getChild("received", "urn:xmpp:receipts") !== undefined);
    const bob = await login(b, "tablet");
    await bob.waitFor(isMessageWithId(env.msg_id));
    await sleep(300); // the barrier's answer reaches tlim
    await bob.stop();
    const again = await login(b, "tablet");
    const later = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "after" }] });
    await alice.send(tlimMessage(`${b}@${C}`, later));
    await again.waitFor(isMessageWithId(later.msg_id));
    expect(again.messages().filter(isMessageWithId(env.msg_id))).toHaveLength(0);
  });

  it("refuses a spoofed msg_from: error to the sender, nothing stored, nothing delivered", async () => {
    const [a, b, m] = [freshUser(), freshUser(), freshUser()];
    const mallory = await login(m);
    const bob = await login(b);
    await settle();
    const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "I am alice" }] });
    const stanza = tlimMessage(`${b}@${C}`, env);
    await mallory.send(stanza);
    const err = await mallory.waitFor(isErrorFor(stanza.attrs.id as string));
    expect(err.getChildText("body")).toMatch(/^error-0\d\d$/);
    expect(err.getChild("error")?.getChild("forbidden", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBeDefined();
    expect(err.getChild("error")?.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas")).toContain("msg_from");
    await sleep(300);
    expect(bob.messages().filter(isMessageWithId(env.msg_id))).toHaveLength(0);
    expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total).toBe(0);
  });

  it("answers malformed JSON with error-005, an unknown class with error-001, an empty body with error-000", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const alice = await login(a);
    const bob = await login(b);
    await settle();
    const cases: Array<[string, string]> = [
      ['{"msg_from":"' + a + '","msg_type":"MTT-000",', "error-005"],
      [JSON.stringify(envelope({ msg_from: a, msg_to: b, msg_type: "XYZ-000", body: [{ text: "x" }] })), "error-001"],
      [JSON.stringify(envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [] })), "error-000"],
      [JSON.stringify(envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "" }] })), "error-000"],
    ];
    for (const [text, code] of cases) {
      const stanza = tlimMessage(`${b}@${C}`, text);
      await alice.send(stanza);
      const err = await alice.waitFor(isErrorFor(stanza.attrs.id as string));
      expect(err.getChildText("body")).toBe(code);
      expect(err.getChild("error")?.getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBeDefined();
    }
    await sleep(200);
    expect(bob.messages().filter((el) => el.getChild("body"))).toHaveLength(0);
    expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total).toBe(0);
  });

  it("refuses a session post from a non-member, and one to an unknown session", async () => {
    const [a, b, outsider] = [freshUser(), freshUser(), freshUser()];
    const { session_id: sid } = await tlim.api("addSession", { session_type: "0", request_user: a, subscribers: JSON.stringify([{ user_id: b }]) });
    const o = await login(outsider);
    const bob = await login(b);
    await settle();
    const env = envelope({ msg_from: outsider, msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text: "let me in" }] });
    const stanza = tlimMessage(`${sid}@${C}`, env);
    await o.send(stanza);
    const err = await o.waitFor(isErrorFor(stanza.attrs.id as string));
    expect(err.getChild("error")?.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas")).toContain("not a member");
    const unknown = tlimMessage(`nosuch@${C}`, envelope({ msg_from: outsider, msg_to: "nosuch", msg_type: "MTS-000", body: [{ session_id: "nosuch", text: "x" }] }));
    await o.send(unknown);
    expect((await o.waitFor(isErrorFor(unknown.attrs.id as string))).getChildText("body")).toBe("error-009");
    await sleep(200);
    expect(bob.messages().filter(isMessageWithId(env.msg_id))).toHaveLength(0);
    expect((await tlim.api("findSessionHistory", { session_id: sid })).total).toBe(0);
  });

  it("stores and returns emoji and CJK intact (utf8mb4)", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const alice = await login(a);
    const bob = await login(b);
    await settle();
    const text = "😀 中文 🎉 👩‍👩‍👧";
    const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text }] });
    await alice.send(tlimMessage(`${b}@${C}`, env));
    expect(envelopeOf(await bob.waitFor(isMessageWithId(env.msg_id))).body[0].text).toBe(text);
    const h = await tlim.api("findChatHistory", { user_id: a, session_id: b });
    expect(JSON.parse(h.message_list[0].body)[0].text).toBe(text);
  });

  it("stores a plain XMPP <body> as MTT-000 text and forwards body-less chat states", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const alice = await login(a);
    const bob = await login(b);
    await settle();
    await alice.send(xml("message", { type: "chat", to: `${b}@${C}`, id: "plain-1" }, xml("body", {}, "hello")));
    const got = await bob.waitFor((el) => el.is("message") && envelopeOf(el)?.msg_type === "MTT-000" && envelopeOf(el)?.body[0].text === "hello");
    expect(envelopeOf(got)).toMatchObject({ msg_from: a, msg_to: b });
    await alice.send(xml("message", { type: "chat", to: `${b}@${C}` }, xml("composing", { xmlns: "http://jabber.org/protocol/chatstates" })));
    const state = await bob.waitFor((el) => el.is("message") && el.getChild("composing", "http://jabber.org/protocol/chatstates") !== undefined);
    expect(state.attrs.from).toBe(`${a}@${C}`);
    expect(alice.messages().filter((el) => el.attrs.type === "error")).toHaveLength(0);
  });

  it("approves a roster subscription to <peer>@C, and syncs when the user's presence then arrives", async () => {
    const [a, b] = [freshUser(), freshUser()];
    const bob = await login(b);
    const env = envelope({ msg_from: b, msg_to: a, msg_type: "MTT-000", body: [{ text: "while you were away" }] });
    await bob.send(tlimMessage(`${a}@${C}`, env));
    await bob.waitFor((el) => el.getChild("received", "urn:xmpp:receipts") !== undefined);

    const alice = await login(a, undefined, false);
    await alice.send(xml("presence", { to: `${b}@${C}`, type: "subscribe" }));
    // The component approves, shows the contact online and asks back.
    await alice.waitFor((el) => el.is("presence") && el.attrs.from === `${b}@${C}` && el.attrs.type === undefined);
    await alice.waitFor((el) => el.is("presence") && el.attrs.from === `${b}@${C}` && el.attrs.type === "subscribe");
    expect(alice.messages().filter(isMessageWithId(env.msg_id))).toHaveLength(0);
    // Approving lets the server send alice's presence to <peer>@C: that is "coming online".
    await alice.send(xml("presence", { to: `${b}@${C}`, type: "subscribed" }));
    // A device whose only link to tlim is a roster contact is a plain XMPP client: it gets the
    // text as <body> and the envelope in a XEP-0335 container (docs/protocol.md "Plain XMPP clients").
    const got = await alice.waitFor((el) => el.is("message") && JSON.parse(el.getChildText("json", "urn:xmpp:json:0") ?? "{}").msg_id === env.msg_id);
    expect(got.attrs.from).toBe(`${b}@${C}`);
    expect(got.getChildText("body")).toBe("while you were away");
  });

  it("answers disco#info, ping and version", async () => {
    const a = freshUser();
    const alice = await login(a, undefined, false);
    const ask = async (child: ReturnType<typeof xml>) => {
      const id = `iq-${Math.random()}`;
      await alice.send(xml("iq", { type: "get", to: C, id }, child));
      return alice.waitFor((el) => el.is("iq") && el.attrs.id === id);
    };
    const disco = await ask(xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }));
    expect(disco.attrs.type).toBe("result");
    const features = disco.getChild("query")!.getChildren("feature").map((f) => f.attrs.var);
    expect(features).toEqual(expect.arrayContaining(["urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:receipts"]));
    expect((await ask(xml("ping", { xmlns: "urn:xmpp:ping" }))).attrs.type).toBe("result");
    const version = await ask(xml("query", { xmlns: "jabber:iq:version" }));
    expect(version.getChild("query")!.getChildText("name")).toBe("tlim");
  });

  it("reports health, and survives an XMPP server restart: the link comes back and delivery resumes", async () => {
    let res = await fetch(`${tlim.httpUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ xmpp: "online", database: "up" });

    const back = tlim.nextOnline(15000);
    await prosody.restart();
    await back;
    res = await fetch(`${tlim.httpUrl}/healthz`);
    expect(res.status).toBe(200);

    const [a, b] = [freshUser(), freshUser()];
    const alice = await login(a);
    const bob = await login(b);
    await settle();
    const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "after restart" }] });
    await alice.send(tlimMessage(`${b}@${C}`, env));
    await bob.waitFor(isMessageWithId(env.msg_id), 8000);
  });
});
