// The XMPP server's side of XEP-0114, as a load driver: a TCP server on a free loopback port that
// accepts tlim's component connection and handshake, then lets a scenario pump stanzas "from
// users" into it and see every <message> tlim sends back. No XML parser: outgoing stanzas are
// templates, incoming ones are scanned for their <message …> opening tags only (the same trick as
// the raw client, c2s-client.ts), so the driver stays cheap next to tlim.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";

export interface MessageTag {
  to: string;
  id: string;
  type: string;
  from: string;
}

export class ComponentDriver {
  private socket: Socket | null = null;
  private onlineWaiters: Array<() => void> = [];
  private online = false;
  private rest = "";
  private pingReplies = "";
  /** Every <message> tlim sends, as its opening tag's attributes; set by the scenario. */
  onMessage: (tag: MessageTag, now: number) => void = () => {};
  /** Called once per incoming data chunk after its messages (to batch replies). */
  onChunkEnd: () => void = () => {};
  readonly counters = { messages: 0, errors: 0, presences: 0, iqs: 0, bytesIn: 0, bytesOut: 0 };

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly domain: string,
    private readonly secret: string,
  ) {}

  static async listen(domain: string, secret: string): Promise<ComponentDriver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const driver = new ComponentDriver(server, port, domain, secret);
    server.on("connection", (s) => driver.accept(s));
    return driver;
  }

  get service(): string {
    return `xmpp://127.0.0.1:${this.port}`;
  }

  waitOnline(timeoutMs = 15_000): Promise<void> {
    if (this.online) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`tlim did not complete the component handshake within ${timeoutMs} ms`)), timeoutMs);
      this.onlineWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Writes raw stanza text to tlim; resolves at once unless the socket buffer is full. */
  write(text: string): Promise<void> | void {
    const s = this.socket;
    if (!s || !this.online) throw new Error("component link is not online");
    this.counters.bytesOut += text.length;
    if (!s.write(text)) return new Promise((r) => s.once("drain", () => r()));
  }

  /** Bytes written and not yet handed to the kernel. */
  get pendingBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  async close(): Promise<void> {
    try {
      this.socket?.end("</stream:stream>");
    } catch {
      /* gone */
    }
    this.socket?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(s: Socket): void {
    if (this.socket) this.socket.destroy(); // a reconnect replaces the old link
    this.socket = s;
    this.online = false;
    this.rest = "";
    s.setNoDelay(true);
    s.setEncoding("utf8");
    const streamId = randomBytes(8).toString("hex");
    let phase: "header" | "handshake" | "online" = "header";
    let buf = "";
    s.on("error", () => {});
    s.on("close", () => {
      if (this.socket === s) {
        this.socket = null;
        this.online = false;
      }
    });
    s.on("data", (chunk: string) => {
      this.counters.bytesIn += chunk.length;
      if (phase === "online") return this.scan(chunk);
      buf += chunk;
      if (phase === "header") {
        const m = /<stream:stream\b[^>]*>/.exec(buf);
        if (!m) return;
        buf = buf.slice(m.index + m[0].length);
        s.write(
          `<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='${streamId}' from='${this.domain}'>`,
        );
        phase = "handshake";
      }
      if (phase === "handshake") {
        const m = /<handshake>([0-9a-fA-F]*)<\/handshake>/.exec(buf);
        if (!m) return;
        const want = createHash("sha1").update(streamId + this.secret, "binary").digest("hex");
        if (m[1]!.toLowerCase() !== want) {
          s.end("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
          return;
        }
        s.write("<handshake/>");
        phase = "online";
        this.online = true;
        for (const w of this.onlineWaiters.splice(0)) w();
        const after = buf.slice(m.index + m[0].length);
        buf = "";
        if (after) this.scan(after);
      }
    });
  }

  /** Finds every complete <message …> opening tag; keeps an unfinished tail for the next chunk. */
  private scan(chunk: string): void {
    const text = this.rest + chunk;
    const end = text.lastIndexOf(">");
    if (end < 0) {
      this.rest = text;
      return;
    }
    this.rest = text.slice(end + 1);
    const now = performance.now();
    let i = 0;
    for (;;) {
      const at = text.indexOf("<", i);
      if (at < 0 || at > end) break;
      const c = text.charCodeAt(at + 1);
      if (c === 109 /* m */ && text.startsWith("<message ", at)) {
        const close = text.indexOf(">", at);
        const open = text.slice(at + 9, close);
        this.counters.messages++;
        const tag = { to: attr(open, "to"), id: attr(open, "id"), type: attr(open, "type"), from: attr(open, "from") };
        if (tag.type === "error") this.counters.errors++;
        this.onMessage(tag, now);
        i = close + 1;
      } else {
        if (c === 112 /* p */ && text.startsWith("<presence", at)) this.counters.presences++;
        else if (c === 105 /* i */ && text.startsWith("<iq ", at)) {
          this.counters.iqs++;
          // A device answers XEP-0199 pings (tlim's barrier behind its pushes), as clients must.
          const close = text.indexOf(">", at);
          const open = text.slice(at + 4, close);
          if (attr(open, "type") === "get" && text.startsWith('<ping xmlns="urn:xmpp:ping"/>', close + 1)) {
            this.pingReplies += `<iq type="result" from="${attr(open, "to")}" to="${attr(open, "from")}" id="${attr(open, "id")}"/>`;
          }
        }
        i = at + 1;
      }
    }
    if (this.pingReplies) {
      const out = this.pingReplies;
      this.pingReplies = "";
      this.socket?.write(out);
    }
    this.onChunkEnd();
  }
}

/** An attribute's value from an opening tag's text (either quote style), or "". */
export function attr(open: string, name: string): string {
  let at = open.indexOf(` ${name}=`);
  if (at < 0) {
    if (!open.startsWith(`${name}=`)) return "";
    at = -1;
  }
  const q = open.charAt(at + name.length + 2);
  const start = at + name.length + 3;
  const stop = open.indexOf(q, start);
  return stop < 0 ? "" : open.slice(start, stop);
}

/** XML text escaping for stanza templates. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
