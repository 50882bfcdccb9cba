// The J-IM port (spec §1.1): one listener; the first bytes of a connection decide the protocol.
// 0x01 -> J-IM TCP framing; anything else is handed to a node:http server, where an upgrade
// with Sec-WebSocket-Key becomes a WebSocket (ws, noServer) and the rest is the HTTP API.
// Transport code only: read a frame, dispatch, write the answer.
//
// Every socket gets the same three listener functions (created once per server: no closures per
// connection; docs/performance.md "J-IM connections"), and one entry in `sockets`: for a TCP
// connection the connection itself, which also holds its last-received time for the sweep.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { cmdOf, parseBodyObject } from "../../protocol/jim-commands.js";
import { JIM_VERSION } from "../../protocol/jim-frame.js";
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
  /** Secret of the HTTP API; null = open. */
  apiSecret: string | null;
}

/** What the sweep needs of a socket: when it last received something (heartbeat, spec §4.4). */
interface Received {
  lastRx: number;
}

function ignore(): void {}

export class JimServer {
  private readonly server: Server;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  /** Every open socket with the time it last received something (a TcpConnection is its own entry). */
  private readonly sockets = new Map<Socket, Received>();
  private readonly host: ConnectionHost;
  private sweeper: NodeJS.Timeout | null = null;
  /** The listeners every socket shares (`this` is the socket). */
  private readonly onFirstData: (this: Socket, first: Buffer) => void;
  private readonly onTcpData: (this: Socket, chunk: Buffer) => void;
  private readonly onOtherData: (this: Socket) => void;
  private readonly onSocketClose: (this: Socket) => void;

  constructor(
    private readonly deps: JimDeps,
    private readonly opts: JimServerOptions,
  ) {
    this.host = { deps, table: new CommandTable(), maxBodyBytes: opts.maxBodyBytes };
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
    this.server = createServer((socket) => this.accept(socket));
    this.http = createHttpServer(httpHandler(deps, { apiSecret: opts.apiSecret, maxBodyBytes: opts.maxBodyBytes }));
    // Bytes that are neither 0x01 nor HTTP (spec §1.1 "none"): 400, closed.
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

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const timeoutMs = this.opts.heartbeatTimeoutS * 1000;
    if (timeoutMs > 0) {
      this.sweeper = setInterval(() => this.sweep(timeoutMs), Math.min(5000, Math.max(100, timeoutMs / 4)));
      this.sweeper.unref();
    }
    return this.port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const socket of this.sockets.keys()) socket.destroy();
    this.wss.close();
    await closed;
  }

  private sweep(timeoutMs: number): void {
    const now = Date.now();
    for (const [socket, s] of this.sockets) {
      if (now - s.lastRx > timeoutMs) socket.destroy(); // no J-IM message, as upstream
    }
  }

  private accept(socket: Socket): void {
    this.sockets.set(socket, { lastRx: Date.now() });
    socket.on("close", this.onSocketClose);
    socket.on("error", ignore); // a reset peer is an ordinary end
    socket.on("data", this.onFirstData);
  }

  /** The first bytes decide: J-IM TCP framing, or HTTP (the API, or a WebSocket upgrade). */
  private sniff(socket: Socket, first: Buffer): void {
    socket.off("data", this.onFirstData);
    if (first[0] === JIM_VERSION) {
      const conn = new TcpConnection(this.host, socket);
      this.sockets.set(socket, conn);
      socket.on("data", this.onTcpData);
      conn.data(first);
      return;
    }
    const s = this.sockets.get(socket);
    if (s) s.lastRx = Date.now();
    socket.on("data", this.onOtherData);
    socket.pause();
    socket.unshift(first);
    this.http.emit("connection", socket);
    socket.resume();
  }

  private acceptWs(ws: WebSocket, req: IncomingMessage, socket: Socket): void {
    const state = this.sockets.get(socket);
    const conn = new WsConnection(this.host, ws, socket);
    ws.on("error", ignore);
    ws.on("close", () => conn.close());
    ws.on("ping", () => state && (state.lastRx = Date.now()));
    // Text and binary frames alike (spec §1.3): the payload is JSON with a mandatory "cmd".
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      if (state) state.lastRx = Date.now();
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const text = buf.toString("utf8");
      const body = parseBodyObject(text);
      // No or an invalid "cmd" becomes -1, which has no module: the 10017 reply.
      conn.receive(cmdOf(body) ?? -1, text, 0, body);
    });
    this.autoLogin(conn, req);
  }

  /** `?username=&password=` / `?token=` on the upgrade URL logs in at once (spec §1.3, demo hook). */
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
