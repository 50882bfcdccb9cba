// J-IM clients and XMPP users in one conversation space through a real XMPP server: chats both
// ways, groups as tlim sessions, offline and history from the shared inbox, recall, get user;
// on SQLite and MariaDB.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_AVATAR } from "../../src/config.js";
import { signToken } from "../../src/protocol/jim-token.js";
import { jimLogin, JimTcpClient, JimWsClient, type JimClient } from "../support/jim-client.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { envelope, envelopeOf, isMessageWithId, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { connectClient, type TestClient } from "../support/xmpp-client.js";

const SECRET = "jim-token-secret";
const PW = "pw";
const USERS = Array.from({ length: 40 }, (_, i) => `x${i + 1}`);
const token = (user: string) => signToken(SECRET, user, Math.floor(Date.now() / 1000) + 3600);

describe.each(DB_KINDS)(onServer("J-IM <-> XMPP through the XMPP server on %s"), (kind) => {
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  let C: string;
  let next = 0;
  const jims: JimClient[] = [];
  const xmpps: TestClient[] = [];
  const fresh = () => USERS[next++]!;

  const jim = async (user: string, via: "tcp" | "ws" = "tcp") => {
    const c = via === "tcp" ? await JimTcpClient.connect(tlim.jimPort) : await JimWsClient.connect(tlim.jimPort);
    jims.push(c);
    expect((await jimLogin(c, user, { token: token(user) })).json.code).toBe(10007);
    return c;
  };
  const xmpp = async (user: string) => {
    const c = await connectClient(prosody, user, PW);
    xmpps.push(c);
    await c.sendPresenceTo(C);
    await sleep(150); // tlim sees the presence
    return c;
  };
  const session = async (owner: string, members: string[]) =>
    (await tlim.core.sessions.create({ sessionType: 0, owner, members: members.map((userId) => ({ userId })) })).session.sessionId;

  beforeAll(async () => {
    prosody = await startXmppServer({ users: USERS.map((u) => [u, PW] as [string, string]) });
    C = prosody.componentDomain;
    db = await createDb(kind, "jimx");
    tlim = await startTestTlim(prosody, db.url, { xmppC2s: prosody.service, jimTokenSecret: SECRET });
  });

  afterAll(async () => {
    for (const c of jims) c.close();
    for (const c of xmpps) await c.stop();
    await tlim?.stop();
    await prosody?.stop();
    await db?.drop();
  });

  it("J-IM -> XMPP: a private chat arrives as an MTT-000 envelope from <user>@C; 12 after commit", async () => {
    const [a, b] = [fresh(), fresh()];
    const bob = await xmpp(b);
    const alice = await jim(a);
    alice.send(11, { from: a, to: b, chatType: 2, msgType: 0, content: "hello from J-IM", id: "jim-1", createTime: 1588291200000 });
    expect((await alice.next(12)).json).toEqual({ code: 10000, command: 12, msg: "ok 发送成功" });
    const got = await bob.waitFor(isMessageWithId("jim-1"));
    expect(got.attrs.from).toBe(`${a}@${C}`);
    expect(envelopeOf(got)).toMatchObject({ msg_from: a, msg_to: b, msg_type: "MTT-000", msg_time: "1588291200000", body: [{ text: "hello from J-IM" }] });
    const h = await tlim.core.messaging.chatHistory(a, b, 0, 10);
    expect(h.items.map((m) => m.msgId)).toEqual(["jim-1"]);
  });

  it("XMPP -> J-IM: MTT-000 and MTT-002 arrive as command-11 pushes (msgType 0 and 6) on TCP and WS", async () => {
    const [a, b] = [fresh(), fresh()];
    const tcpA = await jim(a, "tcp");
    const wsA = await jim(a, "ws");
    const bob = await xmpp(b);
    const text = envelope({ msg_from: b, msg_to: a, msg_type: "MTT-000", body: [{ text: "hi J-IM" }] });
    const file = envelope({ msg_from: b, msg_to: a, msg_type: "MTT-002", body: [{ fileId: "f-42" }] });
    await bob.send(tlimMessage(`${a}@${C}`, text));
    await bob.send(tlimMessage(`${a}@${C}`, file));
    for (const c of [tcpA, wsA]) {
      expect((await c.next(11)).json).toEqual({
        command: 11,
        data: { chatType: 2, cmd: 11, content: "hi J-IM", createTime: Number(text.msg_time), from: b, id: text.msg_id, msgType: 0, to: a },
      });
      expect((await c.next(11)).json.data).toMatchObject({ id: file.msg_id, msgType: 6, content: "f-42" });
    }
    expect((tcpA as JimTcpClient).received.find((p) => p.command === 11)!.frame!.mask).toBe(0x51);
  });

  it("maps a J-IM picture/voice to MTT-001/MTT-003 with the file reference", async () => {
    const [a, b] = [fresh(), fresh()];
    const bob = await xmpp(b);
    const alice = await jim(a);
    alice.send(11, { to: b, chatType: "2", msgType: "1", content: "https://files/upload/download?fileId=img7&fileName=a.png", id: "pic-1" });
    alice.send(11, { to: b, chatType: 2, msgType: 2, content: "voice9", id: "voice-1" });
    expect(envelopeOf(await bob.waitFor(isMessageWithId("pic-1")))).toMatchObject({ msg_type: "MTT-001", body: [{ fileId: "img7" }] });
    expect(envelopeOf(await bob.waitFor(isMessageWithId("voice-1")))).toMatchObject({ msg_type: "MTT-003", body: [{ fileId: "voice9" }] });
  });

  it("refuses a spoofed from and a bad chat with 10002: nothing stored, nothing delivered", async () => {
    const [a, b, m] = [fresh(), fresh(), fresh()];
    const bob = await xmpp(b);
    const mallory = await jim(m);
    mallory.send(11, { from: a, to: b, chatType: 2, content: "I am alice", id: "spoof-1" });
    const r = await mallory.next(12);
    expect(r.json).toMatchObject({ code: 10002, command: 12, data: { error: "error-000" } });
    expect(r.json.msg).toMatch(/^send failed 消息发送失败,数据格式不正确/);
    for (const body of [{ to: b, chatType: 0, content: "x" }, { to: b, content: "x" }, { to: b, chatType: 2, content: "" }]) {
      mallory.send(11, body);
      expect((await mallory.next(12)).json.code).toBe(10002);
    }
    await sleep(200);
    expect(bob.messages().filter(isMessageWithId("spoof-1"))).toHaveLength(0);
    expect((await tlim.core.messaging.chatHistory(a, b, 0, 10)).total).toBe(0);
  });

  it("answers 10001 for an offline private target, keeps it, and serves it as offline (19 type 0) without destroying it", async () => {
    const [a, c] = [fresh(), fresh()];
    const alice = await jim(a);
    for (const i of [1, 2, 3]) alice.send(11, { to: c, chatType: 2, content: `m${i}`, id: `off-${i}` });
    for (const _ of [1, 2, 3]) expect((await alice.next(12)).json).toEqual({ code: 10001, command: 12, msg: "offline 用户不在线" });

    const carol = await jim(c, "ws");
    carol.send(19, { userId: c, type: 0 });
    const off = await carol.next(20);
    expect(off.json).toMatchObject({ code: 10016, command: 20, msg: "get user message ok! 获取离线消息成功!", data: { userId: c, groups: {} } });
    expect(off.json.data.friends[a].map((m: any) => m.content)).toEqual(["m1", "m2", "m3"]);
    expect(off.json.data.friends[a][0]).toMatchObject({ from: a, to: c, chatType: 2, id: "off-1" });
    // Read once: the device's cursor moved; a second fetch is empty, history still has them.
    carol.send(19, { userid: c, type: "0" });
    expect((await carol.next(20)).json.data).toEqual({ userId: c, friends: {}, groups: {} });
    carol.send(19, { userId: c, fromUserId: a, type: 1 });
    const hist = await carol.next(20);
    expect(hist.json.code).toBe(10018);
    expect(hist.json.data.friends[a].map((m: any) => m.content)).toEqual(["m1", "m2", "m3"]);
    // The same device after a reconnect: nothing offline again.
    carol.close();
    const again = await jim(c, "ws");
    again.send(19, { type: 0 });
    expect((await again.next(20)).json.data.friends).toEqual({});
    // Another device (TCP) of the same user starts where the most advanced device is.
    const tcpC = await jim(c, "tcp");
    tcpC.send(19, { type: 0 });
    expect((await tcpC.next(20)).json.data.friends).toEqual({});
  });

  it("offline per peer leaves the other conversations for later; live pushes are not offered again", async () => {
    const [a, b, c] = [fresh(), fresh(), fresh()];
    const alice = await jim(a);
    const bob = await jim(b);
    alice.send(11, { to: c, chatType: 2, content: "from a" });
    bob.send(11, { to: c, chatType: 2, content: "from b" });
    await alice.next(12);
    await bob.next(12);
    const carol = await jim(c);
    alice.send(11, { to: c, chatType: 2, content: "live" });
    expect((await carol.next(11)).json.data.content).toBe("live");
    carol.send(19, { userId: c, fromUserId: b, type: 0 });
    expect((await carol.next(20)).json.data.friends).toEqual({ [b]: [expect.objectContaining({ content: "from b" })] });
    carol.send(19, { userId: c, type: 0 });
    expect((await carol.next(20)).json.data.friends).toEqual({ [a]: [expect.objectContaining({ content: "from a" })] });
    carol.send(19, { userId: c, type: 0 });
    expect((await carol.next(20)).json.data.friends).toEqual({});
    carol.send(19, { userId: a, type: 0 }); // someone else's inbox
    expect((await carol.next(20)).json).toEqual({ code: 10015, command: 20, msg: "get user message failed! 获取用户消息失败!" });
    carol.send(19, { type: 1 }); // history needs a peer or a group
    expect((await carol.next(20)).json.code).toBe(10015);
    carol.send(19, { fromUserId: a });
    expect((await carol.next(20)).json.code).toBe(10015);
  });

  it("history: ascending, offset/count and beginTime/endTime as docs/jim-gateway.md (Offline and history) says", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await jim(a);
    for (let i = 0; i < 6; i++) {
      alice.send(11, { to: b, chatType: 2, content: `h${i}` });
      await alice.next(12);
    }
    const all = (await tlim.core.messaging.chatHistory(a, b, 0, 10)).items.reverse();
    alice.send(19, { userId: a, fromUserId: b, type: 1, offset: 1, count: 2 });
    expect((await alice.next(20)).json.data.friends[b].map((m: any) => m.content)).toEqual(["h1", "h2"]);
    alice.send(19, { userId: a, fromUserId: b, type: 1, offset: 5, count: 10 });
    expect((await alice.next(20)).json.data.friends[b].map((m: any) => m.content)).toEqual(["h5"]);
    alice.send(19, { userId: a, fromUserId: b, type: 1, beginTime: all[2]!.createdAt, endTime: all[3]!.createdAt });
    const ranged = (await alice.next(20)).json.data.friends[b].map((m: any) => m.content);
    expect(ranged).toEqual(expect.arrayContaining(["h2", "h3"]));
    expect(ranged.every((t: string) => all.some((m) => JSON.parse(m.body)[0].text === t && m.createdAt >= all[2]!.createdAt && m.createdAt <= all[3]!.createdAt))).toBe(true);
    alice.send(19, { userId: a, fromUserId: b, type: 1 });
    expect((await alice.next(20)).json.data.friends[b]).toHaveLength(6);
  });

  it("groups are tlim sessions: login joins them (9), chat fans out to J-IM and XMPP members, exit notifies (10)", async () => {
    const [a, b, d, o] = [fresh(), fresh(), fresh(), fresh()];
    const sid = await session(a, [b, d]);
    const bob = await xmpp(b);
    const alice = await jim(a);
    const join = await alice.next(9);
    expect(join.json).toMatchObject({ code: 10011, command: 9, msg: "join group ok! 加入群组成功!", group: sid, user: { userId: a } });
    const dave = await jim(d, "ws");
    expect((await dave.next(9)).json).toMatchObject({ group: sid, user: { userId: d } });
    expect((await alice.next(9)).json).toMatchObject({ group: sid, user: { userId: d } });

    alice.send(11, { groupId: sid, chatType: 1, msgType: 0, content: "hi group", id: "grp-1" });
    expect((await alice.next(12)).json.code).toBe(10000);
    expect((await dave.next(11)).json.data).toMatchObject({ chatType: 1, groupId: sid, from: a, content: "hi group", id: "grp-1" });
    expect((await alice.next(11)).json.data.id).toBe("grp-1"); // the sender's echo, as upstream
    const x = await bob.waitFor(isMessageWithId("grp-1"));
    expect(x.attrs.from).toBe(`${sid}@${C}`);
    expect(envelopeOf(x)).toMatchObject({ msg_type: "MTS-000", body: [{ session_id: sid, text: "hi group" }] });

    // XMPP -> group -> J-IM (v2 spelling group_id accepted on the way in, too).
    const env = envelope({ msg_from: b, msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text: "from xmpp" }] });
    await bob.send(tlimMessage(`${sid}@${C}`, env));
    expect((await dave.next(11)).json.data).toMatchObject({ chatType: 1, groupId: sid, from: b, content: "from xmpp" });
    dave.send(11, { group_id: sid, chatType: 1, content: "v2 spelling" });
    expect((await dave.next(12)).json.code).toBe(10000);

    // A non-member cannot post or join; an unknown group is result 2.
    const outsider = await jim(o);
    outsider.send(11, { groupId: sid, chatType: 1, content: "let me in" });
    expect((await outsider.next(12)).json).toMatchObject({ code: 10002, data: { error: "error-012" } });
    outsider.send(7, { groupId: sid });
    expect((await outsider.next(8)).json).toEqual({ code: 10012, command: 8, msg: "join group failed! 加入群组失败!", result: 0 });
    outsider.send(7, { groupId: "no-such-group" });
    expect((await outsider.next(8)).json.result).toBe(2);
    // A member may join explicitly (cmd 7): command 9 again, no 8 (v3).
    alice.send(7, { groupId: sid });
    expect((await alice.next(9)).json.group).toBe(sid);

    dave.close();
    expect((await alice.next(10)).json).toEqual({ command: 10, data: { group: sid, user: { nick: d, avatar: DEFAULT_AVATAR, status: "offline", userId: d } } });
  });

  it("speaks v2 to a connection that logged in with loginname: reply 8, data-wrapped 9, group_id, userid", async () => {
    const [a, b] = [fresh(), fresh()];
    const sid = await session(a, [b]);
    const c = await JimTcpClient.connect(tlim.jimPort);
    jims.push(c);
    c.send(5, { loginname: b, token: token(b) });
    expect((await c.next(6)).json.code).toBe(10007);
    expect((await c.next(9)).json).toEqual({ command: 9, data: { group: sid, user: { id: b, nick: b, avatar: DEFAULT_AVATAR, status: "online", terminal: "tcp" } } });
    c.send(7, { group_id: sid });
    expect((await c.next(8)).json).toEqual({ code: 10011, command: 8, msg: "join group ok! 加入群组成功!", data: { group: sid, result: 1 } });
    await c.next(9);
    const alice = await jim(a);
    alice.send(11, { groupId: sid, chatType: 1, content: "to v2" });
    const push = (await c.waitFor((p) => p.command === 11 && p.json.data.content === "to v2")).json.data;
    expect(push.group_id).toBe(sid);
    expect(push.groupId).toBeUndefined();
    c.send(19, { userid: b, type: 1, group_id: sid });
    const hist = (await c.next(20)).json;
    expect(hist.data.userid).toBe(b);
    expect(hist.data.groups[sid].map((m: any) => m.content)).toContain("to v2");
  });

  it("recall (15 -> 16) becomes a tlim revoke: XMPP gets MTT-101, J-IM recipients a command-15 push", async () => {
    const [a, b, c] = [fresh(), fresh(), fresh()];
    const bob = await xmpp(b);
    const alice = await jim(a);
    const carol = await jim(c);
    alice.send(11, { to: b, chatType: 2, content: "oops", id: "rc-1" });
    await alice.next(12);
    alice.send(11, { to: c, chatType: 2, content: "oops too", id: "rc-2" });
    await carol.next(11);
    alice.send(15, { id: "rc-1", chatType: 2, to: b });
    expect((await alice.next(16)).json).toEqual({ code: 10000, command: 16, msg: "ok 发送成功" });
    const revoke = await bob.waitFor((el) => el.is("message") && envelopeOf(el)?.msg_type === "MTT-101");
    expect(envelopeOf(revoke).body).toEqual([{ msg_id: "rc-1" }]);
    alice.send(15, { id: "rc-2", chatType: 2, to: c });
    await alice.next(16);
    expect((await carol.next(15)).json.data).toMatchObject({ id: "rc-2", from: a, chatType: 2 });
    carol.send(15, { id: "rc-2", chatType: 2, to: a }); // not the author
    expect((await carol.next(16)).json).toMatchObject({ code: 10002, data: { error: "error-011" } });
    alice.send(15, { id: "nope", chatType: 2, to: b });
    expect((await alice.next(16)).json).toMatchObject({ code: 10002, data: { error: "error-017" } });
    expect((await tlim.core.messaging.chatHistory(a, b, 0, 10)).items.map((m) => m.msgId)).not.toContain("rc-1");
  });

  it("get user (17 -> 18): own record with groups and members filtered by status; bad type 10004", async () => {
    const [a, b, d] = [fresh(), fresh(), fresh()];
    const sid = await session(a, [b, d]);
    await xmpp(b);
    const alice = await jim(a);
    alice.send(17, { userId: a, type: 0 });
    const online = await alice.next(18);
    expect(online.json).toMatchObject({ code: 10005, command: 18, msg: "ok 获取所有在线用户信息成功!", data: { userId: a, status: "online", terminal: "tcp" } });
    const group = online.json.data.groups.find((g: any) => g.groupId === sid);
    expect(group.users.map((u: any) => u.userId).sort()).toEqual([a, b].sort());
    expect(group.users.find((u: any) => u.userId === b).terminal).toBe("xmpp");
    alice.send(17, { userid: a, type: "1" });
    const offline = await alice.next(18);
    expect(offline.json.code).toBe(10006);
    expect(offline.json.data.groups.find((g: any) => g.groupId === sid).users.map((u: any) => u.userId)).toEqual([d]);
    alice.send(17, { type: 2 });
    expect((await alice.next(18)).json.data.groups.find((g: any) => g.groupId === sid).users).toHaveLength(3);
    alice.send(17, { userId: b, type: 0 });
    expect((await alice.next(18)).json.data).toEqual({ userId: b, nick: b, avatar: DEFAULT_AVATAR, status: "online", terminal: "xmpp" });
    for (const type of [3, undefined]) {
      alice.send(17, { userId: a, type });
      expect((await alice.next(18)).json).toEqual({ code: 10004, command: 18, msg: "get user failed ! 获取用户信息失败!" });
    }
  });

  it("a J-IM user's own 1:1 message reaches its other J-IM connections, not the one it came from", async () => {
    const [a, b] = [fresh(), fresh()];
    const phone = await jim(a, "tcp");
    const web = await jim(a, "ws");
    phone.send(11, { to: b, chatType: 2, content: "sync me", id: "own-1" });
    await phone.next(12);
    expect((await web.next(11)).json.data).toMatchObject({ id: "own-1", from: a, to: b });
    await sleep(200);
    expect(phone.received.filter((p) => p.command === 11)).toHaveLength(0);
  });
});
