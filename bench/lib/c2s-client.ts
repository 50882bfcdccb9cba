// A raw XMPP client for load: net.Socket with TCP_NODELAY, PLAIN login,
// bind, initial presence; no XML parser (incoming data is scanned for <message> opening tags).
import { connect, type Socket } from "node:net";
import { attr, type MessageTag } from "./component-driver.js";

const streamHeader = (domain: string) =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}' version='1.0'>`;

export class RawClient {
  private rest = "";
  onMessage: (tag: MessageTag, now: number, body: string) => void = () => {};
  onChunkEnd: () => void = () => {};
  /** Set true to have onMessage get the text between the opening tag and </message>. */
  wantBody = false;

  private constructor(
    private readonly socket: Socket,
    readonly user: string,
  ) {}

  /** Logs in as user@domain with PLAIN; sends initial presence (and optional extra stanzas). */
  static async login(port: number, domain: string, user: string, password: string, resource = "r", timeoutMs = 15_000): Promise<RawClient> {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setNoDelay(true);
    socket.setEncoding("utf8");
    const client = new RawClient(socket, user);
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      let phase: "features1" | "auth" | "features2" | "bind" = "features1";
      const timer = setTimeout(() => fail(new Error(`login of ${user} timed out in phase ${phase}`)), timeoutMs);
      const fail = (e: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      socket.once("error", fail);
      socket.on("connect", () => socket.write(streamHeader(domain)));
      const onData = (d: string) => {
        buf += d;
        if (phase === "features1" && buf.includes("</stream:features>")) {
          buf = "";
          phase = "auth";
          const token = Buffer.from(`\0${user}\0${password}`).toString("base64");
          socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${token}</auth>`);
        } else if (phase === "auth" && /<(success|failure)\b/.test(buf)) {
          if (buf.includes("<failure")) return fail(new Error(`PLAIN login of ${user} refused: ${buf.slice(0, 200)}`));
          buf = "";
          phase = "features2";
          socket.write(streamHeader(domain));
        } else if (phase === "features2" && buf.includes("</stream:features>")) {
          buf = "";
          phase = "bind";
          socket.write(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
        } else if (phase === "bind" && /id=['"]bind1['"]/.test(buf) && buf.includes("</iq>")) {
          if (!/type=['"]result['"]/.test(buf)) return fail(new Error(`bind of ${user} failed: ${buf.slice(0, 200)}`));
          clearTimeout(timer);
          socket.off("data", onData);
          socket.off("error", fail);
          socket.on("error", () => {});
          socket.on("data", (c: string) => client.scan(c));
          socket.write("<presence/>");
          resolve();
        }
      };
      socket.on("data", onData);
    });
    return client;
  }

  write(text: string): void {
    this.socket.write(text);
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.socket.destroy();
        r();
      }, 1000);
      this.socket.once("close", () => {
        clearTimeout(t);
        r();
      });
      this.socket.end("<presence type='unavailable'/></stream:stream>");
    });
  }

  /** Answers XEP-0199 pings (tlim's barrier behind its pushes), as every client must. */
  private answerPings(text: string, stop: number): void {
    let out = "";
    for (let i = text.indexOf("<iq ", 0); i >= 0 && i < stop; i = text.indexOf("<iq ", i + 4)) {
      const close = text.indexOf(">", i);
      const open = text.slice(i + 4, close);
      if (attr(open, "type") === "get" && text.slice(close, close + 60).includes("urn:xmpp:ping")) {
        out += `<iq type='result' to='${attr(open, "from")}' id='${attr(open, "id")}'/>`;
      }
    }
    if (out) this.socket.write(out);
  }

  private scan(chunk: string): void {
    const text = this.rest + chunk;
    const end = this.wantBody ? text.lastIndexOf("</message>") : text.lastIndexOf(">");
    if (end < 0) {
      this.rest = text;
      return;
    }
    const stop = this.wantBody ? end + 10 : end + 1;
    this.rest = text.slice(stop);
    const now = performance.now();
    this.answerPings(text, stop);
    let i = 0;
    for (;;) {
      const at = text.indexOf("<message ", i);
      if (at < 0 || at >= stop) break;
      const close = text.indexOf(">", at);
      const open = text.slice(at + 9, close);
      const tag = { to: attr(open, "to"), id: attr(open, "id"), type: attr(open, "type"), from: attr(open, "from") };
      let body = "";
      let next = close + 1;
      if (this.wantBody && !open.endsWith("/")) {
        const e = text.indexOf("</message>", close);
        body = text.slice(close + 1, e);
        next = e + 10;
      }
      this.onMessage(tag, now, body);
      i = next;
    }
    this.onChunkEnd();
  }
}
