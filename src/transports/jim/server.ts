// The J-IM port (docs/jim-gateway.md "One port, three protocols"): one listener; the first bytes of a connection decide the protocol.
// 0x01 -> J-IM TCP framing; anything else is handed to a node:http server, where an upgrade
// with Sec-WebSocket-Key becomes a WebSocket (ws, noServer) and the rest is the HTTP API.
// Transport code only: read a frame, dispatch, write the answer.
//
// Every socket gets the same three listener functions (created once per server: no closures per
// connection; docs/performance.md "J-IM connections"), and one entry in `sockets`: for a TCP or
// WebSocket connection the connection itself, which also holds what the sweep needs: its
// last-received time (heartbeat timeout) and its login deadline (TLIM_JIM_LOGIN_TIMEOUT_S:
// a connection not logged in by then is closed, whatever it sends meanwhile; docs/jim-gateway.md
// "Login limits"). Plain HTTP connections have no login deadline.
//
// Keepalive (docs/jim-gateway.md "Heartbeat"): stock J-IM web pages never send heartbeats, so the
// same sweep pings a WebSocket connection that has received nothing for a third of the heartbeat
// timeout, and again at two thirds (RFC 6455 ping; every browser answers with a pong, which is
// traffic). Only a WebSocket peer that answers neither is closed at the timeout. No timer and no
// field per connection: a ping goes out when a connection's idle time crossed one of those
// marks since the previous sweep. TCP J-IM has no ping: its clients send heartbeats (command 13).
//
// TLS (TLIM_JIM_TLS, docs/configuration.md "TLS"): a first byte 0x16 is a TLS handshake record
// (RFC 8446 §5.1, content type 22). The socket is then wrapped in a server-side TLSSocket with
// the secure context current at that moment (so a reloaded certificate serves new connections
// while old ones keep theirs), and the decrypted bytes are sniffed again exactly as a plaintext
// connection's: J-IM TCP framing, WebSocket (wss) or HTTP (https). With "optional" a plaintext
// client is served as before; with "on" it is refused. A failed handshake or garbage is the
// end of that connection, logged at debug level, never more.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { TLSSocket, type SecureContext } from "node:tls";
import { WebSocketServer, type WebSocket } from "ws";
import { cmdOf, parseBodyObject } from "../../protocol/jim-commands.js";
import { JIM_VERSION } from "../../protocol/jim-frame.js";
import { OPTIONS } from "../../config.js";
import { CommandTable } from "./commands/index.js";
import { joinGroupsOf, logIn } from "./commands/login.js";
import type { ConnectionHost, JimConnection } from "./connection.js";
import type { JimDeps } from "./context.js";
import { httpHandler } from "./http.js";
import { TcpConnection } from "./tcp.js";
import { WsConnection } from "./ws.js";

export interface JimServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** 0 = never close idle connections. */
  heartbeatTimeoutS: number;
  /**
   * A TCP or WebSocket connection not logged in this long after it opened is closed
   * (TLIM_JIM_LOGIN_TIMEOUT_S); 0 = never. Absent: the configuration's default.
   */
  loginTimeoutS?: number;
  /** Secret of the HTTP API; null = open. */
  apiSecret: string | null;
  /** The secret may come as a `secret=` parameter (TLIM_API_SECRET_IN_QUERY; default true). */
  apiSecretInQuery?: boolean;
  /** TLS on this port (TLIM_JIM_TLS): "on" = TLS only, "optional" = TLS or plaintext; absent = plaintext. */
  tls?: { mode: "on" | "optional"; credentials: { readonly context: SecureContext } };
}

/** The first byte of a TLS connection: a handshake record (RFC 8446 §5.1). */
const TLS_HANDSHAKE = 0x16;

/** What the sweep needs of a socket (a TcpConnection or WsConnection is its own entry). */
interface Tracked {
  /** When it last received something (heartbeat, docs/jim-gateway.md). */
  lastRx: number;
  /** Closed at this time (ms) unless logged in by then; 0 = no deadline (plain HTTP). */
  loginBy: number;
  /** A J-IM connection's user, null before login; absent while the protocol is not known yet. */
  readonly user?: string | null;
}

const DEFAULT_LOGIN_TIMEOUT_S = OPTIONS.jimLoginTimeoutS.schema.parse(undefined) as number;

function ignore(): void {}

export class JimServer {
  private readonly server: Server;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  /** Every open socket with what the sweep needs (a J-IM connection is its own entry). */
  private readonly sockets = new Map<Socket, Tracked>();
  private readonly host: ConnectionHost;
  private sweeper: NodeJS.Timeout | null = null;
  /** When the sweep last ran (the keepalive pings a connection whose idle time crossed a mark since). */
  private lastSweep = Date.now();
  /** Heartbeat timeout and login deadline in ms; 0 = none. */
  private readonly idleMs: number;
  private readonly loginMs: number;
  /** The listeners every socket shares (`this` is the socket). */
  private readonly onFirstData: (this: Socket, first: Buffer) => void;
  private readonly onTcpData: (this: Socket, chunk: Buffer) => void;
  private readonly onOtherData: (this: Socket) => void;
  private readonly onSocketClose: (this: Socket) => void;
  private readonly onTlsError: (this: TLSSocket, err: Error) => void;

  constructor(
    private readonly deps: JimDeps,
    private readonly opts: JimServerOptions,
  ) {
    this.host = { deps, table: new CommandTable(), maxBodyBytes: opts.maxBodyBytes };
    this.idleMs = opts.heartbeatTimeoutS * 1000;
    this.loginMs = (opts.loginTimeoutS ?? DEFAULT_LOGIN_TIMEOUT_S) * 1000;
    const server = this;
    const sockets = this.sockets;
    this.onFirstData = function (first) {
      server.sniff(this, first);
    };
    this.onTcpData = function (chunk) {
      const conn = sockets.get(this) as TcpConnection | undefined;
      if (!conn) return;
      conn.lastRx = Date.now();
      conn.data(chunk);
    };
    this.onOtherData = function () {
      const s = sockets.get(this);
      if (s) s.lastRx = Date.now();
    };
    this.onSocketClose = function () {
      const s = sockets.get(this);
      sockets.delete(this);
      if (s instanceof TcpConnection) s.close();
    };
    this.onTlsError = function (err) {
      const e = err as NodeJS.ErrnoException & { reason?: string };
      deps.log.debug({ remote: this.remoteAddress, code: e.code, reason: e.reason ?? e.message }, "j-im tls connection failed");
      this.destroy();
    };
    this.server = createServer((socket) => this.accept(socket));
    this.http = createHttpServer(httpHandler(deps, { apiSecret: opts.apiSecret, apiSecretInQuery: opts.apiSecretInQuery ?? true, maxBodyBytes: opts.maxBodyBytes }));
    // Bytes that are neither 0x01 nor HTTP: 400, closed.
    this.http.on("clientError", (_err, socket: Socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxBodyBytes });
    this.http.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (!req.headers["sec-websocket-key"]) return void socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
      this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptWs(ws, req, socket));
    });
  }

  private closed: Promise<void> | null = null;

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const shortest = Math.min(...[this.idleMs, this.loginMs].filter((ms) => ms > 0));
    this.lastSweep = Date.now();
    if (shortest !== Infinity) {
      this.sweeper = setInterval(() => this.sweep(), Math.min(5000, Math.max(100, shortest / 4)));
      this.sweeper.unref();
    }
    return this.port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops listening; the connections up stay until stop() (graceful shutdown: what they sent
   * before is still answered). Resolves once every connection is gone. */
  stopAccepting(): Promise<void> {
    return (this.closed ??= new Promise<void>((r) => this.server.close(() => r())));
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    const closed = this.stopAccepting();
    for (const socket of this.sockets.keys()) socket.destroy();
    this.wss.close();
    await closed;
  }

  /** Open sockets by protocol (tlim_jim_connections, read at scrape time). Plain HTTP includes
   * the sockets whose first bytes have not come yet. */
  connectionCounts(): { tcp: number; ws: number; http: number } {
    let tcp = 0;
    let ws = 0;
    for (const s of this.sockets.values()) {
      if (s instanceof TcpConnection) tcp++;
      else if (s instanceof WsConnection) ws++;
    }
    return { tcp, ws, http: this.sockets.size - tcp - ws };
  }

  /**
   * Closes the idle (nothing received, as upstream) and the not logged in past their deadline;
   * pings idle WebSocket connections (keepalive, see the top of this file).
   */
  private sweep(): void {
    const now = Date.now();
    const before = this.lastSweep;
    this.lastSweep = now;
    const third = this.idleMs / 3;
    let late = 0;
    for (const [socket, s] of this.sockets) {
      const idle = now - s.lastRx;
      if (this.idleMs > 0 && idle > this.idleMs) socket.destroy();
      else if (s.loginBy !== 0 && now > s.loginBy && !s.user) {
        late++;
        socket.destroy();
      } else if (third > 0 && idle >= third && s instanceof WsConnection && Math.floor(idle / third) > Math.floor((before - s.lastRx) / third)) {
        s.ping();
      }
    }
    if (late > 0) this.deps.log.debug({ closed: late, loginTimeoutS: this.loginMs / 1000 }, "j-im connections not logged in by the deadline closed");
  }

  private accept(socket: Socket): void {
    const now = Date.now();
    // Until its first bytes a socket is no HTTP request yet: it has the login deadline too.
    this.sockets.set(socket, { lastRx: now, loginBy: this.loginMs > 0 ? now + this.loginMs : 0 });
    socket.on("close", this.onSocketClose);
    socket.on("error", ignore); // a reset peer is an ordinary end
    socket.on("data", this.onFirstData);
  }

  /** The first bytes decide: TLS (then again inside it), J-IM TCP framing, or HTTP (the API, or
   * a WebSocket upgrade). */
  private sniff(socket: Socket, first: Buffer): void {
    socket.off("data", this.onFirstData);
    const tls = this.opts.tls;
    if (tls && !(socket instanceof TLSSocket)) {
      if (first[0] === TLS_HANDSHAKE) return this.startTls(socket, first, tls.credentials.context);
      if (tls.mode === "on") return this.refusePlaintext(socket, first);
    }
    const s = this.sockets.get(socket);
    if (first[0] === JIM_VERSION) {
      const conn = new TcpConnection(this.host, socket);
      conn.loginBy = s?.loginBy ?? 0; // counted from the connection's start
      this.sockets.set(socket, conn);
      socket.on("data", this.onTcpData);
      conn.data(first);
      return;
    }
    if (s) {
      s.lastRx = Date.now();
      s.loginBy = 0; // HTTP: no login (a WebSocket upgrade sets its own deadline)
    }
    socket.on("data", this.onOtherData);
    socket.pause();
    socket.unshift(first);
    this.http.emit("connection", socket);
    socket.resume();
  }

  /** Wraps the socket in TLS; the TLS socket takes its place (same login deadline) and its first
   * decrypted bytes are sniffed like a plaintext connection's. */
  private startTls(raw: Socket, first: Buffer, secureContext: SecureContext): void {
    const s = this.sockets.get(raw);
    this.sockets.delete(raw);
    raw.off("close", this.onSocketClose);
    raw.pause();
    raw.unshift(first); // the ClientHello, read by the TLS socket
    const secure = new TLSSocket(raw, { isServer: true, secureContext });
    this.sockets.set(secure, { lastRx: Date.now(), loginBy: s?.loginBy ?? 0 });
    secure.on("close", this.onSocketClose);
    secure.on("close", () => raw.destroy());
    secure.on("error", this.onTlsError);
    secure.on("data", this.onFirstData);
  }

  /** TLIM_JIM_TLS=on and a plaintext client: an HTTP client is told why, anything else closed. */
  private refusePlaintext(socket: Socket, first: Buffer): void {
    this.deps.log.debug({ remote: socket.remoteAddress }, "j-im plaintext connection refused: TLIM_JIM_TLS=on");
    if (/^[A-Z]{3,7} /.test(first.subarray(0, 8).toString("latin1"))) {
      const text = "this port speaks TLS only: use https:// or wss://\n";
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`);
      setTimeout(() => socket.destroy(), 1000).unref();
    } else socket.destroy();
  }

  private acceptWs(ws: WebSocket, req: IncomingMessage, socket: Socket): void {
    const conn = new WsConnection(this.host, ws, socket);
    if (this.loginMs > 0) conn.loginBy = conn.lastRx + this.loginMs; // from the upgrade on
    // The connection is the socket's entry from now on (the sweep sees its user).
    if (this.sockets.has(socket)) this.sockets.set(socket, conn);
    ws.on("error", ignore);
    ws.on("close", () => conn.close());
    ws.on("ping", () => (conn.lastRx = Date.now()));
    ws.on("pong", (data: Buffer) => {
      conn.lastRx = Date.now(); // the answer to a keepalive ping is traffic (sweep)
      // The answer to a ping confirms what was pushed before it: its payload says up to where (ws.ts).
      const upTo = Number(data.toString("latin1"));
      if (Number.isSafeInteger(upTo) && upTo > 0) conn.sync?.confirmUpTo(upTo);
    });
    // Text and binary frames alike: the payload is JSON with a mandatory "cmd".
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      conn.lastRx = Date.now();
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const text = buf.toString("utf8");
      const body = parseBodyObject(text);
      // No or an invalid "cmd" becomes -1, which has no module: the 10017 reply.
      conn.receive(cmdOf(body) ?? -1, text, 0, body);
    });
    this.autoLogin(conn, req);
  }

  /**
   * `?username=&password=` / `?token=` on the upgrade URL logs in at once (docs/jim-gateway.md, demo hook).
   * The same login as command 5: it counts against the source address (the socket's, never a
   * header's) and the user's failure limit.
   */
  private autoLogin(conn: JimConnection, req: IncomingMessage): void {
    const q = new URL(req.url ?? "/", "http://jim.invalid").searchParams;
    const userId = q.get("username") ?? q.get("userId") ?? q.get("userid") ?? q.get("loginname");
    if (userId === null) return;
    const request = { userId, password: q.get("password") ?? undefined, token: q.get("token") ?? undefined, v2: q.has("loginname") };
    conn.exclusive(async () => {
      try {
        const result = await logIn(this.deps, conn, request);
        conn.reply(result.reply);
        if (!result.ok) return conn.reply("close");
        await joinGroupsOf(this.deps, conn);
      } catch (err) {
        this.deps.log.error({ err }, "j-im auto-login failed");
      }
    });
  }
}
