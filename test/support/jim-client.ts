// A small J-IM test client (no J-IM library exists for Node): raw TCP with the binary framing
// of docs/jim-gateway.md "TCP framing", parsed here independently of src/ so the server's bytes are really checked, or a
// WebSocket with JSON text frames.
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import WebSocket from "ws";

export interface JimPacket {
  /** `command` of the JSON body (replies and pushes). */
  command: number;
  json: any;
  /** TCP only: the frame as received. */
  frame?: { version: number; mask: number; synSeq: number; cmd: number; length: number; bytes: Buffer };
}

export interface JimClient {
  readonly received: JimPacket[];
  /** Sends a request: on TCP `cmd` goes in the header (and stays in the JSON); on WS in the JSON. */
  send(cmd: number, body?: Record<string, unknown>, opts?: { synSeq?: number }): void;
  /** Resolves with the first received packet (already or later) matching pred. */
  waitFor(pred: (p: JimPacket) => boolean, timeoutMs?: number): Promise<JimPacket>;
  /** The next packet with this command received after this call's count of such packets. */
  next(command: number, timeoutMs?: number): Promise<JimPacket>;
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  close(): void;
}

abstract class Base {
  readonly received: JimPacket[] = [];
  private listeners = new Set<() => void>();
  private consumed = new Map<number, number>();
  protected closedFlag = false;
  closed!: Promise<void>;

  protected emit(p: JimPacket): void {
    this.received.push(p);
    for (const l of [...this.listeners]) l();
  }

  isClosed(): boolean {
    return this.closedFlag;
  }

  waitFor(pred: (p: JimPacket) => boolean, timeoutMs = 5000): Promise<JimPacket> {
    return this.until(() => this.received.find(pred), timeoutMs);
  }

  next(command: number, timeoutMs = 5000): Promise<JimPacket> {
    const n = this.consumed.get(command) ?? 0;
    this.consumed.set(command, n + 1);
    return this.until(() => this.received.filter((p) => p.command === command)[n], timeoutMs);
  }

  private until(select: () => JimPacket | undefined, timeoutMs: number): Promise<JimPacket> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = select();
        if (!hit) return false;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        const last = this.received.slice(-5).map((p) => JSON.stringify(p.json)).join("\n  ");
        reject(new Error(`timed out after ${timeoutMs} ms; ${this.received.length} packet(s) received; last:\n  ${last}`));
      }, timeoutMs);
      if (!check()) this.listeners.add(check);
    });
  }
}

export class JimTcpClient extends Base implements JimClient {
  private buf = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    super();
    this.closed = new Promise((r) => socket.on("close", () => ((this.closedFlag = true), r())));
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
  }

  static connect(port: number, host = "127.0.0.1"): Promise<JimTcpClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => resolve(new JimTcpClient(s)));
      s.once("error", reject);
    });
  }

  /** The same framing inside TLS (TLIM_JIM_TLS); resolves once the handshake is done. */
  static connectTls(port: number, opts: ConnectionOptions, host = "127.0.0.1"): Promise<JimTcpClient> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ port, host, ...opts }, () => resolve(new JimTcpClient(s)));
      s.once("error", reject);
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const withSeq = (b[1]! & 0x20) !== 0;
      const header = withSeq ? 11 : 7;
      if (b.length < header) return;
      const synSeq = withSeq ? b.readInt32BE(2) : 0;
      const cmd = b.readInt8(header - 5);
      const length = b.readInt32BE(header - 4);
      if (b.length < header + length) return;
      const bytes = Buffer.from(b.subarray(0, header + length));
      this.buf = b.subarray(header + length);
      const json = JSON.parse(bytes.subarray(header).toString("utf8"));
      this.emit({ command: json.command, json, frame: { version: b[0]!, mask: b[1]!, synSeq, cmd, length, bytes } });
    }
  }

  /** One frame as the Java client encodes it: mask 0x51, or 0xF1 with a synSeq. */
  static frame(cmd: number, body: Buffer | string, synSeq = 0): Buffer {
    const payload = typeof body === "string" ? Buffer.from(body) : body;
    const head = Buffer.alloc(synSeq > 0 ? 11 : 7);
    head[0] = 0x01;
    head[1] = synSeq > 0 ? 0xf1 : 0x51;
    if (synSeq > 0) head.writeInt32BE(synSeq, 2);
    head.writeInt8(cmd, synSeq > 0 ? 6 : 2);
    head.writeInt32BE(payload.length, synSeq > 0 ? 7 : 3);
    return Buffer.concat([head, payload]);
  }

  send(cmd: number, body: Record<string, unknown> = {}, opts: { synSeq?: number } = {}): void {
    this.socket.write(JimTcpClient.frame(cmd, JSON.stringify({ cmd, ...body }), opts.synSeq ?? 0));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

export class JimWsClient extends Base implements JimClient {
  private constructor(readonly ws: WebSocket) {
    super();
    this.closed = new Promise((r) => ws.on("close", () => ((this.closedFlag = true), r())));
    ws.on("error", () => {});
    ws.on("message", (data: Buffer) => {
      const json = JSON.parse(data.toString("utf8"));
      this.emit({ command: json.command, json });
    });
  }

  /** Opens ws://host:port<path>; resolves once open. Messages sent before "open" resolve are kept. */
  static connect(port: number, path = "/", host = "127.0.0.1"): Promise<JimWsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${host}:${port}${path}`);
      const client = new JimWsClient(ws);
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  /** Opens any ws:// or wss:// URL (wss: `opts.ca` trusts a test CA). */
  static connectUrl(url: string, opts: WebSocket.ClientOptions = {}): Promise<JimWsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts);
      const client = new JimWsClient(ws);
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  send(cmd: number, body: Record<string, unknown> = {}): void {
    this.ws.send(JSON.stringify({ cmd, ...body }));
  }

  sendText(text: string, binary = false): void {
    this.ws.send(binary ? Buffer.from(text) : text, { binary });
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Logs in with cmd 5 and waits for the command-6 reply. */
export async function jimLogin(c: JimClient, userId: string, creds: { password?: string; token?: string }): Promise<JimPacket> {
  c.send(5, { userId, ...creds });
  return c.next(6, 10000);
}
