// The J-IM port on the wire: raw TCP frames (golden bytes), WebSocket, HTTP, login checks and
// every refusal, against a real tlim on a real Prosody, on SQLite and MariaDB.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { signToken } from "../../src/protocol/jim-token.js";
import { JimGateway } from "../../src/transports/jim/index.js";
import { jimLogin, JimTcpClient, JimWsClient, type JimClient } from "../support/jim-client.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { sleep } from "../support/tlim-stanzas.js";
import { API_SECRET, createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";

const SECRET = "jim-token-secret";
const PW = "pw";
const USERS = Array.from({ length: 30 }, (_, i) => `w${i + 1}`);
const token = (user: string, ttlS = 3600) => signToken(SECRET, user, Math.floor(Date.now() / 1000) + ttlS);
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe.each(DB_KINDS)(onServer("J-IM wire protocol on %s"), (kind) => {
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  let port: number;
  let next = 0;
  const clients: JimClient[] = [];
  const fresh = () => USERS[next++]!;
  const tcp = async () => {
    const c = await JimTcpClient.connect(port);
    clients.push(c);
    return c;
  };
  const ws = async (path = "/") => {
    const c = await JimWsClient.connect(port, path);
    clients.push(c);
    return c;
  };
  const tcpAs = async (user: string) => {
    const c = await tcp();
    expect((await jimLogin(c, user, { token: token(user) })).json.code).toBe(10007);
    return c;
  };
  const json = async (res: Promise<Response>): Promise<any> => (await res).json();
  const http = (path: string, init: RequestInit & { secret?: string | null } = {}) => {
    const secret = init.secret === undefined ? API_SECRET : init.secret;
    const headers = { ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...(init.headers as Record<string, string> | undefined) };
    return fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers });
  };

  beforeAll(async () => {
    prosody = await startXmppServer({ users: USERS.map((u) => [u, PW] as [string, string]) });
    db = await createDb(kind, "jimw");
    tlim = await startTestTlim(prosody, db.url, { xmppC2s: prosody.service, jimTokenSecret: SECRET, jimMaxBodyBytes: 4096 });
    port = tlim.jimPort;
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await tlim?.stop();
    await prosody?.stop();
    await db?.drop();
  });

  it("answers handshake 1 -> 2 and heartbeat 13 -> 13 byte-exactly, before login", async () => {
    const c = await tcp();
    c.sendRaw(hex("01 51 01 00 00 00 00"));
    const hs = await c.next(2);
    expect(hs.json).toEqual({ command: 2, data: { hbyte: -127 } });
    expect(hs.frame!.mask).toBe(0x51);
    // The Java client's heartbeat, byte for byte: a 1-byte body 0x80.
    c.sendRaw(hex("01 51 0D 00 00 00 01 80"));
    const hb = await c.next(13);
    expect(hb.frame!.bytes).toEqual(Buffer.concat([hex("01 51 0D 00 00 00 25"), Buffer.from('{"command":13,"data":{"hbbyte":-128}}')]));
  });

  it("echoes a request's synSeq with mask 0xF1", async () => {
    const c = await tcp();
    c.sendRaw(hex("01 F1 00 00 00 2A 0D 00 00 00 01 80"));
    const hb = await c.next(13);
    expect(hb.frame!.mask).toBe(0xf1);
    expect(hb.frame!.synSeq).toBe(42);
  });

  it("handles several frames in one write and frames split across writes, answering in order", async () => {
    const c = await tcp();
    const login = JimTcpClient.frame(5, JSON.stringify({ cmd: 5, userId: fresh(), token: "" }));
    const bytes = Buffer.concat([hex("01 51 0D 00 00 00 01 80"), JimTcpClient.frame(1, "{}"), hex("01 51 0D 00 00 00 00")]);
    c.sendRaw(bytes);
    await c.next(13);
    await c.next(2);
    await c.next(13);
    for (let i = 0; i < login.length; i += 5) {
      c.sendRaw(login.subarray(i, i + 5));
      await sleep(5);
    }
    // Empty token and no password: refused, then closed.
    expect((await c.next(6)).json).toEqual({ code: 10008, command: 6, msg: "login failed ! 登录失败!" });
    await c.closed;
  });

  it("logs in with a password checked by the XMPP server, and refuses a wrong one (10008, closed)", async () => {
    const u = fresh();
    const ok = await tcp();
    const reply = await jimLogin(ok, u, { password: PW });
    expect(reply.json).toMatchObject({ code: 10007, command: 6, msg: "ok 登录成功!", user: { userId: u, status: "online", terminal: "tcp" } });
    const bad = await tcp();
    expect((await jimLogin(bad, u, { password: "wrong" })).json.code).toBe(10008);
    await bad.closed;
    expect(ok.isClosed()).toBe(false);
  });

  it("logs in with a signed token; refuses an expired, foreign or forged one", async () => {
    const u = fresh();
    expect((await jimLogin(await tcp(), u, { token: token(u) })).json.code).toBe(10007);
    for (const t of [token(u, -10), token("someoneelse"), token(u).replace(/.$/, (ch) => (ch === "0" ? "1" : "0"))]) {
      const c = await tcp();
      expect((await jimLogin(c, u, { token: t })).json.code).toBe(10008);
      await c.closed;
    }
  });

  it("accepts the v2 login spelling `loginname`", async () => {
    const u = fresh();
    const c = await tcp();
    c.send(5, { loginname: u, token: token(u) });
    expect((await c.next(6)).json.code).toBe(10007);
  });

  it("refuses everything but handshake/heartbeat/login before login, with 10020 on the command's reply", async () => {
    const c = await tcp();
    const cases: Array<[number, number]> = [[11, 12], [17, 18], [19, 20], [7, 8], [3, 4], [15, 16]];
    for (const [cmd, reply] of cases) {
      c.send(cmd, { to: "x", chatType: 2, content: "x", groupId: "g", type: 0 });
      expect((await c.next(reply)).json).toEqual({ code: 10020, command: reply, msg: "Invalid verification! 不合法校验" });
    }
    expect(c.isClosed()).toBe(false);
  });

  it("answers auth 3 -> 4 after login by echoing the token with authKey", async () => {
    const c = await tcpAs(fresh());
    c.send(3, { token: "abc" });
    expect((await c.next(4)).json).toEqual({ code: 10009, command: 4, msg: "ok 鉴权成功!", data: { token: "abcauthKey" } });
  });

  it("answers a known command without handler with 10017 on command 0, and stays open", async () => {
    const c = await tcpAs(fresh());
    c.send(12, {});
    expect((await c.next(0)).json).toEqual({ code: 10017, command: 0, msg: "cmd failed! 未知的cmd命令!" });
    c.send(13);
    await c.next(13);
  });

  it("closes the connection on an unknown command byte, a bad version, a negative or oversized length", async () => {
    for (const bytes of [hex("01 51 15 00 00 00 00"), hex("02 51 0D 00 00 00 00"), hex("01 51 0B FF FF FF FF"), hex("01 51 0B 00 00 10 01")]) {
      const c = await tcp();
      c.sendRaw(hex("01 51 0D 00 00 00 00"));
      await c.next(13);
      c.sendRaw(bytes);
      await c.closed;
      expect(c.received.filter((p) => p.command !== 13)).toHaveLength(0);
    }
  });

  it("answers bytes that are neither J-IM nor HTTP with 400 and closes", async () => {
    const c = await tcp();
    const text: Buffer[] = [];
    c.socket.removeAllListeners("data");
    c.socket.on("data", (d: Buffer) => text.push(d));
    c.sendRaw(Buffer.from("\u0016\u0003garbage that is no request\r\n\r\n"));
    await c.closed;
    expect(Buffer.concat(text).toString()).toMatch(/^HTTP\/1\.1 400/);
  });

  it("closes with 14 -> 10021; refuses closing another user (10020) and stays open; own userId closes all", async () => {
    const u = fresh();
    const a = await tcpAs(u);
    const b = await tcpAs(u);
    a.send(14, { userId: "somebody" });
    expect((await a.next(14)).json.code).toBe(10020);
    expect(a.isClosed()).toBe(false);
    a.send(14, { userid: u }); // v2 spelling
    expect((await a.next(14)).json).toEqual({ code: 10021, command: 14, msg: "close ok! 关闭成功" });
    await a.closed;
    await b.closed;
    const c = await tcp();
    c.send(14);
    expect((await c.next(14)).json.code).toBe(10021);
    await c.closed;
  });

  it("WebSocket: JSON text frames, cmd mandatory (10017), binary accepted, ping answered", async () => {
    const u = fresh();
    const c = await ws("/any/path");
    c.sendText('{"no":"cmd"}');
    expect((await c.next(0)).json.code).toBe(10017);
    c.sendText("not json at all");
    expect((await c.next(0)).json.code).toBe(10017);
    c.sendText(JSON.stringify({ cmd: 5, userId: u, token: token(u) }), true);
    expect((await c.next(6)).json).toMatchObject({ code: 10007, user: { terminal: "ws" } });
    c.send(13, { hbbyte: "-127" });
    expect((await c.next(13)).json).toEqual({ command: 13, data: { hbbyte: -128 } });
    const pong = new Promise<Buffer>((r) => c.ws.once("pong", r));
    c.ws.ping("p1");
    expect((await pong).toString()).toBe("p1");
  });

  it("WebSocket: ?username=&password= and ?token= log in at once (login reply first)", async () => {
    const u = fresh();
    const a = await ws(`/?username=${u}&password=${PW}`);
    expect((await a.next(6)).json.code).toBe(10007);
    expect(a.received[0]!.command).toBe(6);
    const b = await ws(`/?username=${u}&token=${token(u)}`);
    expect((await b.next(6)).json.code).toBe(10007);
    const bad = await ws(`/?username=${u}&password=nope`);
    expect((await bad.next(6)).json.code).toBe(10008);
    await bad.closed;
  });

  it("WebSocket: a close frame ends the session (the user goes offline)", async () => {
    const u = fresh();
    const c = await ws(`/?username=${u}&token=${token(u)}`);
    await c.next(6);
    expect((await json(http(`/api/user/online?userid=${u}`))).code).toBe(10019);
    c.ws.close(1000, "bye");
    await c.closed;
    await sleep(50);
    expect((await json(http(`/api/user/online?userid=${u}`))).code).toBe(10001);
  });

  it("WebSocket: a body over the limit closes the connection", async () => {
    const c = await ws();
    c.send(13, { pad: "x".repeat(5000) });
    await c.closed;
  });

  it("HTTP on the same port: secret required; /api/user/online is real; close kicks; send delivers", async () => {
    const [u, v] = [fresh(), fresh()];
    expect((await http(`/api/user/online?userid=${u}`, { secret: null })).status).toBe(401);
    expect(await json(http(`/api/user/online?userid=${u}`, { secret: "wrong" }))).toEqual({ code: 10020, msg: "Invalid verification! 不合法校验" });
    expect(await json(http(`/api/user/online?userid=${u}`))).toEqual({ code: 10001, msg: "offline 用户不在线" });
    expect(await json(http(`/api/user/online`))).toEqual({ code: 10020, msg: "Invalid verification! 不合法校验" });
    const c = await tcpAs(u);
    expect(await json(http(`/api/user/online?userId=${u}`))).toEqual({ code: 10019, msg: "online 用户在线" });
    expect(await json(http(`/api/user/online?secret=${API_SECRET}&userid=${u}`, { secret: null }))).toMatchObject({ code: 10019 });

    const sent = await http("/api/message/send", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from: v, to: u, chatType: 2, msgType: 0, content: "from a business system" }) });
    expect(await json(Promise.resolve(sent))).toEqual({ code: 10000, command: 12, msg: "ok 发送成功" });
    expect((await c.next(11)).json.data).toMatchObject({ from: v, to: u, content: "from a business system", chatType: 2 });
    const offline = await http("/api/message/send", { method: "POST", body: JSON.stringify({ from: u, to: v, chatType: 2, content: "kept" }) });
    expect((await json(Promise.resolve(offline))).code).toBe(10001);
    const noFrom = await http("/api/message/send", { method: "POST", body: JSON.stringify({ to: v, chatType: 2, content: "x" }) });
    expect((await json(Promise.resolve(noFrom))).code).toBe(10002);

    const closed = await http("/api/user/close", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `userid=${u}` });
    expect(await closed.json()).toEqual({ code: 10021, msg: "close ok! 关闭成功" });
    await c.closed;
    expect((await json(http(`/api/user/online?userid=${u}`))).code).toBe(10001);
  });

  it("closes connections idle beyond the heartbeat timeout; heartbeats keep one open", async () => {
    const log = createLogger("silent");
    const gw = new JimGateway(tlim.core, {
      host: "127.0.0.1", port: 0, maxBodyBytes: 4096, heartbeatTimeoutS: 1, apiSecret: API_SECRET,
      tokenSecret: SECRET, c2s: "", userDomain: prosody.userDomain, xmppOnline: () => false,
    }, log);
    const p = await gw.start();
    try {
      const idle = await JimTcpClient.connect(p);
      const busy = await JimTcpClient.connect(p);
      clients.push(idle, busy);
      const beat = setInterval(() => busy.sendRaw(hex("01 51 0D 00 00 00 01 80")), 250);
      await idle.closed;
      clearInterval(beat);
      expect(busy.isClosed()).toBe(false);
      expect(idle.received).toHaveLength(0);
    } finally {
      await gw.stop();
    }
  });
});
