// The J-IM port (spec §1.1): one listener; the first bytes of a connection decide the protocol.
// 0x01 -> J-IM TCP framing; anything else is handed to a node:http server, where an upgrade
// with Sec-WebSocket-Key becomes a WebSocket (ws, noServer) and the rest is the HTTP API.
// Transport code only: read a frame, dispatch, write the answer.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { cmdOf, parseBodyObject } from "../../protocol/jim-commands.js";
import { encodeFrame, FrameDecoder, FrameError, JIM_VERSION } from "../../protocol/jim-frame.js";
import { CommandTable } from "./commands/index.js";
import { joinGroupsOf, logIn } from "./commands/login.js";
import { JimConnection, type Wire } from "./connection.js";
import type { JimDeps } from "./context.js";
import { httpHandler } from "./http.js";
import { dispatch } from "./session.js";

export interface JimServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** 0 = never close idle connections. */
  heartbeatTimeoutS: number;
  /** Secret of the HTTP API; null = open. */
  apiSecret: string | null;
}

/** Requests of one connection waiting for their turn beyond this pause its socket. */
const MAX_QUEUED = 256;

interface Inbound {
  chain: Promise<void>;
  queued: number;
}

export class JimServer {
  private readonly server: Server;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  /** Every open socket with the time it last received something (heartbeat, spec §4.4). */
  private readonly sockets = new Map<Socket, { lastRx: number }>();
  private readonly table = new CommandTable();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: JimDeps,
    private readonly opts: JimServerOptions,
  ) {
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
    const state = { lastRx: Date.now() };
    this.sockets.set(socket, state);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => {}); // a reset peer is an ordinary end
    socket.on("data", () => (state.lastRx = Date.now()));
    socket.once("data", (first: Buffer) => {
      if (first[0] === JIM_VERSION) return this.acceptTcp(socket, first);
      socket.pause();
      socket.unshift(first);
      this.http.emit("connection", socket);
      socket.resume();
    });
  }

  private acceptTcp(socket: Socket, first: Buffer): void {
    const decoder = new FrameDecoder(this.opts.maxBodyBytes);
    const wire: Wire = {
      write: (cmd, json, synSeq) => void socket.write(encodeFrame(cmd, json, synSeq)),
      buffered: () => socket.writableLength,
      end: () => {
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref(); // a peer that never closes its side
      },
    };
    const conn = new JimConnection("tcp", wire, () => this.deps.hub.remove(conn));
    const inbound: Inbound = { chain: Promise.resolve(), queued: 0 };
    const onData = (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        // Unknown version or command, negative or oversized length: close (spec §1.2).
        this.deps.log.info({ reason: (err as FrameError).message, user: conn.user }, "j-im tcp frame refused; closing");
        socket.off("data", onData);
        conn.close();
        return;
      }
      for (const f of frames) this.receive(conn, inbound, socket, f.cmd, f.body.toString("utf8"), f.synSeq);
    };
    socket.on("data", onData);
    socket.on("close", () => conn.close());
    onData(first);
  }

  private acceptWs(ws: WebSocket, req: IncomingMessage, socket: Socket): void {
    const state = this.sockets.get(socket);
    const wire: Wire = {
      write: (_cmd, json) => ws.send(json),
      buffered: () => ws.bufferedAmount,
      end: () => ws.close(),
    };
    const conn = new JimConnection("ws", wire, () => this.deps.hub.remove(conn));
    const inbound: Inbound = { chain: Promise.resolve(), queued: 0 };
    ws.on("error", () => {});
    ws.on("close", () => conn.close());
    ws.on("ping", () => state && (state.lastRx = Date.now()));
    // Text and binary frames alike (spec §1.3): the payload is JSON with a mandatory "cmd".
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      if (state) state.lastRx = Date.now();
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const text = buf.toString("utf8");
      const body = parseBodyObject(text);
      // No or an invalid "cmd" becomes -1, which has no module: the 10017 reply.
      this.receive(conn, inbound, socket, cmdOf(body) ?? -1, text, 0, body);
    });
    this.autoLogin(conn, inbound, req);
  }

  /** `?username=&password=` / `?token=` on the upgrade URL logs in at once (spec §1.3, demo hook). */
  private autoLogin(conn: JimConnection, inbound: Inbound, req: IncomingMessage): void {
    const q = new URL(req.url ?? "/", "http://jim.invalid").searchParams;
    const userId = q.get("username") ?? q.get("userId") ?? q.get("userid") ?? q.get("loginname");
    if (userId === null) return;
    const request = { userId, password: q.get("password") ?? undefined, token: q.get("token") ?? undefined, v2: q.has("loginname") };
    inbound.chain = inbound.chain.then(async () => {
      const result = await logIn(this.deps, conn, request);
      conn.reply(result.reply);
      if (!result.ok) return conn.reply("close");
      await joinGroupsOf(this.deps, conn);
    }).catch((err) => this.deps.log.error({ err }, "j-im auto-login failed"));
  }

  /** Requests of one connection run one after another, in arrival order. */
  private receive(conn: JimConnection, inbound: Inbound, socket: Socket, cmd: number, raw: string, synSeq: number, body?: Record<string, unknown> | null): void {
    if (conn.closed) return;
    if (++inbound.queued > MAX_QUEUED) socket.pause();
    inbound.chain = inbound.chain
      .then(() => (conn.closed ? undefined : dispatch(this.deps, this.table, conn, cmd, raw, synSeq, body)))
      .catch((err) => this.deps.log.error({ err }, "j-im dispatch failed"))
      .finally(() => {
        if (--inbound.queued === MAX_QUEUED) socket.resume();
      });
  }
}
