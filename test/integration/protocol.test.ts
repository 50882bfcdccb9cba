// Every msg_type family through a real Prosody with real clients, on SQLite and MariaDB:
// content and fallbacks, read receipts, revoke, session notices and dissolve, business messages,
// pass-through, multi-device, presence bookkeeping, limits and markers.
import { beforeAll, describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { DB_KINDS, type TestTlim } from "../support/tlim.js";
import { envelope, envelopeOf, isErrorFor, isMessageWithId, isReceiptFor, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { xml, type TestClient } from "../support/xmpp-client.js";
import { onServer } from "../support/xmpp-server.js";

const REVOKE_WINDOW_S = 2;

describe.each(DB_KINDS)(onServer("the tlim protocol on %s"), (kind) => {
  const f = useTlim(kind, { prefix: "p", users: 70, overrides: { revokeWindowS: REVOKE_WINDOW_S, maxBodyChars: 20000 } });
  const fresh = () => f.fresh();
  const login = f.login;
  const settle = f.settle;
  let C = "";
  let tlim: TestTlim;
  beforeAll(() => {
    ({ C, tlim } = f);
  });
  const session = async (owner: string, ...members: string[]) =>
    (await tlim.api("addSession", { session_type: "0", request_user: owner, subscribers: JSON.stringify(members.map((user_id) => ({ user_id }))) })).session_id as string;
  /** Sends and waits for the XEP-0184 ack of the commit. */
  const sendStored = async (c: TestClient, to: string, env: ReturnType<typeof envelope>) => {
    const stanza = tlimMessage(to, env);
    await c.send(stanza);
    await c.waitFor((el) => isReceiptFor(stanza.attrs.id as string)(el) || isErrorFor(stanza.attrs.id as string)(el));
    const err = c.received.find(isErrorFor(stanza.attrs.id as string));
    if (err) throw new Error(`refused: ${err.toString()}`);
  };
  const refused = async (c: TestClient, to: string, env: ReturnType<typeof envelope> | string) => {
    const stanza = tlimMessage(to, env);
    await c.send(stanza);
    return c.waitFor(isErrorFor(stanza.attrs.id as string));
  };
  const errorText = (el: ReturnType<TestClient["messages"]>[number]) =>
    el.getChild("error")?.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas") ?? "";

  describe("content", () => {
    it("MTT-004, MTT-102, MTT-200, MTT-201 and an unlisted MTT-* are stored and delivered like 1:1 content", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const bob = await login(b);
      await settle();
      const bodies: Array<[string, unknown]> = [
        ["MTT-004", [{ confId: "R-1", confPwd: "1", confName: "sync", confHost: a, confTime: "1700000300000" }]],
        ["MTT-102", [{ note: "single session" }]],
        ["MTT-200", [{ info: "wipe our history?" }]],
        ["MTT-201", [{ status: 0 }]],
        ["MTT-555", [{ anything: "goes" }]],
      ];
      const envs = bodies.map(([t, body]) => envelope({ msg_from: a, msg_to: b, msg_type: t, body }));
      for (const e of envs) await sendStored(alice, `${b}@${C}`, e);
      for (const e of envs) expect(envelopeOf(await bob.waitFor(isMessageWithId(e.msg_id)))).toMatchObject({ msg_type: e.msg_type, body: e.body });
      expect((await tlim.api("findChatHistory", { user_id: b, session_id: a, length: "max" })).total).toBe(5);
    });

    it("MTS-002..004, the notices MTS-102..106 and an unlisted MTS-* fan out like session content", async () => {
      const [a, b] = [fresh(), fresh()];
      const sid = await session(a, b);
      const alice = await login(a);
      const bob = await login(b);
      await settle();
      const bodies: Array<[string, Record<string, unknown>]> = [
        ["MTS-002", { fileId: "f1" }], ["MTS-003", { fileId: "v1" }],
        ["MTS-004", { confId: "R", confPwd: "p", confName: "n", confHost: a, confTime: "1" }],
        ["MTS-102", { session_name: "Project X" }], ["MTS-103", { subscribers: [{ user_id: b, user_name: "B" }] }],
        ["MTS-104", { user_id: b, user_name: "B" }], ["MTS-105", { session_user: a, subscribers: [{ user_id: a }, { user_id: b }] }],
        ["MTS-106", { subscribers: [{ user_id: b }] }], ["MTS-900", { custom: true }],
      ];
      const envs = bodies.map(([t, extra]) => envelope({ msg_from: a, msg_to: sid, msg_type: t, body: [{ session_id: sid, ...extra }] }));
      for (const e of envs) await sendStored(alice, `${sid}@${C}`, e);
      for (const e of envs) {
        const got = await bob.waitFor(isMessageWithId(e.msg_id));
        expect(got.attrs.from).toBe(`${sid}@${C}`);
        expect(envelopeOf(got).msg_type).toBe(e.msg_type);
      }
      expect((await tlim.api("findSessionHistory", { session_id: sid, length: "max" })).total).toBe(envs.length);
    });

    it("MTC-000 and a client-sent MTB pass through to the addressee, unstored", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const bob = await login(b);
      await settle();
      const envs = [
        envelope({ msg_from: a, msg_to: b, msg_type: "MTC-000", body: [{ msg_id: "x" }] }),
        envelope({ msg_from: a, msg_to: b, msg_type: "MTB-001", body: [{ free: "form" }] }),
      ];
      for (const e of envs) await alice.send(tlimMessage(`${b}@${C}`, e));
      for (const e of envs) expect((await bob.waitFor(isMessageWithId(e.msg_id))).attrs.from).toBe(`${a}@${C}`);
      expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total).toBe(0);
    });
  });

  describe("read receipts", () => {
    it("MTT-100 from a [web] device reaches the author, is recorded with status 1, and stays out of history", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const bobWeb = await login(b, "0c1d[web]");
      await settle();
      const msg = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "read me" }] });
      await sendStored(alice, `${b}@${C}`, msg);
      await bobWeb.waitFor(isMessageWithId(msg.msg_id));
      const receipt = envelope({ msg_from: b, msg_to: a, msg_type: "MTT-100", body: [{ msg_id: msg.msg_id }] });
      await sendStored(bobWeb, `${a}@${C}`, receipt);
      expect((await alice.waitFor(isMessageWithId(receipt.msg_id))).attrs.from).toBe(`${b}@${C}`);
      const status = await tlim.api("findStatusList", { msg_id: msg.msg_id, sender: a });
      expect(status.ofStatusList).toEqual([expect.objectContaining({ msg_id: msg.msg_id, sender: a, reader: b, status: 1 })]);
      const reads = await tlim.api("findChatRead", { msg_from: a, msg_to: b, start: "0", length: "10" });
      expect(reads.messageReadList).toEqual([{ msg_id: msg.msg_id, readNum: 1, memberNum: 1 }]);
      expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total).toBe(1);
    });

    it("a receipt for an offline author waits in the author's inbox; a mobile read is status 2", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a, "phone");
      const bob = await login(b, "x[android]");
      await settle();
      const msg = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "later" }] });
      await sendStored(alice, `${b}@${C}`, msg);
      await bob.waitFor(isMessageWithId(msg.msg_id));
      await alice.stop();
      await sleep(200);
      const receipt = envelope({ msg_from: b, msg_to: a, msg_type: "MTT-100", body: [{ msg_id: msg.msg_id }] });
      await sendStored(bob, `${a}@${C}`, receipt);
      const back = await login(a, "phone");
      await back.waitFor(isMessageWithId(receipt.msg_id));
      expect((await tlim.api("findStatusList", { msg_id: msg.msg_id, sender: a })).ofStatusList[0].status).toBe(2);
    });

    it("MTS-100 fans out to the members and counts 'read by N of M' per session message", async () => {
      const [a, b, c] = [fresh(), fresh(), fresh()];
      const sid = await session(a, b, c);
      const [alice, bob, carol] = [await login(a), await login(b), await login(c)];
      await settle();
      const msg = envelope({ msg_from: a, msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text: "all read?" }] });
      await sendStored(alice, `${sid}@${C}`, msg);
      await carol.waitFor(isMessageWithId(msg.msg_id));
      // msg_to is whatever the client put there (the demo used the session id); the author is looked up
      // (docs/architecture.md "Read marks are keyed to the author tlim looks up").
      const receipt = envelope({ msg_from: b, msg_to: sid, msg_type: "MTS-100", body: [{ session_id: sid, msg_id: msg.msg_id }] });
      await sendStored(bob, `${sid}@${C}`, receipt);
      await alice.waitFor(isMessageWithId(receipt.msg_id));
      await carol.waitFor(isMessageWithId(receipt.msg_id));
      const reads = await tlim.api("findSessionRead", { session_id: sid, sender: a, start: "0", length: "10" });
      expect(reads.messageReadList).toEqual([{ msg_id: msg.msg_id, readNum: 1, memberNum: 2 }]);
      expect((await tlim.api("findSessionHistory", { session_id: sid })).total).toBe(1);
    });
  });

  describe("revoke", () => {
    it("MTT-101 by the author: the notice is delivered, the original leaves history and every inbox", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const msg = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "oops" }] });
      const kept = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "fine" }] });
      await sendStored(alice, `${b}@${C}`, msg);
      await sendStored(alice, `${b}@${C}`, kept);
      const rev = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-101", body: [{ msg_id: msg.msg_id }] });
      await sendStored(alice, `${b}@${C}`, rev);
      const h = await tlim.api("findChatHistory", { user_id: a, session_id: b, length: "max" });
      expect(h.message_list.map((m: any) => m.msg_id)).toEqual([rev.msg_id, kept.msg_id]);
      // Bob was offline: his backlog has the kept message and the notice, not the original.
      const bob = await login(b);
      await bob.waitFor(isMessageWithId(rev.msg_id));
      expect(bob.messages().filter(isMessageWithId(msg.msg_id))).toHaveLength(0);
      expect(bob.messages().filter(isMessageWithId(kept.msg_id))).toHaveLength(1);
      // Revoking again is acknowledged and changes nothing; no second notice is delivered.
      const again = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-101", body: [{ msg_id: msg.msg_id }] });
      await sendStored(alice, `${b}@${C}`, again);
      await sleep(300);
      expect(bob.messages().filter(isMessageWithId(again.msg_id))).toHaveLength(0);
    });

    it("refuses a revoke by someone else, of an unknown message, and after the window", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const bob = await login(b);
      await settle();
      const msg = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "mine" }] });
      await sendStored(alice, `${b}@${C}`, msg);
      const notMine = await refused(bob, `${a}@${C}`, envelope({ msg_from: b, msg_to: a, msg_type: "MTT-101", body: [{ msg_id: msg.msg_id }] }));
      expect(errorText(notMine)).toContain("only the author");
      const unknown = await refused(alice, `${b}@${C}`, envelope({ msg_from: a, msg_to: b, msg_type: "MTT-101", body: [{ msg_id: "no-such-id" }] }));
      expect(unknown.getChildText("body")).toBe("error-017");
      await sleep(REVOKE_WINDOW_S * 1000 + 300);
      const late = await refused(alice, `${b}@${C}`, envelope({ msg_from: a, msg_to: b, msg_type: "MTT-101", body: [{ msg_id: msg.msg_id }] }));
      expect(errorText(late)).toContain("can be revoked within");
      expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total).toBe(1);
    });

    it("MTS-101: the session owner may revoke a member's message, another member may not", async () => {
      const [owner, b, c] = [fresh(), fresh(), fresh()];
      const sid = await session(owner, b, c);
      const [o, bob, carol] = [await login(owner), await login(b), await login(c)];
      await settle();
      const msg = envelope({ msg_from: b, msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text: "off-topic" }] });
      await sendStored(bob, `${sid}@${C}`, msg);
      const denied = await refused(carol, `${sid}@${C}`, envelope({ msg_from: c, msg_to: sid, msg_type: "MTS-101", body: [{ session_id: sid, msg_id: msg.msg_id }] }));
      expect(denied.getChild("error")?.getChild("forbidden", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBeDefined();
      const rev = envelope({ msg_from: owner, msg_to: sid, msg_type: "MTS-101", body: [{ session_id: sid, msg_id: msg.msg_id }] });
      await sendStored(o, `${sid}@${C}`, rev);
      await carol.waitFor(isMessageWithId(rev.msg_id));
      const h = await tlim.api("findSessionHistory", { session_id: sid, length: "max" });
      expect(h.message_list.map((m: any) => m.msg_id)).toEqual([rev.msg_id]);
    });
  });

  describe("session dissolve (MTS-107)", () => {
    it("is refused from a member who is not the owner", async () => {
      const [owner, b] = [fresh(), fresh()];
      const sid = await session(owner, b);
      const bob = await login(b);
      await settle();
      const err = await refused(bob, `${sid}@${C}`, envelope({ msg_from: b, msg_to: sid, msg_type: "MTS-107", body: [{ session_id: sid }] }));
      expect(errorText(err)).toContain("only the session owner");
    });

    it("from the owner notifies every member (offline too), then the session is gone", async () => {
      const [owner, b, c] = [fresh(), fresh(), fresh()];
      const sid = await session(owner, b, c);
      const [o, bob] = [await login(owner), await login(b)];
      await settle();
      await sendStored(bob, `${sid}@${C}`, envelope({ msg_from: b, msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text: "bye" }] }));
      const notice = envelope({ msg_from: owner, msg_to: sid, msg_type: "MTS-107", body: [{ session_id: sid }] });
      await sendStored(o, `${sid}@${C}`, notice);
      await bob.waitFor(isMessageWithId(notice.msg_id));
      const carol = await login(c); // was offline: the notice waits in the inbox
      await carol.waitFor(isMessageWithId(notice.msg_id));
      const after = await refused(bob, `${sid}@${C}`, envelope({ msg_from: b, msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text: "anyone?" }] }));
      expect(after.getChildText("body")).toMatch(/^error-0\d\d$/);
      const h = await tlim.api("findSessionHistory", { session_id: sid, length: "max" });
      expect(h.message_list.map((m: any) => m.msg_id)).toEqual([notice.msg_id]);
    });
  });

  describe("business messages (server-originated)", () => {
    it("systemMessage, approval and approvalBack are stored and delivered from admin@C, also to an offline user", async () => {
      const [u, v] = [fresh(), fresh()];
      const user = await login(u);
      await settle();
      const sys = [{ title: "Notice", content: "Office closed", ts: "2026-11-22:09:00:00", type: 2, typeName: "通知公告" }];
      const r = await tlim.api("systemMessage", { msgTo: u, params: JSON.stringify(sys) }, { method: "POST" });
      expect(r).toMatchObject({ result: "ok", msg_type: "MTB-100" });
      const got = await user.waitFor(isMessageWithId(r.msg_id));
      expect(got.attrs.from).toBe(`admin@${C}`);
      expect(envelopeOf(got)).toMatchObject({ msg_from: "admin", msg_to: u, msg_type: "MTB-100", body: sys });

      const approval = await tlim.api("approval", { msgTo: v, params: "[{bizId:'B1',docTitle:'Trip',solId:'S',spType:'1052M001',wzType:'w',taskId:'T1'}]" });
      const back = await tlim.api("approvalBack", { msgTo: v, params: JSON.stringify([{ taskId: "T1", comment: "no" }]) });
      expect([approval.msg_type, back.msg_type]).toEqual(["MTB-000", "MTB-001"]);
      const later = await login(v);
      await later.waitFor(isMessageWithId(back.msg_id));
      expect(envelopeOf(later.messages().find(isMessageWithId(approval.msg_id))!).body[0].bizId).toBe("B1");
      const bad = await tlim.api("systemMessage", { msgTo: u, params: "{not an array" });
      expect(bad.result).not.toBe("ok");
      expect((await tlim.api("approval", { params: "[]" })).result).toBe("error-008");
    });
  });

  describe("devices and presence", () => {
    it("delivers to every resource of the recipient and recognises [web], [ios], [android]", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const devices = [await login(b, "u1[web]"), await login(b, "u2[ios]"), await login(b, "u3[android]")];
      await settle();
      const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "everywhere" }] });
      await sendStored(alice, `${b}@${C}`, env);
      for (const d of devices) await d.waitFor(isMessageWithId(env.msg_id));
    });

    it("an unavailable device stops live pushes; it gets what it missed once on its next presence", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const bob = await login(b, "desk");
      await settle();
      const first = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "live" }] });
      await sendStored(alice, `${b}@${C}`, first);
      await bob.waitFor(isMessageWithId(first.msg_id));
      await bob.sendPresenceTo(C, { type: "unavailable" });
      await settle();
      const missed = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "missed" }] });
      await sendStored(alice, `${b}@${C}`, missed);
      await sleep(300);
      expect(bob.messages().filter(isMessageWithId(missed.msg_id))).toHaveLength(0);
      await bob.sendPresenceTo(C);
      await bob.waitFor(isMessageWithId(missed.msg_id));
      await sleep(200);
      expect(bob.messages().filter(isMessageWithId(first.msg_id))).toHaveLength(1);
      expect(bob.messages().filter(isMessageWithId(missed.msg_id))).toHaveLength(1);
    });

    it("a device with <show>away</show> still receives live messages", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const bob = await login(b, "pager", {});
      await settle();
      await bob.send(xml("presence", { to: C }, xml("show", {}, "away")));
      await settle();
      const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "psst" }] });
      await sendStored(alice, `${b}@${C}`, env);
      await bob.waitFor(isMessageWithId(env.msg_id));
    });
  });

  describe("limits and interop", () => {
    it("accepts 3000 characters of text (emoji count as one) and refuses 3001; refuses an oversized stanza body", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      await settle();
      await sendStored(alice, `${b}@${C}`, envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "é".repeat(2999) + "😀" }] }));
      const long = await refused(alice, `${b}@${C}`, envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "x".repeat(3001) }] }));
      expect(long.getChildText("body")).toBe("error-013");
      expect(errorText(long)).toContain("3000");
      const huge = await refused(alice, `${b}@${C}`, envelope({ msg_from: a, msg_to: b, msg_type: "MTT-002", body: Array.from({ length: 400 }, (_, i) => ({ fileId: `file-${i}`.padEnd(60, "x") })) }));
      expect(huge.getChildText("body")).toBe("error-013");
      expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total).toBe(1);
    });

    it("forwards a receipt to the peer's online devices only, typed, with <no-store/>: an offline peer's server keeps nothing to replay; receipts to system messages go nowhere", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const bob = await login(b);
      await settle();
      const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "read me" }] });
      await sendStored(alice, `${b}@${C}`, env);
      await bob.waitFor(isMessageWithId(env.msg_id));
      await bob.send(xml("message", { to: `${a}@${C}` }, xml("received", { xmlns: "urn:xmpp:receipts", id: env.msg_id })));
      const receipt = await alice.waitFor((el) => el.getChild("received", "urn:xmpp:receipts")?.attrs.id === env.msg_id);
      expect(receipt.attrs).toMatchObject({ from: `${b}@${C}`, type: "chat", to: alice.jid });
      expect(receipt.getChild("no-store", "urn:xmpp:hints")).toBeDefined();

      // alice offline: bob's next receipt is not sent at all (it would be stored and replayed).
      const second = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: "and me" }] });
      await sendStored(alice, `${b}@${C}`, second);
      await bob.waitFor(isMessageWithId(second.msg_id));
      await alice.stop();
      await settle();
      await bob.send(xml("message", { to: `${a}@${C}` }, xml("received", { xmlns: "urn:xmpp:receipts", id: second.msg_id })));
      await settle();
      const again = await login(a);
      await sleep(500);
      expect(again.messages().filter((el) => el.getChild("received", "urn:xmpp:receipts") !== undefined)).toEqual([]);

      // A system message's receipt: the "sender" is the server user, which has no account.
      await tlim.api("systemMessage", { msgTo: b, params: JSON.stringify([{ title: "t" }]) });
      const sys = await bob.waitFor((el) => envelopeOf(el)?.msg_type === "MTB-100");
      await bob.send(xml("message", { to: `admin@${C}` }, xml("received", { xmlns: "urn:xmpp:receipts", id: sys.attrs.id })));
      await settle();
      expect(bob.messages().filter((el) => el.attrs.type === "error")).toEqual([]);
    });

    it("forwards XEP-0333 chat markers without a body, never bouncing them", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await login(a);
      const bob = await login(b);
      await settle();
      await bob.send(xml("message", { to: `${a}@${C}`, type: "chat" }, xml("displayed", { xmlns: "urn:xmpp:chat-markers:0", id: "m-1" })));
      const marker = await alice.waitFor((el) => el.getChild("displayed", "urn:xmpp:chat-markers:0") !== undefined);
      expect(marker.attrs.from).toBe(`${b}@${C}`);
      expect(bob.messages().filter((el) => el.attrs.type === "error")).toHaveLength(0);
    });
  });
});
