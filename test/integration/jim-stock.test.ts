// Stock J-IM clients unchanged against the gateway (docs/jim-gateway.md "Default groups",
// "Avatars and nicks", "Heartbeat"): a WebSocket client that behaves like J-IM's own web demo page (auto-login
// on the upgrade URL, no heartbeats, posts to group "100" with numeric strings), with
// TLIM_JIM_DEFAULT_GROUPS=100; XMPP members of that group; avatars and nicks in every user record;
// the WebSocket keepalive; HTTP addSession with a caller-chosen session_id. A real XMPP server
// (Prosody or ejabberd, test/support/xmpp-server.ts), real sockets, SQLite and MariaDB.
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_AVATAR } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { signToken } from "../../src/protocol/jim-token.js";
import { JimGateway } from "../../src/transports/jim/index.js";
import { jimLogin, JimTcpClient, JimWsClient, type JimClient, type JimPacket } from "../support/jim-client.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { envelope, envelopeOf, isMessageWithId, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { API_SECRET, createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { connectClient, type TestClient } from "../support/xmpp-client.js";

const SECRET = "jim-token-secret";
const PW = "pw";
const USERS = Array.from({ length: 30 }, (_, i) => `st${i + 1}`);
const token = (user: string) => signToken(SECRET, user, Math.floor(Date.now() / 1000) + 3600);

/** Every User record in a packet (login reply, join/exit notices, get-user with its lists). */
function userRecords(p: JimPacket): Array<Record<string, unknown>> {
  const j = p.json;
  const out: Array<Record<string, unknown>> = [];
  const withLists = (u: any) => {
    if (!u || typeof u !== "object") return;
    out.push(u);
    for (const g of [...(u.friends ?? []), ...(u.groups ?? [])]) for (const m of g.users ?? []) out.push(m);
  };
  if (p.command === 6 && j.user) withLists(j.user);
  if (p.command === 9) withLists(j.user ?? j.data?.user);
  if (p.command === 10) withLists(j.data?.user);
  if (p.command === 18 && j.data) withLists(j.data);
  return out;
}

describe.each(DB_KINDS)(onServer("stock J-IM clients on %s"), (kind) => {
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  let C: string;
  let next = 0;
  const jims: JimClient[] = [];
  const xmpps: TestClient[] = [];
  const fresh = () => USERS[next++]!;

  /** What J-IM's web demo page does: log in on the upgrade URL with a password, then ask for its
   * profile (17 type 0) and its offline messages (19 type 0); never a heartbeat. */
  const stockPage = async (user: string, port = tlim.jimPort) => {
    const c = await JimWsClient.connect(port, `/?username=${user}&password=${PW}`);
    jims.push(c);
    const reply = await c.next(6, 10000);
    expect(reply.json.code).toBe(10007);
    c.send(17, { userId: user, type: "0" });
    c.send(19, { userId: user, type: "0" });
    await c.next(18);
    await c.next(20);
    return c;
  };
  const tcpAs = async (user: string) => {
    const c = await JimTcpClient.connect(tlim.jimPort);
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
  const joinOf = (c: JimClient, group: string, user: string) =>
    c.waitFor((p) => p.command === 9 && p.json.group === group && p.json.user?.userId === user);

  beforeAll(async () => {
    prosody = await startXmppServer({ users: USERS.map((u) => [u, PW] as [string, string]) });
    C = prosody.componentDomain;
    db = await createDb(kind, "jims");
    tlim = await startTestTlim(prosody, db.url, { xmppC2s: prosody.service, jimTokenSecret: SECRET, jimDefaultGroups: "100" });
  });

  afterAll(async () => {
    for (const c of jims) c.close();
    for (const c of xmpps) await c.stop();
    await tlim?.stop();
    await prosody?.stop();
    await db?.drop();
  });

  it("default group 100: concurrent first logins create it once and join everyone; a post reaches the page, the others and an XMPP member", async () => {
    const [a, b, c, x] = [fresh(), fresh(), fresh(), fresh()];
    expect(await tlim.store.sessionGet("100")).toBeNull();
    const [pa, pb, pc] = await Promise.all([stockPage(a), stockPage(b), stockPage(c)]);
    for (const [page, user] of [[pa, a], [pb, b], [pc, c]] as const) {
      expect((await joinOf(page, "100", user)).json).toMatchObject({ code: 10011, command: 9, user: { userId: user, status: "online", terminal: "ws" } });
    }
    const s = await tlim.store.sessionGet("100");
    expect(s).toMatchObject({ sessionId: "100", sessionName: "100", sessionUser: "admin", sessionValid: 0, sessionType: 0 });
    expect((await tlim.store.sessionMembers("100")).map((m) => m.userId).sort()).toEqual([a, b, c].sort());
    expect((await tlim.store.sessionsOf(a, 0)).filter((x) => x.sessionId === "100")).toHaveLength(1);

    // A later page gets its own join notice; the ones already there get it too.
    const d = fresh();
    const pd = await stockPage(d);
    for (const page of [pa, pb, pc, pd]) await joinOf(page, "100", d);

    // An XMPP user made a member of "100" over HTTP.
    expect((await tlim.api("modifySession", { session_id: "100", subscribers: JSON.stringify([{ user_id: x, type: "add" }]) })).result).toBe("ok");
    const xc = await xmpp(x);

    // The page posts as the demo does: numeric strings, groupId "100", from itself.
    pa.send(11, { from: a, chatType: "1", groupId: "100", msgType: "0", content: "hello 100", id: "stock-1", createTime: Date.now() });
    expect((await pa.next(12)).json).toEqual({ code: 10000, command: 12, msg: "ok 发送成功" });
    for (const page of [pb, pc, pd, pa]) {
      const push = await page.waitFor((p) => p.command === 11 && p.json.data.id === "stock-1");
      expect(push.json.data).toMatchObject({ chatType: 1, groupId: "100", from: a, content: "hello 100" });
    }
    const got = await xc.waitFor(isMessageWithId("stock-1"));
    expect(got.attrs.from).toBe(`100@${C}`);
    expect(envelopeOf(got)).toMatchObject({ msg_from: a, msg_type: "MTS-000", body: [{ session_id: "100", text: "hello 100" }] });

    // ...and the XMPP member's post reaches the pages.
    const env = envelope({ msg_from: x, msg_to: "100", msg_type: "MTS-000", body: [{ session_id: "100", text: "from xmpp" }] });
    await xc.send(tlimMessage(`100@${C}`, env));
    expect((await pb.waitFor((p) => p.command === 11 && p.json.data.id === env.msg_id)).json.data).toMatchObject({ from: x, groupId: "100", content: "from xmpp" });

    // The group's history as the page asks for it; still one group after all these logins.
    pb.send(19, { userId: b, groupId: "100", type: "1" });
    expect((await pb.next(20)).json.data.groups["100"].map((m: any) => m.content)).toEqual(["hello 100", "from xmpp"]);
    const found = await tlim.api("findSession", { session_id: "100" });
    expect(found).toMatchObject({ result: "ok", session_id: "100", session_user: "admin" });
    expect(found.subscribers.map((m: any) => m.user_id).sort()).toEqual([a, b, c, d, x].sort());
  });

  it("a user removed from a default group is a member again at its next login; a closed default group is not joined", async () => {
    const u = fresh();
    await stockPage(u); // creates "100" if this test runs alone, joins it otherwise
    await tlim.api("modifySession", { session_id: "100", subscribers: JSON.stringify([{ user_id: u, type: "del" }]) });
    const again = await stockPage(u);
    await joinOf(again, "100", u);
    expect((await tlim.store.sessionMembers("100")).some((m) => m.userId === u)).toBe(true);

    expect((await tlim.api("switchSession", { session_id: "100", session_valid: "1" })).result).toBe("ok");
    try {
      const v = fresh();
      const page = await stockPage(v);
      await sleep(200);
      expect(page.received.filter((p) => p.command === 9)).toHaveLength(0);
      expect((await tlim.store.sessionMembers("100")).some((m) => m.userId === v)).toBe(false);
    } finally {
      await tlim.api("switchSession", { session_id: "100", session_valid: "0" });
    }
  });

  it("avatar in every user record (pic_url, else the default) and one nick in join and exit notices", async () => {
    const [p, q] = [fresh(), fresh()];
    const pic = "https://img.example/p.png";
    expect((await tlim.api("addUser", { userList: JSON.stringify([{ user_id: p, user_name: "Pat", pic_url: pic }]) })).result).toBe("ok");
    const sid = (await tlim.core.sessions.create({ sessionType: 0, owner: p, members: [{ userId: q }] })).session.sessionId;

    const qc = await tcpAs(q);
    expect((qc.received.find((x) => x.command === 6)!.json.user)).toMatchObject({ userId: q, nick: q, avatar: DEFAULT_AVATAR });
    const pc = await stockPage(p);
    expect(pc.received.find((x) => x.command === 6)!.json.user).toMatchObject({ userId: p, nick: "Pat", avatar: pic });

    // Join notices: the one q saw for p, in p's session and in "100".
    const joinP = (await joinOf(qc, sid, p)).json.user;
    expect(joinP).toEqual({ userId: p, nick: "Pat", avatar: pic, status: "online", terminal: "ws" });
    expect((await joinOf(qc, "100", p)).json.user).toEqual(joinP);

    // get-user: own record, members, friends, another user's card.
    pc.send(17, { userId: p, type: 2 });
    const rec = (await pc.next(18)).json.data;
    expect(rec).toMatchObject({ userId: p, nick: "Pat", avatar: pic });
    const group = rec.groups.find((g: any) => g.groupId === sid);
    expect(group.avatar).toBe(DEFAULT_AVATAR);
    expect(group.users.find((u: any) => u.userId === q)).toMatchObject({ nick: q, avatar: DEFAULT_AVATAR });
    expect(group.users.find((u: any) => u.userId === p)).toMatchObject({ nick: "Pat", avatar: pic });
    pc.send(17, { userId: q, type: 0 });
    expect((await pc.next(18)).json.data).toEqual({ userId: q, nick: q, avatar: DEFAULT_AVATAR, status: "online", terminal: "tcp" });

    // Exit notices carry the join notice's nick and avatar (not the bare id).
    pc.close();
    for (const group of [sid, "100"]) {
      const exit = await qc.waitFor((x) => x.command === 10 && x.json.data.group === group);
      expect(exit.json).toEqual({ command: 10, data: { group, user: { userId: p, nick: "Pat", avatar: pic, status: "offline" } } });
    }
    // A v2 connection gets the same card as `id`.
    const v2 = await JimTcpClient.connect(tlim.jimPort);
    jims.push(v2);
    v2.send(5, { loginname: p, token: token(p) });
    expect((await v2.next(6)).json.code).toBe(10007);
    expect((await qc.waitFor((x) => x.command === 9 && x.json.group === sid && x.json.user.userId === p && x.json.user.terminal === "tcp")).json.user)
      .toEqual({ userId: p, nick: "Pat", avatar: pic, status: "online", terminal: "tcp" });
    v2.close();
    const exitsOf = () => qc.received.filter((y) => y.command === 10 && y.json.data.group === sid);
    await qc.waitFor(() => exitsOf().length === 2);
    expect(exitsOf()[1]!.json.data.user).toEqual({ userId: p, nick: "Pat", avatar: pic, status: "offline" });
  });

  it("HTTP addSession with session_id: folded, taken once (error-016), invalid ids refused (error-007), absent generated", async () => {
    const [a, b] = [fresh(), fresh()];
    const add = (params: Record<string, string>) =>
      tlim.api("addSession", { session_type: "0", request_user: a, subscribers: JSON.stringify([{ user_id: b }]), ...params }, { method: "POST" });
    const r = await add({ session_id: " Team-7 " });
    expect(r).toMatchObject({ result: "ok", session_id: "team-7", session_user: a, subscribers: [{ user_id: a }, { user_id: b }] });
    expect((await tlim.api("findSession", { session_id: "TEAM-7" })).session_id).toBe("team-7");
    for (const again of ["team-7", "TEAM-7"]) {
      const dup = await add({ session_id: again });
      expect(dup.result).toBe("error-016");
      expect(dup.result_detail).toContain("taken");
    }
    for (const bad of ["a b", "x@y", "a/b", "z".repeat(65), "\u0007bell"]) {
      const refused = await add({ session_id: bad });
      expect(refused.result, bad).toBe("error-007");
      expect(refused.result_detail).toContain("session_id");
    }
    expect((await add({ session_id: "" })).session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await add({})).session_id).toMatch(/^[0-9a-f-]{36}$/);

    // Concurrent creates of one id: exactly one wins, the others are told it is taken.
    const results = await Promise.all([1, 2, 3, 4].map(() => add({ session_id: "race-1" })));
    expect(results.filter((x) => x.result === "ok")).toHaveLength(1);
    expect(results.filter((x) => x.result === "error-016")).toHaveLength(3);
    expect((await tlim.store.sessionMembers("race-1")).map((m) => m.userId).sort()).toEqual([a, b].sort());

    // A J-IM member posts to the chosen id like to any session.
    const bc = await tcpAs(b);
    bc.send(11, { chatType: 1, groupId: "Team-7", content: "in team 7" });
    expect((await bc.next(12)).json.code).toBe(10000);
    expect((await bc.waitFor((x) => x.command === 11)).json.data).toMatchObject({ groupId: "team-7", content: "in team 7" });
  });

  it.runIf(kind === "sqlite")("keepalive: a silent WebSocket peer that answers pings stays; one that does not, and a silent TCP peer, are closed", async () => {
    const gw = new JimGateway(tlim.core, {
      host: "127.0.0.1", port: 0, maxBodyBytes: 4096, heartbeatTimeoutS: 2, apiSecret: API_SECRET,
      tokenSecret: SECRET, c2s: "", userDomain: prosody.userDomain, xmppOnline: () => false,
    }, createLogger("silent"));
    const port = await gw.start();
    const sockets: WebSocket[] = [];
    try {
      const open = (user: string, autoPong: boolean) =>
        new Promise<{ ws: WebSocket; pings: number[]; closed: Promise<void>; isClosed: () => boolean }>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/?username=${user}&token=${token(user)}`, { autoPong });
          sockets.push(ws);
          const pings: number[] = [];
          let done = false;
          const closed = new Promise<void>((r) => ws.on("close", () => ((done = true), r())));
          ws.on("ping", () => pings.push(Date.now()));
          ws.on("error", () => {});
          ws.once("message", (data: Buffer) => {
            expect(JSON.parse(data.toString()).code).toBe(10007);
            resolve({ ws, pings, closed, isClosed: () => done });
          });
          ws.once("error", reject);
        });
      const [u, v, w] = [fresh(), fresh(), fresh()];
      const answering = await open(u, true); // the ws library answers pings, as every browser does
      const deaf = await open(v, false); // reads pings, never answers
      const tcp = await JimTcpClient.connect(port);
      jims.push(tcp);
      expect((await jimLogin(tcp, w, { token: token(w) })).json.code).toBe(10007);

      await deaf.closed;
      await tcp.closed;
      expect(deaf.pings.length).toBeGreaterThan(0); // it was asked before it was closed
      await sleep(6000); // 3x the timeout, counted from here on
      expect(answering.isClosed()).toBe(false);
      expect(answering.pings.length).toBeGreaterThanOrEqual(3);
      // Still a working J-IM connection: a heartbeat is answered.
      const hb = new Promise<any>((r) => answering.ws.once("message", (d: Buffer) => r(JSON.parse(d.toString()))));
      answering.ws.send(JSON.stringify({ cmd: 13, hbbyte: "-127" }));
      expect(await hb).toEqual({ command: 13, data: { hbbyte: -128 } });
    } finally {
      for (const s of sockets) s.terminate();
      await gw.stop();
    }
  }, 20000);

  it("every user record the gateway sent in this block had a non-empty avatar", () => {
    const records = jims.flatMap((c) => c.received.flatMap(userRecords));
    for (const r of records) expect(typeof r.avatar === "string" && r.avatar !== "", JSON.stringify(r)).toBe(true);
  });
});
