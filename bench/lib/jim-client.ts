// A minimal J-IM TCP client for the bench (docs/jim-gateway.md "TCP framing"):
// frames out, one callback per frame in. Shared by scenario 6 and its driver processes
// (bench/lib/jim-driver.ts), which hold tens of thousands of these, so a client keeps no more
// than its socket and a partial frame.
import { createHmac } from "node:crypto";
import { connect, type Socket } from "node:net";

/** The heartbeat the Java client sends, byte for byte: command 13, 1-byte body 0x80. */
export const HEARTBEAT_FRAME = Buffer.from([0x01, 0x51, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x80]);

/** A login token as TLIM_JIM_TOKEN_SECRET signs it (docs/jim-gateway.md "Token"). */
export function token(secret: string, userId: string, ttlS = 3 * 3600): string {
  const expiry = Math.floor(Date.now() / 1000) + ttlS;
  return `${expiry}.${createHmac("sha256", secret).update(`${userId}.${expiry}`).digest("hex")}`;
}

export function frame(cmd: number, body: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(body), "utf8");
  const header = Buffer.alloc(7);
  header[0] = 0x01;
  header[1] = 0x51;
  header.writeInt8(cmd, 2);
  header.writeInt32BE(payload.length, 3);
  return Buffer.concat([header, payload]);
}

export type FrameHandler = (cmd: number, body: Buffer) => void;

/** One J-IM TCP client: `onFrame(cmd, raw body)` per frame received. */
export class JimClient {
  private rest: Buffer | null = null;
  onFrame: FrameHandler;

  constructor(
    readonly socket: Socket,
    onFrame: FrameHandler = () => {},
  ) {
    this.onFrame = onFrame;
    socket.on("data", (d: Buffer) => this.read(d));
  }

  private read(d: Buffer): void {
    let buf = this.rest ? Buffer.concat([this.rest, d]) : d;
    this.rest = null;
    for (;;) {
      if (buf.length < 7) break;
      const h = (buf[1]! & 0x20) !== 0 ? 11 : 7;
      if (buf.length < h) break;
      const len = buf.readInt32BE(h - 4);
      if (buf.length < h + len) break;
      this.onFrame(buf.readInt8(h - 5), buf.subarray(h, h + len));
      buf = buf.subarray(h + len);
    }
    if (buf.length > 0) this.rest = Buffer.from(buf);
  }
}

export function json(body: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export interface LoginOptions {
  host: string;
  port: number;
  /** Source address (one of 127.0.0.x): each one has its own ephemeral port range. */
  localAddress?: string;
  tokenSecret: string;
  timeoutMs?: number;
}

/** Connects and logs in with a token; resolves with the client and the login latency in ms. */
export function login(o: LoginOptions, userId: string): Promise<{ client: JimClient; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = connect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    socket.setNoDelay(true);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`login: no answer in ${(o.timeoutMs ?? 30_000) / 1000} s`)), o.timeoutMs ?? 30_000);
    const onClose = () => fail(new Error("login: connection closed by the server before the login reply"));
    socket.on("error", (e: NodeJS.ErrnoException) => fail(new Error(`login: ${e.code ?? e.message}`)));
    socket.once("close", onClose);
    const client = new JimClient(socket, (cmd, body) => {
      if (cmd !== 6) return;
      clearTimeout(timer);
      socket.off("close", onClose);
      client.onFrame = () => {};
      const reply = json(body);
      if (reply.code === 10007) resolve({ client, ms: performance.now() - t0 });
      else fail(new Error(`login refused: ${JSON.stringify(reply).slice(0, 200)}`));
    });
    socket.once("connect", () => socket.write(frame(5, { userId, token: token(o.tokenSecret, userId) })));
  });
}
