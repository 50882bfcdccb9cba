// A test user: @xmpp/client 0.14 against the throwaway Prosody, PLAIN forced (SCRAM in pure JS
// costs ~1 s of CPU per login against Prosody's 10000 iterations).
import { randomUUID } from "node:crypto";
import { client, xml, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { ProsodyHandle } from "./prosody.js";

export { xml };
export type { Element };

export interface ConnectOptions {
  /** Send initial `<presence/>` after login and after every automatic reconnect (default
   *  true). Without it, Prosody treats the session as unavailable: messages to the bare JID
   *  go to offline storage instead. */
  initialPresence?: boolean;
  /** Login timeout in ms (default 10000). */
  timeoutMs?: number;
}

export interface TestClient {
  /** Full JID after bind, e.g. "alice@localhost/t1". */
  jid: string;
  /** Bare JID, e.g. "alice@localhost". */
  bareJid: string;
  /** The raw @xmpp/client instance. */
  xmpp: Client;
  send(el: Element): Promise<void>;
  /** Directed presence, e.g. to the component domain. */
  sendPresenceTo(jid: string, attrs?: Record<string, string>): Promise<void>;
  /** Every incoming stanza, in order. */
  received: Element[];
  /** Errors emitted by the client (socket errors etc.). */
  errors: Error[];
  /** Resolves with the first already-received or future stanza matching pred. */
  waitFor(pred: (el: Element) => boolean, timeoutMs?: number): Promise<Element>;
  /** Resolves with the first n matching stanzas once at least n have been received. */
  waitForCount(pred: (el: Element) => boolean, n: number, timeoutMs?: number): Promise<Element[]>;
  /** Message stanzas only. */
  messages(): Element[];
  /** Close the stream (sends unavailable), stop reconnecting. Idempotent; never hangs. */
  stop(): Promise<void>;
}

let resourceCounter = 0;

function summary(received: Element[]): string {
  const last = received.slice(-5).map((e) => {
    const s = e.toString();
    return s.length > 300 ? s.slice(0, 300) + "…" : s;
  });
  return `${received.length} stanza(s) received${last.length ? "; last:\n  " + last.join("\n  ") : ""}`;
}

export async function connectClient(
  prosody: ProsodyHandle,
  username: string,
  password: string,
  resource?: string,
  opts: ConnectOptions = {},
): Promise<TestClient> {
  const xmpp = client({
    service: prosody.service, // always explicit: no DNS/SRV here
    domain: prosody.userDomain,
    resource: resource ?? `t${process.pid}-${++resourceCounter}`,
    credentials: (auth, mechanisms) =>
      auth({ username, password }, mechanisms.includes("PLAIN") ? "PLAIN" : mechanisms[0]!, xml("user-agent", { id: randomUUID() })),
  });

  ignoreDataWithoutParser(xmpp);

  const received: Element[] = [];
  const errors: Error[] = [];
  const listeners = new Set<() => void>();
  xmpp.on("error", (err: Error) => {
    errors.push(err);
  });
  xmpp.on("stanza", (el: Element) => {
    received.push(el);
    for (const l of [...listeners]) l();
  });

  const waitForCount = (pred: (el: Element) => boolean, n: number, timeoutMs = 5000): Promise<Element[]> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hits = received.filter(pred);
        if (hits.length >= n) {
          cleanup();
          resolve(hits.slice(0, n));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        const got = received.filter(pred).length;
        reject(new Error(`${jid}: timed out after ${timeoutMs} ms waiting for ${n} matching stanza(s), got ${got}; ${summary(received)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(listener);
      };
      const listener = () => void check();
      if (!check()) listeners.add(listener);
    });

  const timeoutMs = opts.timeoutMs ?? 10000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      xmpp.start(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`login of ${username} timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    await stopQuietly(xmpp);
    throw new Error(`connectClient(${username}@${prosody.userDomain}) failed: ${(e as Error).message}${errors.length ? ` (errors: ${errors.map((x) => x.message).join("; ")})` : ""}`);
  } finally {
    clearTimeout(timer);
  }

  const jid = xmpp.jid!.toString();
  const bareJid = jid.split("/")[0]!;
  if (opts.initialPresence ?? true) {
    await xmpp.send(xml("presence"));
    // After an automatic reconnect (e.g. prosody.restart()) become available again, as a real
    // client would; otherwise messages to the bare JID would go to offline storage.
    xmpp.on("online", () => {
      xmpp.send(xml("presence")).catch(() => {});
    });
  }

  let stopped: Promise<void> | null = null;
  return {
    jid,
    bareJid,
    xmpp,
    received,
    errors,
    send: (el) => xmpp.send(el),
    sendPresenceTo: (to, attrs = {}) => xmpp.send(xml("presence", { ...attrs, to })),
    waitFor: (pred, ms = 5000) => waitForCount(pred, 1, ms).then((a) => a[0]!),
    waitForCount,
    messages: () => received.filter((el) => el.is("message")),
    stop: () => (stopped ??= stopQuietly(xmpp)),
  };
}

/**
 * xmpp.js 0.14 drops its parser when the stream closes (or a close times out) but keeps reading
 * the socket: data that still arrives (ejabberd sends <stream:error/> and </stream:stream> in
 * separate writes when it shuts down, and more may be in flight) reaches Connection._onData with
 * no parser, an uncaught TypeError ("Cannot read properties of null (reading 'write')"). Such data
 * belongs to a stream that is over: drop it. Must run before start() (the socket listener binds
 * _onData on the first connect).
 */
function ignoreDataWithoutParser(xmpp: Client): void {
  const c = xmpp as unknown as { parser: unknown; _onData(data: Buffer): void };
  const onData = c._onData;
  c._onData = function (this: typeof c, data: Buffer) {
    if (this.parser) onData.call(this, data);
  };
}

async function stopQuietly(xmpp: Client): Promise<void> {
  // stop() waits for the server's </stream:stream>; if the server is dead it could wait long.
  let t: NodeJS.Timeout | undefined;
  try {
    await Promise.race([xmpp.stop().catch(() => {}), new Promise<void>((r) => (t = setTimeout(r, 2000)))]);
  } finally {
    clearTimeout(t);
  }
  try {
    xmpp.reconnect.stop();
  } catch {
    /* ignore */
  }
  // If the graceful close did not finish, make sure no socket is left open.
  const sock = (xmpp as unknown as { socket?: { destroy?: () => void } | null }).socket;
  try {
    sock?.destroy?.();
  } catch {
    /* ignore */
  }
}
