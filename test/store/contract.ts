// The Store contract suite (docs/architecture.md "One store contract; a missing server fails the tests"): run unchanged against every implementation.
// Everything is checked through the public Store API.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  chatConvId,
  sessionConvId,
  type CommitOutcome,
  type Member,
  type NewMessage,
  type Pubact,
  type PurgeCursor,
  type Session,
  type Store,
  type StoredFile,
  type StoredMessage,
  type User,
} from "../../src/store/types.js";

export interface StoreFixture {
  store: Store;
  /** Another store on the same database (a second instance), when the implementation has one. */
  second?: () => Promise<Store>;
  cleanup(): Promise<void>;
}

let counter = 0;
const nextId = () => `m${++counter}-${Math.random().toString(36).slice(2, 8)}`;

const ref = (m: NewMessage) => ({ msgFrom: m.msgFrom, msgId: m.msgId });

export function chat(from: string, to: string, extra: Partial<NewMessage> = {}): NewMessage {
  const msgId = nextId();
  return {
    convId: chatConvId(from, to),
    msgId,
    msgFrom: from,
    msgTo: to,
    msgType: "MTT-000",
    msgTime: String(1_700_000_000_000 + counter),
    body: JSON.stringify([{ text: `hello ${msgId}` }]),
    sessionId: null,
    compress: "0",
    encode: "0",
    encrypt: "0",
    version: "1.0",
    recipients: [to, from],
    ...extra,
  };
}

export function post(from: string, sessionId: string, extra: Partial<NewMessage> = {}): NewMessage {
  return chat(from, sessionId, {
    convId: sessionConvId(sessionId),
    msgType: "MTS-000",
    sessionId,
    recipients: { sessionMembersOf: sessionId },
    body: JSON.stringify([{ session_id: sessionId, text: "hello all" }]),
    ...extra,
  });
}

export function sessionOf(sessionId: string, owner: string, extra: Partial<Session> = {}): Session {
  return {
    sessionId,
    sessionType: 1,
    sessionName: `Session ${sessionId}`,
    sessionUser: owner,
    sessionPic: null,
    sessionValid: 0,
    sessionCreateTime: "1700000000000",
    sessionModifyTime: null,
    sessionDeleteTime: null,
    ...extra,
  };
}

export function memberOf(sessionId: string, userId: string, ts: number, extra: Partial<Member> = {}): Member {
  return { sessionId, userId, userName: `User ${userId}`, acctLogin: userId, pic: null, ts: String(ts), ...extra };
}

function stored(o: CommitOutcome | undefined): Extract<CommitOutcome, { status: "stored" }> {
  expect(o?.status).toBe("stored");
  return o as Extract<CommitOutcome, { status: "stored" }>;
}

function duplicate(o: CommitOutcome | undefined): StoredMessage {
  expect(o?.status).toBe("duplicate");
  return (o as Extract<CommitOutcome, { status: "duplicate" }>).message;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

export function describeStoreContract(
  name: string,
  makeStore: () => Promise<StoreFixture>,
  opts: { multiInstance?: boolean } = {},
): void {
  describe(`Store contract: ${name}`, () => {
    let fx: StoreFixture | undefined;
    let store: Store;

    beforeEach(async () => {
      fx = await makeStore();
      store = fx.store;
    });
    afterEach(async () => {
      await fx?.cleanup();
      fx = undefined;
    });

    const allInbox = (user: string) => store.inboxAfter(user, 0, 100_000);
    /** Tests that need a second instance on the same database (not applicable to memory). */
    const multi = (title: string, fn: () => Promise<void>) => {
      if (opts.multiInstance) it(title, fn);
    };

    it("stores 1:1 messages with contiguous seqs per conversation and per inbox", async () => {
      const m1 = chat("alice", "bob");
      const m2 = chat("bob", "alice");
      const m3 = chat("alice", "carol");
      const m4 = chat("alice", "bob");
      const o1 = stored((await store.commitBatch([m1]))[0]);
      const o2 = stored((await store.commitBatch([m2]))[0]);
      const o3 = stored((await store.commitBatch([m3]))[0]);
      const o4 = stored((await store.commitBatch([m4]))[0]);

      expect([o1.message.seq, o2.message.seq, o4.message.seq]).toEqual([1, 2, 3]);
      expect(o3.message.seq).toBe(1);
      expect(o1.inbox).toEqual([{ userId: "bob", inboxSeq: 1 }, { userId: "alice", inboxSeq: 1 }]);
      expect(o2.inbox).toEqual([{ userId: "alice", inboxSeq: 2 }, { userId: "bob", inboxSeq: 2 }]);
      expect(o3.inbox).toEqual([{ userId: "carol", inboxSeq: 1 }, { userId: "alice", inboxSeq: 3 }]);
      expect(o4.inbox).toEqual([{ userId: "bob", inboxSeq: 3 }, { userId: "alice", inboxSeq: 4 }]);

      const msg = o1.message;
      expect(msg).toMatchObject({
        convId: chatConvId("alice", "bob"), msgId: m1.msgId, msgFrom: "alice", msgTo: "bob", msgType: "MTT-000",
        msgTime: m1.msgTime, body: m1.body, sessionId: null, compress: "0", encode: "0", encrypt: "0", version: "1.0",
        revoked: false,
      });
      expect(typeof msg.createdAt).toBe("number");
      expect(Math.abs(msg.createdAt - Date.now())).toBeLessThan(60_000);
      expect(await store.findMessage("alice", m1.msgId)).toEqual(msg);
      expect(await store.findMessage("bob", m1.msgId)).toBeNull();

      const inbox = await allInbox("alice");
      expect(inbox.map((i) => i.inboxSeq)).toEqual([1, 2, 3, 4]);
      expect(inbox.map((i) => i.message.msgId)).toEqual([m1.msgId, m2.msgId, m3.msgId, m4.msgId]);
      expect(inbox.every((i) => i.userId === "alice")).toBe(true);
      for (const item of inbox) {
        expect(typeof item.inboxSeq).toBe("number");
        expect(typeof item.message.seq).toBe("number");
      }
      expect(await store.inboxSeqOf("bob", chatConvId("alice", "bob"), 3)).toBe(3);
      expect(await store.inboxSeqOf("carol", chatConvId("alice", "bob"), 1)).toBeNull();
      expect(await store.inboxSeqOfMsgId("alice", m3.msgId)).toBe(3);
      expect(await store.inboxSeqOfMsgId("bob", m3.msgId)).toBeNull();
      expect(await store.findMessageInConv(chatConvId("alice", "bob"), m2.msgId)).toEqual(o2.message);
      expect(await store.findMessageInConv(chatConvId("alice", "carol"), m2.msgId)).toBeNull();
    });

    it("keeps arrival order inside a batch of mixed conversations", async () => {
      const batch = [chat("a", "b"), chat("a", "c"), chat("b", "a"), chat("c", "a"), chat("a", "b"), chat("a", "a")];
      const out = (await store.commitBatch(batch)).map(stored);
      expect(out.map((o) => o.message.msgId)).toEqual(batch.map((m) => m.msgId));
      expect(out.map((o) => o.message.seq)).toEqual([1, 1, 2, 2, 3, 1]);
      // a: one entry per message, in batch order; a self-message gets one entry, not two.
      expect(out.map((o) => o.inbox.find((r) => r.userId === "a")!.inboxSeq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(out[5]!.inbox).toEqual([{ userId: "a", inboxSeq: 6 }]);
      expect((await allInbox("a")).map((i) => i.message.msgId)).toEqual(batch.map((m) => m.msgId));
      expect((await allInbox("b")).map((i) => i.message.msgId)).toEqual([batch[0]!.msgId, batch[2]!.msgId, batch[4]!.msgId]);
      const h = await store.history(chatConvId("a", "b"), 0, 10);
      expect(h.items.map((m) => m.msgId)).toEqual([batch[4]!.msgId, batch[2]!.msgId, batch[0]!.msgId]);
    });

    it("dedupes inside a batch: the repeat is a duplicate of the first, written once", async () => {
      const m = chat("alice", "bob");
      const again = { ...m, body: JSON.stringify([{ text: "changed" }]) };
      const other = chat("alice", "bob");
      const out = await store.commitBatch([m, other, again]);
      const first = stored(out[0]);
      expect(stored(out[1]).message.seq).toBe(2);
      expect(duplicate(out[2])).toEqual(first.message);
      expect((await store.history(chatConvId("alice", "bob"), 0, 10)).total).toBe(2);
      expect((await allInbox("bob")).map((i) => i.inboxSeq)).toEqual([1, 2]);
    });

    it("dedupes across batches: the original comes back, nothing is written", async () => {
      const m = chat("alice", "bob");
      const first = stored((await store.commitBatch([m]))[0]);
      const resend = { ...m, body: JSON.stringify([{ text: "resent" }]), msgTime: "1" };
      const next = chat("alice", "bob");
      const out = await store.commitBatch([resend, next]);
      expect(duplicate(out[0])).toEqual(first.message);
      expect(stored(out[1]).message.seq).toBe(2);
      expect(stored(out[1]).inbox).toEqual([{ userId: "bob", inboxSeq: 2 }, { userId: "alice", inboxSeq: 2 }]);
      expect(duplicate((await store.commitBatch([resend]))[0])).toEqual(first.message);
      expect((await store.history(chatConvId("alice", "bob"), 0, 10)).total).toBe(2);
      expect((await allInbox("bob")).length).toBe(2);
      // Same msg_id from another sender is another message (unique per sender only).
      const theirs = chat("bob", "alice", { msgId: m.msgId });
      expect(stored((await store.commitBatch([theirs]))[0]).message.seq).toBe(3);
      expect((await store.findMessageInConv(chatConvId("alice", "bob"), m.msgId))?.msgFrom).toBe("alice");
      expect(await store.inboxSeqOfMsgId("bob", m.msgId)).toBe(3); // newest of the two
    });

    it("fans a session message out to every member: one message, one inbox entry each", async () => {
      await store.sessionCreate(sessionOf("s1", "alice"), [
        memberOf("s1", "carol", 300),
        memberOf("s1", "alice", 100),
        memberOf("s1", "bob", 200),
        memberOf("s1", "dave", 200),
      ]);
      expect((await store.sessionMembers("s1")).map((m) => m.userId)).toEqual(["alice", "bob", "dave", "carol"]);
      await store.commitBatch([chat("bob", "carol")]); // carol's and bob's inboxes move first
      const o = stored((await store.commitBatch([post("bob", "s1")]))[0]);
      expect(o.message).toMatchObject({ convId: sessionConvId("s1"), seq: 1, sessionId: "s1", msgTo: "s1", msgFrom: "bob" });
      expect(o.inbox).toEqual([
        { userId: "alice", inboxSeq: 1 },
        { userId: "bob", inboxSeq: 2 },
        { userId: "dave", inboxSeq: 1 },
        { userId: "carol", inboxSeq: 2 },
      ]);
      expect((await store.history(sessionConvId("s1"), 0, 10)).total).toBe(1);
      for (const ref of o.inbox) {
        const items = await store.inboxAfter(ref.userId, ref.inboxSeq - 1, 10);
        expect(items).toEqual([{ userId: ref.userId, inboxSeq: ref.inboxSeq, message: o.message }]);
      }
      const o2 = stored((await store.commitBatch([post("alice", "s1"), post("carol", "s1")]))[1]);
      expect(o2.message.seq).toBe(3);
      expect(o2.inbox.map((r) => r.inboxSeq)).toEqual([3, 4, 3, 4]);
    });

    it("rejects unknown session, closed session and non-members, writing nothing for them", async () => {
      await store.sessionCreate(sessionOf("open", "alice"), [memberOf("open", "alice", 1), memberOf("open", "bob", 2)]);
      await store.sessionCreate(sessionOf("shut", "alice", { sessionValid: 1 }), [memberOf("shut", "alice", 1)]);
      const noSession = post("alice", "nope");
      const closed = post("alice", "shut");
      const outsider = post("mallory", "open");
      const fine = post("bob", "open");
      const out = await store.commitBatch([noSession, closed, outsider, fine, { ...outsider }]);
      expect(out.slice(0, 3)).toEqual([
        { status: "rejected", reason: "no-session" },
        { status: "rejected", reason: "session-closed" },
        { status: "rejected", reason: "not-member" },
      ]);
      expect(stored(out[3]).message.seq).toBe(1);
      expect(out[4]).toEqual({ status: "rejected", reason: "not-member" });
      for (const m of [noSession, closed, outsider]) expect(await store.findMessage(m.msgFrom, m.msgId)).toBeNull();
      expect((await store.history(sessionConvId("nope"), 0, 10)).total).toBe(0);
      expect((await store.history(sessionConvId("shut"), 0, 10)).total).toBe(0);
      expect((await store.history(sessionConvId("open"), 0, 10)).total).toBe(1);
      expect(await allInbox("mallory")).toEqual([]);
      expect((await allInbox("alice")).map((i) => i.message.msgId)).toEqual([fine.msgId]);
      // A rejected message can be sent again once allowed (nothing of it was kept).
      const retry = stored((await store.commitBatch([{ ...outsider, msgFrom: "bob" }]))[0]);
      expect(retry.message.seq).toBe(2);
    });

    it("pages the inbox in ascending order after a seq", async () => {
      const sent = range(7).map(() => chat("alice", "bob"));
      await store.commitBatch(sent.slice(0, 4));
      await store.commitBatch(sent.slice(4));
      const p1 = await store.inboxAfter("bob", 0, 3);
      const p2 = await store.inboxAfter("bob", 3, 3);
      const p3 = await store.inboxAfter("bob", 6, 3);
      expect(p1.map((i) => i.inboxSeq)).toEqual([1, 2, 3]);
      expect(p2.map((i) => i.inboxSeq)).toEqual([4, 5, 6]);
      expect(p3.map((i) => i.inboxSeq)).toEqual([7]);
      expect([...p1, ...p2, ...p3].map((i) => i.message.msgId)).toEqual(sent.map((m) => m.msgId));
      expect(await store.inboxAfter("bob", 7, 3)).toEqual([]);
      expect(await store.inboxAfter("bob", 0, 0)).toEqual([]);
      expect(await store.inboxAfter("nobody", 0, 10)).toEqual([]);
    });

    it("records online devices: put replaces, remove forgets, all of them listed", async () => {
      expect(await store.onlineDevices()).toEqual([]);
      await store.onlineDevicePut({ userId: "bob", resource: "phone", via: "" });
      await store.onlineDevicePut({ userId: "alice", resource: "r1[web]", via: "bob" });
      await store.onlineDevicePut({ userId: "bob", resource: "phone", via: "carol" });
      await store.onlineDevicePut({ userId: "bob", resource: "desk", via: "" });
      expect(await store.onlineDevices()).toEqual([
        { userId: "alice", resource: "r1[web]", via: "bob" },
        { userId: "bob", resource: "desk", via: "" },
        { userId: "bob", resource: "phone", via: "carol" },
      ]);
      await store.onlineDeviceRemove("bob", "phone");
      await store.onlineDeviceRemove("bob", "never-seen");
      expect((await store.onlineDevices()).map((d) => `${d.userId}/${d.resource}`)).toEqual(["alice/r1[web]", "bob/desk"]);
    });

    it("moves device cursors forward only", async () => {
      expect(await store.cursorGet("alice", "phone")).toBe(0);
      expect(await store.cursorsOf("alice")).toEqual({});
      const adv = (userId: string, device: string, seq: number) => ({ userId, device, seq });
      await store.cursorAdvance([adv("alice", "phone", 5)]);
      expect(await store.cursorGet("alice", "phone")).toBe(5);
      await store.cursorAdvance([adv("alice", "phone", 3)]);
      expect(await store.cursorGet("alice", "phone")).toBe(5);
      // Many at once, the same device twice (the higher wins, in either order).
      await store.cursorAdvance([adv("bob", "phone", 1), adv("alice", "phone", 9), adv("alice", "desk", 2), adv("alice", "phone", 7)]);
      expect(await store.cursorGet("alice", "phone")).toBe(9);
      expect(await store.cursorsOf("alice")).toEqual({ desk: 2, phone: 9 });
      expect(await store.cursorGet("bob", "phone")).toBe(1);
      expect(await store.cursorGet("alice", "tablet")).toBe(0);
      await store.cursorAdvance([]);
      // All or nothing: one device name too long fails the call and moves no cursor.
      await expect(store.cursorAdvance([adv("bob", "phone", 4), adv("bob", "x".repeat(129), 4)])).rejects.toThrow();
      expect(await store.cursorGet("bob", "phone")).toBe(1);
    });

    it("returns history newest first with a total, by offset and limit", async () => {
      const conv = chatConvId("alice", "bob");
      const sent = range(5).map((i) => (i % 2 ? chat("alice", "bob") : chat("bob", "alice")));
      await store.commitBatch(sent);
      await store.commitBatch([chat("alice", "carol")]);
      const p1 = await store.history(conv, 0, 2);
      expect(p1.total).toBe(5);
      expect(p1.items.map((m) => m.seq)).toEqual([5, 4]);
      expect(p1.items[0]!.msgId).toBe(sent[4]!.msgId);
      expect((await store.history(conv, 2, 2)).items.map((m) => m.seq)).toEqual([3, 2]);
      expect(await store.history(conv, 4, 2)).toMatchObject({ total: 5, items: [{ seq: 1, msgId: sent[0]!.msgId }] });
      expect(await store.history(conv, 10, 2)).toEqual({ total: 5, items: [] });
      expect(await store.history(chatConvId("x", "y"), 0, 2)).toEqual({ total: 0, items: [] });
    });

    it("keeps SQL metacharacters as data (statements are sent several at a time on MySQL)", async () => {
      const evil = ["x'); DROP TABLE messages; --", "a\\'; DELETE FROM inbox; #", "?; ??", "b\"; SELECT 1; /*"];
      const out = await store.commitBatch(evil.map((msgId) => chat("alice", `bob${msgId.length}`, { msgId, body: JSON.stringify([{ text: msgId }]) })));
      expect(out.map((x) => x.status)).toEqual(evil.map(() => "stored"));
      for (const msgId of evil) {
        const m = await store.findMessage("alice", msgId);
        expect(m?.msgId).toBe(msgId);
        expect(JSON.parse(m!.body)).toEqual([{ text: msgId }]);
      }
      expect((await store.commitBatch([chat("alice", "bob", { msgId: evil[0] })]))[0]!.status).toBe("duplicate");
      expect((await allInbox("alice")).length).toBe(evil.length);
    });

    it("round-trips emoji and CJK (utf8mb4), and keeps distinct ids distinct", async () => {
      const text = "😀 中文 🎉";
      await store.sessionCreate(sessionOf("emo", "alice", { sessionName: text, sessionPic: "pic-😀" }), [
        memberOf("emo", "alice", 1, { userName: `Alice ${text}` }),
        memberOf("emo", "bob", 2, { userName: "Bob 🎉", pic: "p🎉" }),
      ]);
      const s = await store.sessionGet("emo");
      expect(s).toEqual(sessionOf("emo", "alice", { sessionName: text, sessionPic: "pic-😀" }));
      expect((await store.sessionMembers("emo")).map((m) => [m.userName, m.pic])).toEqual([[`Alice ${text}`, null], ["Bob 🎉", "p🎉"]]);

      const body = JSON.stringify([{ session_id: "emo", text }]);
      const o = stored((await store.commitBatch([post("alice", "emo", { body })]))[0]);
      expect(o.message.body).toBe(body);
      expect((await store.inboxAfter("bob", 0, 1))[0]!.message.body).toBe(body);
      expect((await store.history(sessionConvId("emo"), 0, 1)).items[0]!.body).toBe(body);

      // Binary comparison: different emoji and different case are different msg_ids.
      const ids = ["😀", "🎉", "abc", "ABC", "\u00e9", "e\u0301"];
      const out = await store.commitBatch(ids.map((msgId) => chat("alice", "bob", { msgId, body: JSON.stringify([{ text: msgId }]) })));
      expect(out.map((x) => x.status)).toEqual(ids.map(() => "stored"));
      for (const id of ids) expect((await store.findMessage("alice", id))?.body).toBe(JSON.stringify([{ text: id }]));
    });

    it("stores large bodies (over 64 KB) and large fan-outs in one batch", async () => {
      const big = JSON.stringify([{ text: "😀".repeat(40_000) }]); // 160 KB of UTF-8
      const o = stored((await store.commitBatch([chat("alice", "bob", { body: big })]))[0]);
      expect((await store.findMessage("alice", o.message.msgId))?.body).toBe(big);

      const users = range(60).map((i) => `u${String(i).padStart(3, "0")}`);
      await store.sessionCreate(sessionOf("big", users[0]!), users.map((u, i) => memberOf("big", u, i)));
      const batch = range(50).map((i) => post(users[i % users.length]!, "big"));
      const out = (await store.commitBatch(batch)).map(stored);
      expect(out.map((x) => x.message.seq)).toEqual(range(50));
      expect(out.flatMap((x) => x.inbox).length).toBe(3000);
      const inbox = await store.inboxAfter("u059", 0, 1000);
      expect(inbox.map((i) => i.inboxSeq)).toEqual(range(50));
      expect(inbox.map((i) => i.message.seq)).toEqual(range(50));
    });

    it("rolls a failing batch back entirely", async () => {
      await store.commitBatch([chat("alice", "bob")]);
      const ok1 = chat("alice", "bob");
      const ok2 = chat("carol", "dave");
      const tooLong = chat("alice", "bob", { msgId: "x".repeat(65) });
      await expect(store.commitBatch([ok1, ok2, tooLong])).rejects.toThrow();
      expect(await store.findMessage("alice", ok1.msgId)).toBeNull();
      expect(await store.findMessage("carol", ok2.msgId)).toBeNull();
      expect((await store.history(chatConvId("alice", "bob"), 0, 10)).total).toBe(1);
      expect(await allInbox("dave")).toEqual([]);
      // Counters were not advanced either: the next commit continues without a gap.
      const out = (await store.commitBatch([ok1, ok2])).map(stored);
      expect(out.map((x) => x.message.seq)).toEqual([2, 1]);
      expect(out[0]!.inbox).toEqual([{ userId: "bob", inboxSeq: 2 }, { userId: "alice", inboxSeq: 2 }]);
      expect(out[1]!.inbox).toEqual([{ userId: "dave", inboxSeq: 1 }, { userId: "carol", inboxSeq: 1 }]);
      // A session whose member row is invalid is not created at all.
      await expect(store.sessionCreate(sessionOf("bad", "alice"), [memberOf("bad", "alice", 1), memberOf("bad", "bob", 2, { ts: "9".repeat(21) })])).rejects.toThrow();
      expect(await store.sessionGet("bad")).toBeNull();
      expect(await store.sessionMembers("bad")).toEqual([]);
    });

    it("keeps sessions: get, members, no duplicates", async () => {
      expect(await store.sessionGet("none")).toBeNull();
      expect(await store.sessionMembers("none")).toEqual([]);
      const s = sessionOf("s", "alice", { sessionPic: "p", sessionModifyTime: "1700000000001", sessionType: 2 });
      await store.sessionCreate(s, [memberOf("s", "alice", 5, { pic: "a.png" })]);
      expect(await store.sessionGet("s")).toEqual(s);
      expect(await store.sessionMembers("s")).toEqual([memberOf("s", "alice", 5, { pic: "a.png" })]);
      await expect(store.sessionCreate(s, [])).rejects.toThrow();
      await store.sessionCreate(sessionOf("empty", "alice"), []);
      expect(await store.sessionMembers("empty")).toEqual([]);
      await store.ping();
    });

    it("lands 200 concurrent commitBatch calls with contiguous seqs, no gaps or repeats", async () => {
      const users = ["u0", "u1", "u2", "u3", "u4"];
      await store.sessionCreate(sessionOf("crowd", "u0"), users.map((u, i) => memberOf("crowd", u, i)));
      let rnd = 42;
      const pick = () => users[(rnd = (rnd * 1103515245 + 12345) % 2 ** 31) % users.length]!;
      const calls = range(200).map((i) =>
        range(2).map(() => {
          if (i % 7 === 0) return post(pick(), "crowd");
          const from = pick();
          let to = pick();
          if (to === from) to = users[(users.indexOf(from) + 1) % users.length]!;
          return chat(from, to);
        }),
      );
      const results = await Promise.all(calls.map((b) => store.commitBatch(b)));
      const all = results.flat().map(stored);
      expect(all.length).toBe(400);

      const byConv = new Map<string, number[]>();
      const byUser = new Map<string, number[]>();
      for (const o of all) {
        byConv.set(o.message.convId, [...(byConv.get(o.message.convId) ?? []), o.message.seq]);
        for (const r of o.inbox) byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r.inboxSeq]);
      }
      for (const [conv, seqs] of byConv) {
        expect(seqs.sort((a, b) => a - b)).toEqual(range(seqs.length));
        expect((await store.history(conv, 0, 1)).total).toBe(seqs.length);
      }
      for (const [user, seqs] of byUser) {
        expect(seqs.sort((a, b) => a - b)).toEqual(range(seqs.length));
        const inbox = await allInbox(user);
        expect(inbox.map((i) => i.inboxSeq)).toEqual(range(seqs.length));
      }
      // Inside each call, arrival order holds per conversation.
      for (const r of results) {
        const [a, b] = r.map(stored);
        if (a!.message.convId === b!.message.convId) expect(a!.message.seq).toBeLessThan(b!.message.seq);
      }
    });

    it("keeps hidden messages out of history and its total, but queues them in inboxes", async () => {
      const conv = chatConvId("alice", "bob");
      const m1 = chat("alice", "bob");
      const receipt = chat("bob", "alice", { msgType: "MTT-100", hidden: true });
      const m2 = chat("alice", "bob");
      const out = (await store.commitBatch([m1, receipt, m2])).map(stored);
      expect(out.map((o) => o.message.hidden)).toEqual([false, true, false]);
      expect(out.map((o) => o.message.seq)).toEqual([1, 2, 3]);

      const h = await store.history(conv, 0, 10);
      expect(h.total).toBe(2);
      expect(h.items.map((m) => m.msgId)).toEqual([m2.msgId, m1.msgId]);
      expect(await store.history(conv, 1, 1)).toMatchObject({ total: 2, items: [{ msgId: m1.msgId }] });
      expect(await store.history(conv, 2, 1)).toEqual({ total: 2, items: [] });

      for (const user of ["alice", "bob"]) {
        const inbox = await allInbox(user);
        expect(inbox.map((i) => [i.message.msgId, i.message.hidden])).toEqual([[m1.msgId, false], [receipt.msgId, true], [m2.msgId, false]]);
      }
      expect(await store.findMessage("bob", receipt.msgId)).toEqual(out[1]!.message);
      expect(await store.findMessageInConv(conv, receipt.msgId)).toEqual(out[1]!.message);
      // A duplicate comes back with the stored flag, whatever the resend says.
      expect(duplicate((await store.commitBatch([{ ...receipt, hidden: false }]))[0])).toEqual(out[1]!.message);
      expect(duplicate((await store.commitBatch([{ ...m1, hidden: true }]))[0]).hidden).toBe(false);
      // Hidden session messages too.
      await store.sessionCreate(sessionOf("h", "alice"), [memberOf("h", "alice", 1), memberOf("h", "bob", 2)]);
      const hp = stored((await store.commitBatch([post("bob", "h", { hidden: true })]))[0]);
      expect(await store.history(sessionConvId("h"), 0, 10)).toEqual({ total: 0, items: [] });
      expect((await store.inboxAfter("alice", 3, 10)).map((i) => i.message)).toEqual([hp.message]);
    });

    it("revokes the listed (msg_from, msg_id) pairs of the notice's own conversation only, once", async () => {
      const conv = chatConvId("alice", "bob");
      const m1 = chat("alice", "bob");
      const m2 = chat("alice", "bob");
      const m3 = chat("bob", "alice");
      const elsewhere = chat("carol", "alice", { msgId: m1.msgId }); // same msg_id, other conversation
      const twin = chat("bob", "alice", { msgId: m1.msgId }); // same msg_id, same conversation, other author
      await store.commitBatch([m1, m2, m3, elsewhere, twin]);
      const notice = chat("alice", "bob", { msgType: "MTT-101" });
      // Lists its own id as well: the notice itself is never revoked.
      notice.effects = { revoke: [ref(m1), ref(m3), { msgFrom: "alice", msgId: "no-such-id" }, ref(notice), ref(m1), { msgFrom: "bob", msgId: m2.msgId }] };
      const o = stored((await store.commitBatch([notice]))[0]);
      expect(o.message).toMatchObject({ revoked: false, hidden: false, seq: 5 });
      expect(o.inbox).toEqual([{ userId: "bob", inboxSeq: 5 }, { userId: "alice", inboxSeq: 6 }]);

      expect((await store.findMessage("alice", m1.msgId))?.revoked).toBe(true);
      expect((await store.findMessage("bob", m3.msgId))?.revoked).toBe(true);
      expect((await store.findMessage("alice", m2.msgId))?.revoked).toBe(false);
      expect((await store.findMessage("bob", m1.msgId))?.revoked).toBe(false); // the twin: other author
      expect((await store.findMessage("carol", m1.msgId))?.revoked).toBe(false);
      expect((await store.findMessage("alice", notice.msgId))?.revoked).toBe(false);
      expect(await store.history(conv, 0, 10)).toMatchObject({ total: 3, items: [{ msgId: notice.msgId }, { msgId: twin.msgId, msgFrom: "bob" }, { msgId: m2.msgId }] });
      expect((await allInbox("bob")).map((i) => i.message.msgId)).toEqual([m2.msgId, twin.msgId, notice.msgId]);
      expect((await allInbox("alice")).map((i) => i.message.msgId)).toEqual([m2.msgId, elsewhere.msgId, twin.msgId, notice.msgId]);
      expect((await allInbox("carol")).map((i) => i.message.msgId)).toEqual([elsewhere.msgId]);

      // A duplicate of the notice applies nothing again: a message stored since stays.
      const later = chat("bob", "alice", { msgId: m2.msgId });
      stored((await store.commitBatch([later]))[0]);
      expect(duplicate((await store.commitBatch([{ ...notice }]))[0])).toEqual(o.message);
      expect((await store.findMessage("bob", m2.msgId))?.revoked).toBe(false);
      expect((await store.history(conv, 0, 10)).total).toBe(4);

      // Inside one batch: a revoke applies to a message stored earlier in the same batch.
      const x = chat("alice", "bob");
      const rx = chat("alice", "bob", { msgType: "MTT-101", effects: { revoke: [ref(x)] } });
      const [ox] = (await store.commitBatch([x, rx])).map(stored);
      expect(ox!.message.revoked).toBe(false); // as it was stored
      expect((await store.findMessage("alice", x.msgId))?.revoked).toBe(true);
      expect((await store.history(conv, 0, 1)).items[0]!.msgId).toBe(rx.msgId);
    });

    it("records read marks: upsert per reader, last receipt wins, counts and lists", async () => {
      const users = ["alice", "bob", "carol"];
      await store.sessionCreate(sessionOf("r", "alice"), users.map((u, i) => memberOf("r", u, i)));
      const [p1, p2, p3] = (await store.commitBatch([post("alice", "r"), post("alice", "r"), post("alice", "r")])).map((o) => stored(o).message);
      const receipt = (from: string, status: number, ids: string[]) =>
        post(from, "r", { msgType: "MTS-100", hidden: true, effects: { reads: ids.map((msgId) => ({ author: "alice", msgId, status })) } });

      const bob1 = receipt("bob", 2, [p1!.msgId, p2!.msgId]);
      const before = Date.now();
      const ob = stored((await store.commitBatch([bob1]))[0]);
      expect(ob.message.hidden).toBe(true);
      expect(ob.inbox.map((r) => r.userId)).toEqual(users);
      const first = await store.readsOf("alice", p1!.msgId);
      expect(first).toEqual([{ author: "alice", msgId: p1!.msgId, reader: "bob", status: 2, updatedAt: expect.any(Number) }]);
      expect(first[0]!.updatedAt).toBeGreaterThanOrEqual(before);
      expect(first[0]!.updatedAt).toBeLessThanOrEqual(Date.now());

      // bob again from the web (status 1) and carol: still one mark per reader.
      await store.commitBatch([receipt("bob", 1, [p1!.msgId]), receipt("carol", 1, [p1!.msgId])]);
      const marks = await store.readsOf("alice", p1!.msgId);
      expect(marks.map((r) => [r.reader, r.status])).toEqual([["bob", 1], ["carol", 1]]);
      expect(marks[0]!.updatedAt).toBeGreaterThanOrEqual(first[0]!.updatedAt);
      expect(await store.readCounts("alice", [p1!.msgId, p2!.msgId, p3!.msgId, "nope", p1!.msgId])).toEqual({ [p1!.msgId]: 2, [p2!.msgId]: 1 });
      expect(await store.readCounts("alice", [])).toEqual({});
      expect(await store.readCounts("bob", [p1!.msgId])).toEqual({});
      // What one reader has read, among a page of messages (one query): repeats and unknowns too.
      const byKey = (xs: Array<{ author: string; msgId: string }>) => xs.map((x) => `${x.author}/${x.msgId}`).sort();
      const page = [p1!, p2!, p3!, p1!].map((m) => ({ author: "alice", msgId: m.msgId })).concat([{ author: "bob", msgId: p1!.msgId }, { author: "alice", msgId: "nope" }]);
      expect(byKey(await store.readBy("bob", page))).toEqual(byKey([{ author: "alice", msgId: p1!.msgId }, { author: "alice", msgId: p2!.msgId }]));
      expect(byKey(await store.readBy("carol", page))).toEqual([`alice/${p1!.msgId}`]);
      expect(await store.readBy("alice", page)).toEqual([]);
      expect(await store.readBy("bob", [])).toEqual([]);
      expect(await store.readsOf("alice", p3!.msgId)).toEqual([]);
      expect(await store.readsOf("bob", p1!.msgId)).toEqual([]);

      // A duplicate receipt changes nothing; in one batch the later receipt wins.
      expect(duplicate((await store.commitBatch([{ ...bob1 }]))[0]).msgId).toBe(bob1.msgId);
      expect((await store.readsOf("alice", p1!.msgId)).map((r) => r.status)).toEqual([1, 1]);
      await store.commitBatch([receipt("carol", 2, [p2!.msgId]), receipt("carol", 1, [p2!.msgId]), receipt("bob", 1, [p2!.msgId])]);
      expect((await store.readsOf("alice", p2!.msgId)).map((r) => [r.reader, r.status])).toEqual([["bob", 1], ["carol", 1]]);
      // Receipts are hidden: history shows the three posts only.
      expect((await store.history(sessionConvId("r"), 0, 10)).total).toBe(3);

      // Many ids: the IN lists are chunked. The marks need no stored message behind them.
      const many = range(1200).map((i) => `id-${i}`);
      await store.commitBatch([chat("dave", "alice", { hidden: true, effects: { reads: many.slice(0, 700).map((msgId) => ({ author: "alice", msgId, status: 2 })) } })]);
      const counts = await store.readCounts("alice", many);
      expect(Object.keys(counts).length).toBe(700);
      expect(Object.values(counts).every((n) => n === 1)).toBe(true);
      expect(counts["id-700"]).toBe(1);
      expect(counts["id-701"]).toBeUndefined();
    });

    it("dissolves a session: the notice stays queued for every member, the rest is purged, the session closed", async () => {
      const members = ["alice", "bob", "carol"];
      await store.sessionCreate(sessionOf("d", "alice"), members.map((u, i) => memberOf("d", u, i)));
      await store.sessionCreate(sessionOf("keep", "alice"), [memberOf("keep", "alice", 1), memberOf("keep", "bob", 2)]);
      const c1 = chat("alice", "bob");
      const p1 = post("alice", "d");
      const p2 = post("bob", "d");
      const k1 = post("alice", "keep");
      const [, sp1, sp2] = (await store.commitBatch([c1, p1, p2, k1])).map(stored);
      await store.commitBatch([
        post("carol", "d", { hidden: true, effects: { reads: [{ author: "alice", msgId: p1.msgId, status: 2 }, { author: "bob", msgId: p2.msgId, status: 2 }] } }),
        post("bob", "keep", { hidden: true, effects: { reads: [{ author: "alice", msgId: k1.msgId, status: 1 }] } }),
      ]);
      expect(await store.readCounts("alice", [p1.msgId, k1.msgId])).toEqual({ [p1.msgId]: 1, [k1.msgId]: 1 });

      const notice = post("alice", "d", { msgType: "MTS-107", effects: { dissolve: true } });
      const before = Date.now();
      const o = stored((await store.commitBatch([notice]))[0]);
      expect(o.message).toMatchObject({ seq: 4, convId: sessionConvId("d"), revoked: false });
      expect(o.inbox.map((r) => r.userId)).toEqual(members);

      const s = await store.sessionGet("d");
      expect(s).toMatchObject({ sessionValid: 1, sessionName: "Session d" });
      expect(s!.sessionDeleteTime).toMatch(/^\d{13}$/);
      expect(Number(s!.sessionDeleteTime)).toBeGreaterThanOrEqual(before);
      expect(Number(s!.sessionDeleteTime)).toBeLessThanOrEqual(Date.now());
      expect(await store.sessionMembers("d")).toEqual([]);
      expect(await store.history(sessionConvId("d"), 0, 10)).toEqual({ total: 1, items: [o.message] });
      expect(await store.findMessage("alice", p1.msgId)).toBeNull();
      expect(await store.findMessage("bob", p2.msgId)).toBeNull();
      expect(await store.findMessageInConv(sessionConvId("d"), p2.msgId)).toBeNull();
      expect(await store.findMessage("alice", notice.msgId)).toEqual(o.message);
      for (const ref of o.inbox) {
        const inbox = await allInbox(ref.userId);
        expect(inbox.filter((i) => i.message.convId === sessionConvId("d"))).toEqual([{ userId: ref.userId, inboxSeq: ref.inboxSeq, message: o.message }]);
        expect(await store.inboxSeqOf(ref.userId, sessionConvId("d"), sp1.message.seq)).toBeNull();
        expect(await store.inboxSeqOfMsgId(ref.userId, sp2.message.msgId)).toBeNull();
        expect(await store.inboxSeqOfMsgId(ref.userId, notice.msgId)).toBe(ref.inboxSeq);
      }
      expect(await store.readsOf("alice", p1.msgId)).toEqual([]);
      expect(await store.readsOf("bob", p2.msgId)).toEqual([]);

      // Everything else is untouched.
      expect((await allInbox("bob")).map((i) => i.message.msgId)).toEqual(expect.arrayContaining([c1.msgId, k1.msgId]));
      expect((await store.history(sessionConvId("keep"), 0, 10)).total).toBe(1);
      expect((await store.sessionMembers("keep")).length).toBe(2);
      expect((await store.readsOf("alice", k1.msgId)).length).toBe(1);
      expect((await store.history(chatConvId("alice", "bob"), 0, 10)).total).toBe(1);

      // The session is closed: later posts (even the owner's, even a resend of a purged one) are
      // refused; a duplicate of the notice is still a duplicate.
      const out = await store.commitBatch([post("bob", "d"), post("alice", "d"), { ...p1 }, { ...notice }]);
      expect(out.slice(0, 3)).toEqual(range(3).map(() => ({ status: "rejected", reason: "session-closed" })));
      expect(duplicate(out[3])).toEqual(o.message);
      expect((await store.history(sessionConvId("d"), 0, 10)).total).toBe(1);
    });

    it("dissolves inside a batch: earlier posts are purged, later posts are refused", async () => {
      await store.sessionCreate(sessionOf("b", "alice"), [memberOf("b", "alice", 1), memberOf("b", "bob", 2)]);
      const before = post("bob", "b");
      const notice = post("alice", "b", { msgType: "MTS-107", effects: { dissolve: true } });
      const after = post("bob", "b");
      const other = chat("bob", "alice");
      const out = await store.commitBatch([before, notice, after, other, { ...notice }]);
      expect(stored(out[0]).message.seq).toBe(1);
      const o = stored(out[1]);
      expect(o.message.seq).toBe(2);
      expect(out[2]).toEqual({ status: "rejected", reason: "session-closed" });
      stored(out[3]);
      expect(duplicate(out[4])).toEqual(o.message);
      expect(await store.history(sessionConvId("b"), 0, 10)).toEqual({ total: 1, items: [o.message] });
      expect((await allInbox("bob")).map((i) => i.message.msgId)).toEqual([notice.msgId, other.msgId]);
      expect(await store.findMessage("bob", before.msgId)).toBeNull();
      expect(await store.findMessage("bob", after.msgId)).toBeNull();
    });

    it("rolls a batch back entirely when an effect fails", async () => {
      const conv = chatConvId("alice", "bob");
      await store.sessionCreate(sessionOf("rb", "alice"), [memberOf("rb", "alice", 1), memberOf("rb", "bob", 2)]);
      const m0 = chat("alice", "bob");
      const s0 = post("bob", "rb");
      await store.commitBatch([m0, s0]);
      await store.commitBatch([chat("bob", "alice", { hidden: true, effects: { reads: [{ author: "alice", msgId: m0.msgId, status: 2 }] } })]);

      const ok = chat("alice", "bob");
      const revoke = chat("alice", "bob", { msgType: "MTT-101", effects: { revoke: [ref(m0)] } });
      const read = chat("bob", "alice", { hidden: true, effects: { reads: [{ author: "alice", msgId: m0.msgId, status: 1 }] } });
      const dissolve = post("alice", "rb", { msgType: "MTS-107", effects: { dissolve: true } });
      const bad = chat("bob", "alice", { hidden: true, effects: { reads: [{ author: "x".repeat(65), msgId: m0.msgId, status: 1 }] } });
      await expect(store.commitBatch([ok, revoke, read, dissolve, bad])).rejects.toThrow();
      // A dissolve on a message without a session is a caller error, and fails the same way.
      const orphan = chat("alice", "bob", { effects: { dissolve: true } });
      await expect(store.commitBatch([ok, orphan])).rejects.toThrow();

      for (const m of [ok, revoke, read, dissolve, bad, orphan]) expect(await store.findMessage(m.msgFrom, m.msgId)).toBeNull();
      expect((await store.findMessage("alice", m0.msgId))?.revoked).toBe(false);
      expect((await store.readsOf("alice", m0.msgId)).map((r) => [r.reader, r.status])).toEqual([["bob", 2]]);
      expect(await store.sessionGet("rb")).toMatchObject({ sessionValid: 0, sessionDeleteTime: null });
      expect((await store.sessionMembers("rb")).map((m) => m.userId)).toEqual(["alice", "bob"]);
      expect((await store.history(sessionConvId("rb"), 0, 10)).total).toBe(1);
      expect((await store.history(conv, 0, 10)).total).toBe(1);
      expect((await allInbox("bob")).length).toBe(3);

      // Nothing advanced: the same batch without the bad entry continues without a gap.
      const out = (await store.commitBatch([ok, revoke, read, dissolve])).map(stored);
      expect(out.map((x) => x.message.seq)).toEqual([3, 4, 5, 2]);
      expect(out[0]!.inbox).toEqual([{ userId: "bob", inboxSeq: 4 }, { userId: "alice", inboxSeq: 4 }]);
      expect((await store.findMessage("alice", m0.msgId))?.revoked).toBe(true);
      expect((await store.readsOf("alice", m0.msgId)).map((r) => r.status)).toEqual([1]);
      expect((await store.sessionGet("rb"))?.sessionValid).toBe(1);
    });

    it("keeps conversation lists: session activity and 1:1 pairs, visible messages only", async () => {
      await store.sessionCreate(sessionOf("act1", "alice", { sessionCreateTime: "1700000000001" }), [memberOf("act1", "alice", 1), memberOf("act1", "bob", 2)]);
      await store.sessionCreate(sessionOf("act2", "alice", { sessionCreateTime: "1700000000002" }), [memberOf("act2", "alice", 1)]);
      await store.sessionCreate(sessionOf("act3", "bob", { sessionValid: 1 }), [memberOf("act3", "alice", 1)]);
      expect((await store.sessionsOf("alice", 0)).map((s) => s.sessionId)).toEqual(["act2", "act1"]);
      expect((await store.sessionsOf("alice", 1)).map((s) => s.sessionId)).toEqual(["act3"]);
      expect(await store.sessionsOf("nobody", 0)).toEqual([]);

      const before = Date.now();
      await store.commitBatch([post("bob", "act1")]);
      const touched = (await store.sessionGet("act1"))!.sessionModifyTime!;
      expect(touched).toMatch(/^\d{13}$/);
      expect(Number(touched)).toBeGreaterThanOrEqual(before);
      expect((await store.sessionsOf("alice", 0)).map((s) => s.sessionId)).toEqual(["act1", "act2"]);
      expect((await store.sessionsOf("bob", 0)).map((s) => s.sessionId)).toEqual(["act1"]);
      // A hidden message (a receipt) is no activity.
      await store.sessionUpdate("act1", { sessionModifyTime: "1700000000005" });
      await store.commitBatch([post("alice", "act1", { hidden: true, msgType: "MTS-100" })]);
      expect((await store.sessionGet("act1"))!.sessionModifyTime).toBe("1700000000005");

      expect(await store.chatsOf("alice")).toEqual([]);
      await store.commitBatch([chat("alice", "bob")]);
      await new Promise((r) => setTimeout(r, 5));
      await store.commitBatch([chat("carol", "alice"), chat("dave", "dave")]);
      const alice = await store.chatsOf("alice");
      expect(alice.map((c) => c.peerId)).toEqual(["carol", "bob"]);
      expect(alice[0]!.updatedAt).toBeGreaterThan(alice[1]!.updatedAt);
      expect((await store.chatsOf("bob")).map((c) => [c.userId, c.peerId])).toEqual([["bob", "alice"]]);
      expect((await store.chatsOf("dave")).map((c) => c.peerId)).toEqual(["dave"]);
      const first = alice[1]!;
      await new Promise((r) => setTimeout(r, 5));
      await store.commitBatch([chat("bob", "alice"), chat("bob", "alice", { hidden: true, msgType: "MTT-100" })]);
      const again = await store.chatsOf("alice");
      expect(again.map((c) => c.peerId)).toEqual(["bob", "carol"]);
      expect(again[0]!.createdAt).toBe(first.createdAt);
      expect(again[0]!.updatedAt).toBeGreaterThan(first.updatedAt);
      // Receipts alone never open a conversation.
      await store.commitBatch([chat("erin", "alice", { hidden: true, msgType: "MTT-100" })]);
      expect((await store.chatsOf("alice")).map((c) => c.peerId)).not.toContain("erin");
    });

    it("takes server notices into a session without membership, also when closed, never once dissolved", async () => {
      await store.sessionCreate(sessionOf("srv", "alice", { sessionValid: 1 }), [memberOf("srv", "bob", 1), memberOf("srv", "carol", 2)]);
      const server = (extra: Partial<NewMessage> = {}) => post("admin", "srv", { recipients: { sessionMembersOf: "srv", fromServer: true }, ...extra });
      expect(await store.commitBatch([post("bob", "srv")])).toEqual([{ status: "rejected", reason: "session-closed" }]);
      const notice = stored((await store.commitBatch([server()]))[0]);
      expect(notice.inbox.map((r) => r.userId)).toEqual(["bob", "carol"]);
      expect((await store.commitBatch([server({ recipients: { sessionMembersOf: "none", fromServer: true } })]))[0]).toEqual({ status: "rejected", reason: "no-session" });
      const dissolve = server({ msgType: "MTS-107", effects: { dissolve: true } });
      const out = await store.commitBatch([dissolve, server()]);
      expect(stored(out[0]).inbox.map((r) => r.userId)).toEqual(["bob", "carol"]);
      expect(out[1]).toEqual({ status: "rejected", reason: "session-closed" });
      expect((await store.commitBatch([server()]))[0]).toEqual({ status: "rejected", reason: "session-closed" });
      expect(await store.history(sessionConvId("srv"), 0, 10)).toMatchObject({ total: 1, items: [{ msgId: dissolve.msgId }] });
    });

    it("updates and deletes sessions and changes their members", async () => {
      await store.sessionCreate(sessionOf("m", "alice"), [memberOf("m", "alice", 1), memberOf("m", "bob", 2)]);
      expect(await store.sessionUpdate("m", { sessionName: "Renamed 😀", sessionModifyTime: "1700000000009" })).toBe(true);
      expect(await store.sessionUpdate("m", { sessionPic: "p.png" })).toBe(true);
      expect(await store.sessionUpdate("m", {})).toBe(true);
      expect(await store.sessionGet("m")).toEqual(sessionOf("m", "alice", { sessionName: "Renamed 😀", sessionModifyTime: "1700000000009", sessionPic: "p.png" }));
      expect(await store.sessionUpdate("m", { sessionValid: 1, sessionPic: null })).toBe(true);
      expect(await store.sessionGet("m")).toMatchObject({ sessionValid: 1, sessionPic: null });
      expect(await store.sessionUpdate("nope", { sessionName: "x" })).toBe(false);
      await expect(store.sessionUpdate("m", { sessionName: "x".repeat(257) })).rejects.toThrow();
      expect((await store.sessionGet("m"))!.sessionName).toBe("Renamed 😀");
      await store.sessionUpdate("m", { sessionValid: 0 });

      // A member listed twice (a modifySession with a repeated subscriber) is one row, the last wins.
      await store.sessionMembersPut("m", [memberOf("m", "carol", 3, { pic: "old.png" }), memberOf("m", "carol", 3, { pic: "c.png" }), memberOf("m", "bob", 9, { userName: "Bobby" })]);
      const members = await store.sessionMembers("m");
      expect(members.map((x) => [x.userId, x.userName, x.ts, x.pic])).toEqual([["alice", "User alice", "1", null], ["bob", "Bobby", "2", null], ["carol", "User carol", "3", "c.png"]]);
      const o = stored((await store.commitBatch([post("carol", "m")]))[0]);
      expect(o.inbox.map((r) => r.userId)).toEqual(["alice", "bob", "carol"]);
      expect(await store.sessionMembersRemove("m", ["bob", "nobody", "bob"])).toBe(1);
      expect(await store.sessionMembersRemove("m", [])).toBe(0);
      expect((await store.sessionMembers("m")).map((x) => x.userId)).toEqual(["alice", "carol"]);
      expect((await store.commitBatch([post("bob", "m")]))[0]).toEqual({ status: "rejected", reason: "not-member" });
      // Membership only: bob's history stays.
      expect((await store.history(sessionConvId("m"), 0, 10)).total).toBe(1);

      expect(await store.sessionDelete("m")).toBe(true);
      expect(await store.sessionDelete("m")).toBe(false);
      expect(await store.sessionGet("m")).toBeNull();
      expect(await store.sessionMembers("m")).toEqual([]);
      expect((await store.history(sessionConvId("m"), 0, 10)).total).toBe(1);
      expect((await store.commitBatch([post("alice", "m")]))[0]).toEqual({ status: "rejected", reason: "no-session" });
    });

    it("filters history by type, seeks before a seq, finds messages by msg_id, clears a 1:1 conversation", async () => {
      const conv = chatConvId("admin", "u");
      const ms = [chat("admin", "u", { msgType: "MTB-100" }), chat("admin", "u", { msgType: "MTB-000" }), chat("admin", "u", { msgType: "MTB-100" }), chat("admin", "u", { msgType: "MTB-100" })];
      await store.commitBatch(ms);
      const sys = await store.history(conv, 0, 2, { msgType: "MTB-100" });
      expect(sys.total).toBe(3);
      expect(sys.items.map((m) => m.seq)).toEqual([4, 3]);
      expect((await store.history(conv, 0, 10, { beforeSeq: 3 })).items.map((m) => m.seq)).toEqual([2, 1]);
      expect(await store.history(conv, 0, 10, { beforeSeq: 3, msgType: "MTB-100" })).toMatchObject({ total: 3, items: [{ seq: 1 }] });
      expect((await store.history(conv, 1, 10, { beforeSeq: 4 })).items.map((m) => m.seq)).toEqual([2, 1]);

      const shared = "same-id";
      await store.commitBatch([chat("a", "b", { msgId: shared }), chat("c", "d", { msgId: shared })]);
      expect((await store.messagesByMsgId(shared)).map((m) => m.msgFrom).sort()).toEqual(["a", "c"]);
      expect(await store.messagesByMsgId("none")).toEqual([]);

      const ab = chatConvId("a", "b");
      const more = [chat("b", "a"), chat("a", "b")];
      await store.commitBatch([...more, chat("a", "c"), chat("b", "a", { hidden: true, effects: { reads: [{ author: "a", msgId: shared, status: 1 }] } })]);
      expect(await store.readCounts("a", [shared])).toEqual({ [shared]: 1 });
      expect(await store.conversationClear(ab, ["a", "b"])).toBe(4);
      expect(await store.history(ab, 0, 10)).toEqual({ total: 0, items: [] });
      expect(await store.findMessage("a", shared)).toBeNull();
      expect(await store.readCounts("a", [shared])).toEqual({});
      expect((await allInbox("a")).map((i) => i.message.convId)).toEqual([chatConvId("a", "c")]);
      expect(await allInbox("b")).toEqual([]);
      expect(await store.findMessage("c", shared)).not.toBeNull();
      // The conversation goes on where it was: seqs are never reused.
      expect(stored((await store.commitBatch([chat("a", "b")]))[0]).message.seq).toBe(5);
      expect(await store.conversationClear(chatConvId("x", "y"), ["x", "y"])).toBe(0);
    });

    /**
     * Commits `before`, then `after` at a later millisecond; returns a horizon between the two
     * (every message of `before` has created_at < horizon <= every message of `after`).
     */
    const commitAround = async (before: NewMessage[], after: NewMessage[]) => {
      const old = (await store.commitBatch(before)).map((o) => stored(o));
      const horizon = Date.now() + 1;
      while (Date.now() <= horizon) await new Promise((r) => setTimeout(r, 1));
      const fresh = (await store.commitBatch(after)).map((o) => stored(o));
      expect(Math.max(...old.map((o) => o.message.createdAt))).toBeLessThan(horizon);
      expect(Math.min(...fresh.map((o) => o.message.createdAt))).toBeGreaterThanOrEqual(horizon);
      return { old, fresh, horizon };
    };
    /** One pass: calls purgeBefore, handing each call's cursor to the next, until it is null. */
    const purgeAll = async (req: { chatBefore: number | null; sessionBefore: number | null; limit: number }) => {
      const total = { messages: 0, inbox: 0, reads: 0, calls: 0 };
      let cursor: PurgeCursor | null = null;
      for (;;) {
        const r = await store.purgeBefore({ ...req, cursor });
        total.calls++;
        expect(r.messages).toBeLessThanOrEqual(req.limit);
        expect(r.inbox).toBeLessThanOrEqual(req.limit);
        total.messages += r.messages;
        total.inbox += r.inbox;
        total.reads += r.reads;
        if (r.cursor === null) return total;
        // The walk moves on: never the same position twice in a row.
        expect(r.cursor).not.toEqual(cursor);
        cursor = r.cursor;
        expect(total.calls).toBeLessThan(100);
      }
    };
    const inboxView = async (user: string) => (await allInbox(user)).map((i) => [i.inboxSeq, i.message.msgId]);

    it("purges messages older than the horizon in small batches with their inbox entries and read marks; what remains keeps its seqs", async () => {
      const members = ["alice", "bob", "carol"];
      await store.sessionCreate(sessionOf("ret", "alice"), members.map((u, i) => memberOf("ret", u, i)));
      const ab = chatConvId("alice", "bob");
      const oldChats = [chat("alice", "bob"), chat("bob", "alice"), chat("alice", "bob")];
      const oldPosts = [post("alice", "ret"), post("carol", "ret")];
      // bob reads alice's first old message: the receipt is itself a (hidden) message.
      const oldReceipt = chat("bob", "alice", { hidden: true, effects: { reads: [{ author: "alice", msgId: oldChats[0]!.msgId, status: 2 }] } });
      const newChats = [chat("alice", "bob"), chat("bob", "alice")];
      const newPost = post("bob", "ret");
      const { fresh, horizon } = await commitAround([...oldChats, ...oldPosts, oldReceipt], [...newChats, newPost]);
      // A read mark on a message that stays.
      await store.commitBatch([chat("bob", "alice", { hidden: true, effects: { reads: [{ author: "alice", msgId: newChats[0]!.msgId, status: 1 }] } })]);
      expect(await store.readCounts("alice", [oldChats[0]!.msgId])).toEqual({ [oldChats[0]!.msgId]: 1 });
      const oldIds = new Set([...oldChats, ...oldPosts, oldReceipt].map((m) => m.msgId));
      const before: Record<string, unknown[][]> = {};
      for (const u of members) before[u] = (await inboxView(u)).filter(([, id]) => !oldIds.has(id as string));
      expect(before.bob!.length).toBe(4); // the two new chats, the new post, the later receipt

      // Nothing before the horizon yet: nothing to do.
      expect(await store.purgeBefore({ chatBefore: 1, sessionBefore: 1, limit: 10 })).toMatchObject({ messages: 0, inbox: 0, reads: 0 });

      const total = await purgeAll({ chatBefore: horizon, sessionBefore: horizon, limit: 2 });
      // 6 messages; inbox: 3 chats x 2 + 2 posts x 3 members + the receipt x 2 = 14 entries.
      expect(total).toMatchObject({ messages: 6, inbox: 14, reads: 1 });
      expect(total.calls).toBeGreaterThanOrEqual(8); // at most 2 inbox entries per call
      for (const m of [...oldChats, ...oldPosts, oldReceipt]) expect(await store.findMessage(m.msgFrom, m.msgId)).toBeNull();
      expect(await store.readsOf("alice", oldChats[0]!.msgId)).toEqual([]);
      expect(await store.readCounts("alice", [newChats[0]!.msgId])).toEqual({ [newChats[0]!.msgId]: 1 });
      // What remains: same conversation seqs (the old receipt was seq 4 of the 1:1 conversation),
      // same inbox seqs, nothing old left in any inbox.
      expect((await store.history(ab, 0, 10)).items.map((m) => [m.seq, m.msgId])).toEqual([[6, newChats[1]!.msgId], [5, newChats[0]!.msgId]]);
      expect((await store.history(sessionConvId("ret"), 0, 10)).items.map((m) => [m.seq, m.msgId])).toEqual([[3, newPost.msgId]]);
      for (const u of members) expect(await inboxView(u)).toEqual(before[u]);
      expect((await allInbox("alice")).map((i) => i.inboxSeq)[0]).toBe(fresh[0]!.inbox.find((r) => r.userId === "alice")!.inboxSeq);
      expect(await store.inboxSeqOf("bob", ab, 5)).not.toBeNull();
      expect(await store.inboxSeqOf("bob", ab, 1)).toBeNull();
      // A second pass finds nothing.
      expect(await purgeAll({ chatBefore: horizon, sessionBefore: horizon, limit: 2 })).toMatchObject({ messages: 0, inbox: 0, reads: 0 });

      // Counters never go back: the next message gets the next seq in its conversation and inbox.
      const lastAlice = Math.max(...(await allInbox("alice")).map((i) => i.inboxSeq));
      const next = stored((await store.commitBatch([chat("alice", "bob")]))[0]);
      expect(next.message.seq).toBe(8); // after the later receipt, 7
      expect(next.inbox.find((r) => r.userId === "alice")!.inboxSeq).toBe(lastAlice + 1);
      // A purged (msg_from, msg_id) is beyond retention: a resend is stored again, as new.
      const again = stored((await store.commitBatch([{ ...oldChats[0]! }]))[0]);
      expect(again.message.seq).toBe(9);
      expect(await store.readsOf("alice", oldChats[0]!.msgId)).toEqual([]);
      expect(duplicate((await store.commitBatch([{ ...oldChats[0]! }]))[0]).seq).toBe(9);
    });

    it("walks every conversation and inbox in bounded calls, however many there are", async () => {
      // 13 users, 12 conversations, one old and one new message in each: limit 3 cuts the walk of
      // conversations, of inboxes and of each inbox.
      const peers = Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, "0")}`);
      const { horizon } = await commitAround(peers.map((p) => chat("hub", p)), peers.map((p) => chat(p, "hub")));
      const total = await purgeAll({ chatBefore: horizon, sessionBefore: horizon, limit: 3 });
      expect(total).toMatchObject({ messages: 12, inbox: 24, reads: 0 });
      expect(total.calls).toBeGreaterThanOrEqual(4 + 8); // 12 messages, then 24 entries, 3 a call
      expect((await allInbox("hub")).map((i) => i.message.msgFrom)).toEqual(peers);
      for (const p of peers) {
        expect((await allInbox(p)).map((i) => [i.message.msgFrom, i.message.seq])).toEqual([[p, 2]]);
        expect((await store.history(chatConvId("hub", p), 0, 10)).items.map((m) => m.seq)).toEqual([2]);
      }
    });

    it("purges each conversation kind by its own horizon; a kind without one is kept", async () => {
      await store.sessionCreate(sessionOf("k", "alice"), ["alice", "bob"].map((u, i) => memberOf("k", u, i)));
      const oldChat = chat("alice", "bob");
      const oldPost = post("alice", "k");
      const newChat = chat("bob", "alice");
      const newPost = post("bob", "k");
      const { horizon } = await commitAround([oldChat, oldPost], [newChat, newPost]);
      const ids = async (u: string) => (await allInbox(u)).map((i) => i.message.msgId);

      // Chats only: the old session post and its inbox entries stay.
      const chats = await purgeAll({ chatBefore: horizon, sessionBefore: null, limit: 1 });
      expect(chats).toMatchObject({ messages: 1, inbox: 2 });
      expect(await store.findMessage("alice", oldChat.msgId)).toBeNull();
      expect(await store.findMessage("alice", oldPost.msgId)).not.toBeNull();
      expect(await ids("bob")).toEqual([oldPost.msgId, newChat.msgId, newPost.msgId]);

      // Sessions with a later horizon than chats: every post goes, the newer chat stays.
      const later = Date.now() + 1;
      while (Date.now() <= later) await new Promise((r) => setTimeout(r, 1));
      const both = await purgeAll({ chatBefore: horizon, sessionBefore: later, limit: 1 });
      expect(both).toMatchObject({ messages: 2, inbox: 4 });
      expect(await ids("alice")).toEqual([newChat.msgId]);
      expect(await ids("bob")).toEqual([newChat.msgId]);
      expect((await store.history(sessionConvId("k"), 0, 10)).total).toBe(0);
      // The session itself, its members and its counter stay.
      expect((await store.sessionMembers("k")).length).toBe(2);
      expect(stored((await store.commitBatch([post("alice", "k")]))[0]).message.seq).toBe(3);
    });

    it("clearChatHistory after a purge clears what remains, as before", async () => {
      const ab = chatConvId("alice", "bob");
      const { horizon } = await commitAround([chat("alice", "bob"), chat("bob", "alice")], [chat("alice", "bob"), chat("alice", "carol")]);
      expect(await purgeAll({ chatBefore: horizon, sessionBefore: horizon, limit: 10 })).toMatchObject({ messages: 2, inbox: 4 });
      expect(await store.conversationClear(ab, ["alice", "bob"])).toBe(1);
      expect(await store.history(ab, 0, 10)).toEqual({ total: 0, items: [] });
      expect((await allInbox("alice")).map((i) => i.message.convId)).toEqual([chatConvId("alice", "carol")]);
      expect(await allInbox("bob")).toEqual([]);
      expect(await purgeAll({ chatBefore: horizon, sessionBefore: horizon, limit: 10 })).toMatchObject({ messages: 0, inbox: 0 });
      expect(stored((await store.commitBatch([chat("bob", "alice")]))[0]).message.seq).toBe(4);
    });

    it("keeps users: put replaces, get, remove, push codes", async () => {
      const u = (id: string, extra: Partial<User> = {}): User => ({ userId: id, userName: `Name ${id}`, acctLogin: id, userEmail: null, picUrl: null, appPushCode: null, updatedAt: 1, ...extra });
      await store.usersPut([u("u1", { userName: "Ünïcode 😀", picUrl: "p1", userEmail: "u1@x" }), u("u2")]);
      await store.usersPut([u("u2", { userName: "Two", appPushCode: "c2", updatedAt: 2 })]);
      const got = (await store.usersGet(["u2", "u1", "u3", "u1"])).sort((a, b) => a.userId.localeCompare(b.userId));
      expect(got).toEqual([u("u1", { userName: "Ünïcode 😀", picUrl: "p1", userEmail: "u1@x" }), u("u2", { userName: "Two", appPushCode: "c2", updatedAt: 2 })]);
      expect(await store.usersGet([])).toEqual([]);
      await store.userPushCodeSet("u1", "reg-1");
      await store.userPushCodeSet("u9", "reg-9");
      const [u1] = await store.usersGet(["u1"]);
      expect(u1).toMatchObject({ userName: "Ünïcode 😀", appPushCode: "reg-1" });
      expect(u1!.updatedAt).toBeGreaterThan(1);
      expect(await store.usersGet(["u9"])).toEqual([expect.objectContaining({ userId: "u9", userName: "u9", acctLogin: "u9", appPushCode: "reg-9" })]);
      await store.userPushCodeSet("u9", null);
      expect((await store.usersGet(["u9"]))[0]!.appPushCode).toBeNull();
      await expect(store.usersPut([u("u3"), u("u4", { userName: "x".repeat(257) })])).rejects.toThrow();
      expect(await store.usersGet(["u3"])).toEqual([]);
      expect(await store.usersRemove(["u1", "u9", "zz", "u1"])).toBe(2);
      expect(await store.usersRemove([])).toBe(0);
      expect((await store.usersGet(["u1", "u2", "u9"])).map((x) => x.userId)).toEqual(["u2"]);
    });

    it("keeps the session board, styles and files", async () => {
      const p = (id: string, ts: string, extra: Partial<Pubact> = {}): Pubact => ({ id, title: `T ${id}`, content: `C ${id}`, userId: "alice", ts, sessionId: "s", ...extra });
      await store.pubactAdd(p("p1", "1700000000001"));
      await store.pubactAdd(p("p2", "1700000000002", { content: "😀".repeat(3000) }));
      await store.pubactAdd(p("p3", "1700000000003", { sessionId: "other" }));
      await expect(store.pubactAdd(p("p1", "1"))).rejects.toThrow();
      expect((await store.pubactsOf("s")).map((x) => x.id)).toEqual(["p2", "p1"]);
      expect((await store.pubactsOf("s"))[0]!.content).toBe("😀".repeat(3000));
      expect(await store.pubactUpdate("p1", { title: "New" })).toBe(true);
      expect(await store.pubactUpdate("p1", { content: "Body" })).toBe(true);
      expect(await store.pubactUpdate("nope", { title: "x" })).toBe(false);
      expect((await store.pubactsOf("s"))[1]).toEqual(p("p1", "1700000000001", { title: "New", content: "Body" }));
      expect(await store.pubactDelete("p1")).toBe(true);
      expect(await store.pubactDelete("p1")).toBe(false);
      expect((await store.pubactsOf("s")).map((x) => x.id)).toEqual(["p2"]);

      const s1 = await store.stylePut({ styleId: "st1", styleName: "theme", styleValue: 1, userId: "alice" });
      expect(s1).toEqual({ styleId: "st1", styleName: "theme", styleValue: 1, userId: "alice" });
      expect(await store.stylePut({ styleId: "st2", styleName: "theme", styleValue: 7, userId: "alice" })).toEqual({ ...s1, styleValue: 7 });
      await store.stylePut({ styleId: "st3", styleName: "font", styleValue: 2, userId: "alice" });
      await store.stylePut({ styleId: "st4", styleName: "theme", styleValue: 3, userId: "bob" });
      expect((await store.stylesOf("alice")).map((x) => [x.styleName, x.styleValue])).toEqual([["font", 2], ["theme", 7]]);
      expect(await store.stylesOf("nobody")).toEqual([]);

      const f: StoredFile = { fileId: "f1", fileName: "报告 😀.pdf", contentType: "application/pdf", size: 12345678901, userId: null, createdAt: 1700000000000 };
      await store.fileAdd(f);
      expect(await store.fileGet("f1")).toEqual(f);
      expect(await store.fileGet("f2")).toBeNull();
      await expect(store.fileAdd(f)).rejects.toThrow();
    });

    multi("refuses posts that race a dissolve from another instance", async () => {
      const other = await fx!.second!();
      try {
        const users = ["u0", "u1", "u2", "u3"];
        await store.sessionCreate(sessionOf("race", "u0"), users.map((u, i) => memberOf("race", u, i)));
        const notice = post("u0", "race", { msgType: "MTS-107", effects: { dissolve: true } });
        const calls = range(40).map((i) => (i === 20 ? other.commitBatch([notice]) : (i % 2 ? store : other).commitBatch([post(users[i % 4]!, "race")])));
        const results = (await Promise.all(calls)).flat();
        const dissolved = stored(results[19]);
        for (const [i, o] of results.entries()) {
          if (i === 19) continue;
          // Stored before the dissolve (then purged), or refused after it: never after it.
          if (o.status === "stored") expect(o.message.seq).toBeLessThan(dissolved.message.seq);
          else expect(o).toEqual({ status: "rejected", reason: "session-closed" });
        }
        expect(await store.history(sessionConvId("race"), 0, 100)).toEqual({ total: 1, items: [dissolved.message] });
        for (const u of users) {
          expect((await allInbox(u)).map((i) => i.message.msgId)).toEqual([notice.msgId]);
        }
      } finally {
        await other.close();
      }
    });

    multi("dedupes against rows another instance committed", async () => {
      const other = await fx!.second!();
      try {
        const m = chat("alice", "bob");
        const first = stored((await store.commitBatch([m]))[0]);
        // The other instance has never seen this id: the table answers, not a cache.
        expect(duplicate((await other.commitBatch([{ ...m, body: "[]" }]))[0])).toEqual(first.message);
        const next = stored((await other.commitBatch([chat("alice", "bob")]))[0]);
        expect(next.message.seq).toBe(2);
        expect(next.inbox).toEqual([{ userId: "bob", inboxSeq: 2 }, { userId: "alice", inboxSeq: 2 }]);
      } finally {
        await other.close();
      }
    });

    multi("numbers correctly when two instances write the same conversations at once", async () => {
      const other = await fx!.second!();
      try {
        const shared = range(20).map(() => chat("alice", "bob"));
        // Call i and call i + 20 send the same message, one through each instance.
        const calls = range(40).map((i) => ({ s: i <= 20 ? store : other, batch: [chat(i % 3 ? "alice" : "bob", "carol"), shared[(i - 1) % 20]!] }));
        const results = (await Promise.all(calls.map((c) => c.s.commitBatch(c.batch)))).flat();
        // Each shared message is stored exactly once; its resend is a duplicate with the same seq.
        const sharedOutcomes = results.filter((o) => o.status !== "rejected" && o.message.convId === chatConvId("alice", "bob"));
        expect(sharedOutcomes.filter((o) => o.status === "stored").length).toBe(20);
        expect(sharedOutcomes.filter((o) => o.status === "duplicate").length).toBe(20);
        const h = await store.history(chatConvId("alice", "bob"), 0, 100);
        expect(h.items.map((m) => m.seq).reverse()).toEqual(range(20));
        expect((await allInbox("carol")).map((i) => i.inboxSeq)).toEqual(range(40));
        const fromBob = calls.filter((c) => c.batch[0]!.msgFrom === "bob").length;
        expect((await allInbox("bob")).map((i) => i.inboxSeq)).toEqual(range(20 + fromBob));
      } finally {
        await other.close();
      }
    });
  });
}
