// The XEP-0114 link to the XMPP server and how it survives the server: exponential backoff with
// jitter after any disconnect or stream error, and a XEP-0199 ping watchdog that tears down a
// half-open link (a dead peer that never closes the socket).
import { component, type Component } from "@xmpp/component";
import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import { Kind, type Metrics } from "../../metrics.js";
import { xmlSafe } from "../../protocol/xml-safe.js";
import type { PingAnswer } from "./delivery.js";

export interface LinkOptions {
  service: string;
  domain: string;
  secret: string;
  /** Domain pinged by the watchdog (the users' domain: the server itself answers). */
  pingTarget: string;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export type LinkState = "offline" | "connecting" | "online" | "disconnected" | "stopped";

/** Full jitter backoff: a random delay in [min, min·2^attempt] capped at max (AWS architecture blog). */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(minMs + random() * (ceiling - minMs));
}

export class XmppLink {
  readonly xmpp: Component;
  private state: LinkState = "offline";
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private coalescing = false;
  private onlineListeners: Array<() => void> = [];
  private offlineListeners: Array<() => void> = [];

  constructor(
    private readonly opts: LinkOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics | null = null,
  ) {
    this.xmpp = component({ service: opts.service, domain: opts.domain, password: opts.secret });
    this.xmpp.reconnect.stop(); // replaced by the backoff below
    // @xmpp/connection drops its parser when a stream closes but keeps reading the socket: data
    // still in flight (a server writes <stream:error/> and </stream:stream> separately) would reach
    // _onData with no parser, an uncaught TypeError that ends the process. It belongs to a stream
    // that is over: drop it. Before start(): the socket listener binds _onData at connect.
    const conn = this.xmpp as unknown as { parser: unknown; _onData(data: Buffer): void };
    const onData = conn._onData;
    conn._onData = function (this: typeof conn, data: Buffer) {
      if (this.parser) onData.call(this, data);
    };
    // @xmpp/middleware builds a context (parsing both JIDs) for every element, but only IQs have
    // handlers there (disco, ping, version, and the replies iqCaller waits for); messages and
    // presences come through the 'stanza' event. Letting only IQs in saved ~16 % of CPU under
    // load (docs/performance.md, "iqonly").
    for (const listener of this.xmpp.listeners("element") as Array<(el: Element) => void>) {
      this.xmpp.off("element", listener);
      this.xmpp.on("element", (el: Element) => {
        if (el.name === "iq") listener(el);
      });
    }
    // The one writer (docs/reliability.md "Nothing tlim writes is invalid XML"): every byte the
    // component sends — stanzas built as elements, stanzas written as text, the stream header —
    // goes through this write, which replaces any character XML 1.0 cannot carry. Envelope text
    // is already made safe without loss (stanzas.ts); this is the backstop for everything else.
    const write = this.xmpp.write.bind(this.xmpp);
    const sent = metrics?.stanzasOut;
    this.xmpp.write = (text: string) => {
      this.coalesce();
      // One stanza per write (sendRaw, send); the stream header and handshake are not counted.
      if (sent) {
        const c = text.charCodeAt(1);
        if (c === 109 /* m */) sent.inc(Kind.message);
        else if (c === 112 /* p */) sent.inc(Kind.presence);
        else if (c === 105 /* i */) sent.inc(Kind.iq);
      }
      return write(xmlSafe(text));
    };
    if (metrics) {
      const received = metrics.stanzasIn;
      this.xmpp.on("stanza", (el: Element) => {
        const n = el.name;
        received.inc(n === "message" ? Kind.message : n === "presence" ? Kind.presence : Kind.iq);
      });
    }
    this.xmpp.on("error", (err: Error) => this.log.warn({ err: err.message, condition: (err as any).condition }, "xmpp link error"));
    this.xmpp.on("status", (status: string) => this.onStatus(status));
  }

  get status(): LinkState {
    return this.state;
  }

  isOnline(): boolean {
    return this.state === "online";
  }

  onOnline(f: () => void): void {
    this.onlineListeners.push(f);
  }

  onOffline(f: () => void): void {
    this.offlineListeners.push(f);
  }

  async send(el: Element): Promise<void> {
    if (this.state !== "online") throw new Error(`xmpp link is ${this.state}`);
    await this.xmpp.send(el);
  }

  /**
   * Writes a stanza given as XML text (the caller escaped it). The bytes are handed to the
   * socket before this returns, in call order; the promise settles when they reach the kernel.
   */
  sendRaw(text: string): Promise<void> {
    if (this.state !== "online") return Promise.reject(new Error(`xmpp link is ${this.state}`));
    return this.xmpp.write(text);
  }

  /**
   * Everything written during one turn of the event loop leaves in one writev (stanzas, receipts
   * forwarded, acks): the socket is corked at the first write of a turn and uncorked right after
   * the turn's I/O (setImmediate). One syscall per turn instead of one per stanza.
   */
  private coalesce(): void {
    if (this.coalescing) return;
    const socket = (this.xmpp as unknown as { socket: import("node:net").Socket | null }).socket;
    if (!socket) return;
    this.coalescing = true;
    socket.cork();
    setImmediate(() => {
      this.coalescing = false;
      socket.uncork();
    });
  }

  /**
   * Runs `f` with the socket corked: everything it writes goes out in one writev when it
   * returns (a commit batch's deliveries), instead of one write per stanza.
   */
  corked(f: () => void): void {
    const socket = (this.xmpp as unknown as { socket: import("node:net").Socket | null }).socket;
    if (!socket || this.state !== "online") return f();
    socket.cork();
    try {
      f();
    } finally {
      socket.uncork();
    }
  }

  /** A XEP-0199 ping from the component to `to`: its answer, or "timeout" (also when offline). */
  async ping(to: string, timeoutMs: number): Promise<PingAnswer> {
    if (this.state !== "online") return { kind: "timeout" };
    const iq = xml("iq", { type: "get", to, from: this.opts.domain }, xml("ping", { xmlns: "urn:xmpp:ping" }));
    try {
      await this.xmpp.iqCaller.request(iq, timeoutMs);
      return { kind: "result" };
    } catch (err) {
      const e = err as { name?: string; condition?: string };
      if (e.name === "StanzaError") return { kind: "error", condition: e.condition ?? "undefined-condition" };
      return { kind: "timeout" };
    }
  }

  /**
   * The available resources of the users' domain, from the server's tlim module
   * (`<online xmlns="urn:tlim:route:0"/>`, docs/servers.md), or null when the server has no such
   * module (an error) or does not answer.
   */
  async onlineResources(domain: string, timeoutMs: number): Promise<string[] | null> {
    if (this.state !== "online") return null;
    const iq = xml("iq", { type: "get", to: domain, from: this.opts.domain }, xml("online", { xmlns: "urn:tlim:route:0" }));
    try {
      const result = await this.xmpp.iqCaller.request(iq, timeoutMs);
      const online = result.getChild("online", "urn:tlim:route:0");
      return online ? online.getChildren("item").map((i) => String(i.attrs.jid ?? "")).filter(Boolean) : [];
    } catch {
      return null;
    }
  }

  /** A presence probe (RFC 6121 §4.3) from an address inside the component's domain. */
  probe(from: string, to: string): Promise<void> {
    return this.send(xml("presence", { type: "probe", from, to }));
  }

  /** Starts connecting; resolves at once. The link keeps retrying until stop(). */
  start(): void {
    this.stopping = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.state = "stopped";
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stopWatchdog();
    try {
      if (this.xmpp.status !== "offline") await this.xmpp.stop();
    } catch {
      // already down
    }
  }

  private connect(): void {
    this.retryTimer = null;
    if (this.stopping) return;
    this.setState("connecting");
    const { service, domain } = this.opts;
    const run = this.xmpp.status === "offline"
      ? this.xmpp.start()
      : (this.xmpp as any).connect(service).then(() => (this.xmpp as any).open({ domain }));
    run.catch(() => {
      // The failure also arrives as a 'disconnect' status (or an error event), which schedules
      // the retry; a failure that leaves the socket open is handled here.
      if (this.xmpp.status !== "disconnect" && this.xmpp.status !== "online") this.forceDown();
    });
  }

  private onStatus(status: string): void {
    if (status === "online") {
      this.attempt = 0;
      this.setState("online");
      this.startWatchdog();
      for (const f of this.onlineListeners) f();
    } else if (status === "disconnect") {
      this.stopWatchdog();
      const wasOnline = this.state === "online";
      if (!this.stopping) {
        if (wasOnline) this.metrics?.linkDisconnects.inc();
        this.setState("disconnected");
        if (wasOnline) for (const f of this.offlineListeners) f();
        this.scheduleRetry();
      }
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopping) return;
    const delay = backoffDelay(this.attempt++, this.opts.reconnectMinMs, this.opts.reconnectMaxMs);
    this.metrics?.linkReconnects.inc();
    this.log.info({ delayMs: delay, attempt: this.attempt }, "xmpp link: reconnecting after backoff");
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private setState(s: LinkState): void {
    if (this.state === s) return;
    this.state = s;
    const where = { service: this.opts.service, domain: this.opts.domain };
    if (s === "online") this.log.info(where, "xmpp link: online (component handshake accepted)");
    else if (s === "connecting") this.log.info(where, "xmpp link: connecting");
    else if (s === "disconnected") this.log.warn(where, "xmpp link: disconnected");
  }

  private startWatchdog(): void {
    this.stopWatchdog();
    if (this.opts.pingIntervalMs <= 0) return;
    this.pingTimer = setInterval(() => void this.watchdogPing(), this.opts.pingIntervalMs);
    this.pingTimer.unref();
  }

  private stopWatchdog(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private async watchdogPing(): Promise<void> {
    if (this.state !== "online") return;
    const iq = xml("iq", { type: "get", to: this.opts.pingTarget, from: this.opts.domain }, xml("ping", { xmlns: "urn:xmpp:ping" }));
    try {
      await this.xmpp.iqCaller.request(iq, this.opts.pingTimeoutMs);
    } catch (err) {
      // An error reply still proves the link is alive; only silence means half-open.
      if ((err as { name?: string }).name === "StanzaError") return;
      this.log.warn({ timeoutMs: this.opts.pingTimeoutMs }, "xmpp link: ping unanswered, link is half-open; reconnecting");
      this.forceDown();
    }
  }

  /** Drops the socket without a closing handshake (the peer may be gone). */
  private forceDown(): void {
    const socket = (this.xmpp as any).socket;
    if (socket?.destroy) socket.destroy();
    else if (socket?.socket?.destroy) socket.socket.destroy();
  }
}
