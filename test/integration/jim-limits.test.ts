// The J-IM gateway must not be a weapon nor be sunk by one client (docs/jim-gateway.md "Login
// limits", "Identifiers"), over real sockets against a real tlim on a real XMPP server (SQLite: none
// of this touches the database's dialect):
//  - a TCP or WebSocket connection not logged in by TLIM_JIM_LOGIN_TIMEOUT_S is closed, whatever
//    it sends; a logged-in one and plain HTTP are not;
//  - login attempts per source address and failed passwords per user id are limited, and a
//    refused attempt never reaches the XMPP server: tlim's password check goes through a
//    counting TCP proxy in front of the server's client port, so every SASL connection is seen;
//  - bad ids at login, in a chat and on the HTTP API get the command's failure code.
// Source addresses: each test logs in from its own 127.0.0.x (Linux routes all of 127/8 to lo),
// which also shows the per-address limit is per address.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { signToken } from "../../src/protocol/jim-token.js";
import { JimTcpClient, JimWsClient, type JimClient, type JimPacket } from "../support/jim-client.js";
import { sleep } from "../support/tlim-stanzas.js";
import { API_SECRET, createDb, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";

const SECRET = "jim-token-secret";
const PW = "pw";
const USERS = Array.from({ length: 20 }, (_, i) => `l${i + 1}`);
const PER_ADDRESS = 4;
const PER_USER = 3;
const token = (user: string) => signToken(SECRET, user, Math.floor(Date.now() / 1000) + 3600);
const HEARTBEAT = Buffer.from("01510d0000000180", "hex");

/** A TCP proxy in front of the server's client port that counts the connections tlim opens. */
async function countingProxy(targetPort: number): Promise<{ server: Server; port: number; count: () => number }> {
  let n = 0;
  const server = createServer((down) => {
    n++;
    const up = connect(targetPort, "127.0.0.1");
    for (const s of [down, up]) s.on("error", () => (down.destroy(), up.destroy()));
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return { server, port, count: () => n };
}

describe(onServer("J-IM login deadline, login limits and ids on sqlite"), () => {
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let port: number;
  let next = 0;
  const clients: JimClient[] = [];
  const sockets: Socket[] = [];
  const fresh = () => USERS[next++]!;

  /** A J-IM TCP connection from `localAddress`. */
  const tcpFrom = (localAddress: string) =>
    new Promise<JimTcpClient>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port, localAddress }, () => {
        const c = new (JimTcpClient as unknown as new (s: Socket) => JimTcpClient)(s);
        clients.push(c);
        resolve(c);
      });
      s.once("error", reject);
    });
  /** A J-IM WebSocket from `localAddress` (path with the auto-login query, extra headers). */
  const wsFrom = (localAddress: string, path = "/", headers: Record<string, string> = {}) =>
    new Promise<JimWsClient>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { localAddress, headers });
      const c = new (JimWsClient as unknown as new (ws: WebSocket) => JimWsClient)(ws);
      clients.push(c);
      ws.once("open", () => resolve(c));
      ws.once("error", reject);
    });
  const login = (c: JimClient, userId: string, creds: { password?: string; token?: string }): Promise<JimPacket> => {
    c.send(5, { userId, ...creds });
    return c.next(6, 10000);
  };
  /** Logs in from `from` with `creds`; the reply and the SASL connections it cost. */
  const attempt = async (from: string, userId: string, creds: { password?: string; token?: string }) => {
    const before = proxy.count();
    const c = await tcpFrom(from);
    const reply = await login(c, userId, creds);
    if (reply.json.code !== 10007) await c.closed;
    return { c, reply, sasl: proxy.count() - before };
  };
  const http = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { authorization: `Bearer ${API_SECRET}`, ...(init.headers as Record<string, string> | undefined) } }).then((r) => r.json() as Promise<any>);

  beforeAll(async () => {
    prosody = await startXmppServer({ users: USERS.map((u) => [u, PW] as [string, string]) });
    proxy = await countingProxy(prosody.c2sPort);
    db = await createDb("sqlite", "jiml");
    tlim = await startTestTlim(prosody, db.url, {
      xmppC2s: `xmpp://127.0.0.1:${proxy.port}`,
      jimTokenSecret: SECRET,
      jimLoginTimeoutS: 1,
      jimLoginPerAddress: PER_ADDRESS,
      jimLoginPerUser: PER_USER,
    });
    port = tlim.jimPort;
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of sockets) s.destroy();
    await tlim?.stop();
    await new Promise((r) => proxy?.server.close(r));
    await prosody?.stop();
    await db?.drop();
  });

  it("closes TCP and WebSocket connections not logged in by the deadline, heartbeats or not; a logged-in one and plain HTTP stay", async () => {
    const opened = Date.now();
    const beating = await tcpFrom("127.0.0.11");
    const silent = await tcpFrom("127.0.0.11"); // never sends a byte
    const ws = await wsFrom("127.0.0.11");
    const member = await tcpFrom("127.0.0.11");
    const u = fresh();
    expect((await login(member, u, { token: token(u) })).json.code).toBe(10007);
    const beat = setInterval(() => {
      beating.sendRaw(HEARTBEAT);
      ws.send(13);
      member.sendRaw(HEARTBEAT);
    }, 200);
    // Plain HTTP on the same port, one keep-alive connection: a request before the deadline and
    // one after it.
    const httpSocket = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.11" });
    sockets.push(httpSocket);
    const responses: string[] = [];
    httpSocket.on("data", (d: Buffer) => responses.push(d.toString()));
    const get = `GET /api/user/online?userid=${u} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${API_SECRET}\r\nconnection: keep-alive\r\n\r\n`;
    httpSocket.write(get);
    try {
      await Promise.all([beating.closed, silent.closed, ws.closed]);
      const took = Date.now() - opened;
      expect(took).toBeGreaterThanOrEqual(900); // the deadline, not something sooner
      expect(beating.received.filter((p) => p.command === 13).length).toBeGreaterThan(0); // heartbeats were answered
      expect(ws.received.filter((p) => p.command === 13).length).toBeGreaterThan(0);
      await sleep(1200); // the logged-in connection keeps beating past the deadline
      expect(member.isClosed()).toBe(false);
      httpSocket.write(get);
      await sleep(300);
      expect(httpSocket.destroyed).toBe(false);
      expect(responses.join("").match(/"code":10019/g)).toHaveLength(2);
    } finally {
      clearInterval(beat);
    }
  });

  it("refuses the attempt after TLIM_JIM_LOGIN_PER_ADDRESS from one address without contacting the XMPP server", async () => {
    const addr = "127.0.0.2";
    for (let i = 0; i < PER_ADDRESS; i++) {
      const a = await attempt(addr, fresh(), { password: "wrong" });
      expect(a.reply.json).toEqual({ code: 10008, command: 6, msg: "login failed ! 登录失败!" });
      expect(a.sasl).toBe(1); // each one was a real SASL attempt
    }
    const u = fresh();
    const over = await attempt(addr, u, { password: PW }); // the right password, too late
    expect(over.reply.json).toEqual({ code: 10008, command: 6, msg: "login failed ! 登录失败!" });
    // WebSocket auto-login from the same socket address, claiming another one in headers.
    const before = proxy.count();
    const ws = await wsFrom(addr, `/?username=${u}&password=${PW}`, { "x-forwarded-for": "203.0.113.50", "x-real-ip": "203.0.113.50" });
    expect((await ws.next(6)).json.code).toBe(10008);
    await ws.closed;
    await sleep(200); // room for a SASL connection that must not come
    expect(over.sasl).toBe(0);
    expect(proxy.count()).toBe(before);
    // Another address is not affected.
    const other = await attempt("127.0.0.3", u, { password: PW });
    expect(other.reply.json.code).toBe(10007);
    expect(other.sasl).toBe(1);
  });

  it("refuses a password for a user id after TLIM_JIM_LOGIN_PER_USER failures, from any address, without contacting the XMPP server; successes do not count", async () => {
    const u = fresh();
    for (const addr of ["127.0.0.4", "127.0.0.5", "127.0.0.6"].slice(0, PER_USER)) {
      const a = await attempt(addr, u, { password: "guess" });
      expect(a.reply.json.code).toBe(10008);
      expect(a.sasl).toBe(1);
    }
    const right = await attempt("127.0.0.7", u.toUpperCase(), { password: PW }); // same id, folded
    expect(right.reply.json.code).toBe(10008);
    await sleep(200);
    expect(right.sasl).toBe(0);
    expect((await attempt("127.0.0.7", fresh(), { password: PW })).reply.json.code).toBe(10007); // another user
    // Successes are not failures: more of them than the limit, then failures still allowed.
    const v = fresh();
    for (let i = 0; i < PER_USER + 1; i++) {
      const ok = await attempt(i < 2 ? "127.0.0.8" : "127.0.0.9", v, { password: PW });
      expect(ok.reply.json.code).toBe(10007);
      expect(ok.sasl).toBe(1);
    }
    expect((await attempt("127.0.0.10", v, { password: "typo" })).sasl).toBe(1);
    expect((await attempt("127.0.0.10", v, { password: PW })).reply.json.code).toBe(10007);
  });

  it("refuses a bad user id at login with 10008 and the reason, and closes; folds a differently cased one", async () => {
    for (const [i, bad] of ["a b", "x@y", "<b>", "\u0000", "z".repeat(65), ""].entries()) {
      const c = await tcpFrom(`127.0.0.${20 + i}`); // an address each: every attempt counts
      c.send(5, { userId: bad, token: "whatever" });
      const reply = await c.next(6);
      expect(reply.json).toMatchObject({ code: 10008, command: 6, msg: "login failed ! 登录失败!", data: { error: "error-000" } });
      expect(reply.json.data.detail).toMatch(/^userId /);
      if (bad.length > 1) expect(reply.json.data.detail).not.toContain(bad);
      await c.closed;
    }
    const ws = await wsFrom("127.0.0.13", `/?username=${encodeURIComponent("a/b")}&password=${PW}`);
    expect((await ws.next(6)).json).toMatchObject({ code: 10008, data: { error: "error-000" } });
    await ws.closed;
    const u = fresh();
    const c = await tcpFrom("127.0.0.13");
    expect((await login(c, u.toUpperCase(), { token: token(u) })).json).toMatchObject({ code: 10007, user: { userId: u } });
  });

  it("refuses bad ids in a chat (10002), a recall (10002), get-messages (10015), get-user (10004) and on the HTTP API; the connection stays", async () => {
    const [u, v] = [fresh(), fresh()];
    const c = await tcpFrom("127.0.0.14");
    expect((await login(c, u, { token: token(u) })).json.code).toBe(10007);
    const chat = async (body: Record<string, unknown>) => (await (c.send(11, { content: "x", ...body }), c.next(12))).json;
    for (const [body, field] of [
      [{ chatType: 2, to: "b@d" }, "to"],
      [{ chatType: 2, to: "x".repeat(65) }, "to"],
      [{ chatType: 1, groupId: "a/b" }, "groupId"],
      [{ chatType: 2, to: v, id: "id\u0000" }, "id"],
      [{ chatType: 2, to: v, from: "not me" }, "from"],
    ] as const) {
      const r = await chat(body);
      expect(r).toMatchObject({ code: 10002, command: 12, data: { error: "error-000" } });
      expect(r.data.detail.startsWith(`${field} `)).toBe(true);
    }
    c.send(15, { id: "m\u0001", chatType: 2, to: v });
    expect((await c.next(16)).json).toMatchObject({ code: 10002, data: { error: "error-000" } });
    c.send(19, { type: 1, fromUserId: "x y" });
    expect((await c.next(20)).json.code).toBe(10015);
    c.send(17, { type: 0, userId: "a:b" });
    expect((await c.next(18)).json.code).toBe(10004);
    // Still open, and a good chat (to a differently cased id) goes through.
    expect(await chat({ chatType: 2, to: v.toUpperCase(), id: "ok-1" })).toMatchObject({ code: 10001 });
    expect((await tlim.core.messaging.chatHistory(u, v, 0, 10)).items.map((m) => m.msgTo)).toEqual([v]);

    const online = await http(`/api/user/online?userid=${encodeURIComponent("a b")}`);
    expect(online).toMatchObject({ code: 10020, data: { error: "error-000" } });
    expect(online.data.detail).toMatch(/^userid /);
    expect(await http(`/api/user/online?userid=${u.toUpperCase()}`)).toEqual({ code: 10019, msg: "online 用户在线" });
    const sent = await http("/api/message/send", { method: "POST", body: JSON.stringify({ from: "a\u0000", to: v, chatType: 2, content: "x" }) });
    expect(sent).toMatchObject({ code: 10002, command: 12, data: { error: "error-000" } });
    expect(c.isClosed()).toBe(false);
  });
});
