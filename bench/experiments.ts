// Not-yet-applied optimisations, tried on a running tlim from the outside (bench only; src/ is
// untouched). Each one is what the proposal in docs/performance.md "Findings" would change, made
// with monkeypatches so that its gain can be measured before the lead applies it. Each either
// keeps tlim's output byte for byte (checked at run time where it rebuilds output) or only
// changes how bytes reach the socket; none touches the write path's guarantees.
//
//   nodelay      TCP_NODELAY on tlim's outgoing sockets (component link)          link.ts
//   flat         a plain loop instead of Array.prototype.flat for insert params     sqlStore.ts
//   cork         one writev per commit batch of deliveries (socket cork/uncork)     delivery.ts / link.ts
//   iqonly       incoming messages/presences skip @xmpp/middleware (JID parsing)   xmpp/index.ts
//   envcache     the delivered envelope text built once per message, not per inbox
//                entry, by splicing the stored body text (no JSON.parse/stringify)   stanzas.ts
//   rawstanza    deliveries as one template string written to the socket (no ltx
//                element tree, no per-stanza promise); implies envcache              stanzas.ts / delivery.ts
//   nodedupe     the batch's dedupe SELECT answered "none" without asking MariaDB:
//                what one round trip less per commit buys (the proposal is an
//                optimistic insert that falls back to the SELECT on ER_DUP_ENTRY;
//                the bench never resends, so the shortcut is exact here)          sqlStore.ts
import net from "node:net";
import type { Tlim } from "../src/main.js";
import xml, { type Element } from "@xmpp/xml";
import { deliveryStanza, type Domains } from "../src/transports/xmpp/stanzas.js";
import { conversationNode } from "../src/core/conversation.js";
import type { InboxItem, StoredMessage } from "../src/store/types.js";

export const EXPERIMENTS = ["nodelay", "flat", "cork", "iqonly", "envcache", "rawstanza", "nodedupe"] as const;

/** Applied before tlim starts. */
export function applyEarly(on: Set<string>): void {
  if (on.has("nodelay")) {
    const connect = net.Socket.prototype.connect;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      this.setNoDelay(true);
      return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof connect;
  }
  if (on.has("flat")) {
    const flat = Array.prototype.flat;
    Array.prototype.flat = function (this: unknown[], depth?: number) {
      if (depth !== undefined && depth !== 1) return flat.call(this, depth);
      const out: unknown[] = [];
      for (const x of this) {
        if (Array.isArray(x)) for (const y of x) out.push(y);
        else out.push(x);
      }
      return out;
    } as typeof flat;
  }
}

interface Internals {
  xmpp: { socket: net.Socket | null; listeners(e: string): Array<(el: unknown) => void>; off(e: string, f: unknown): void; on(e: string, f: unknown): void; root: unknown };
}

/** Applied once tlim runs. `wrapCommit` lets an experiment act right after each commit. */
export function applyLate(on: Set<string>, tlim: Tlim, afterCommit: Array<() => void>): string[] {
  const notes: string[] = [];
  const xmpp = (tlim.xmpp.link as unknown as Internals).xmpp;
  if (on.has("cork")) {
    afterCommit.push(() => {
      const s = xmpp.socket;
      if (!s || s.writableCorked) return;
      s.cork();
      setImmediate(() => s.uncork()); // after every microtask of this batch's deliveries
    });
  }
  if (on.has("iqonly")) {
    for (const l of xmpp.listeners("element")) {
      xmpp.off("element", l);
      xmpp.on("element", (el: { name: string }) => {
        if (el.name === "iq") l(el);
      });
    }
  }
  if (on.has("nodedupe")) {
    const ds = (tlim.store as unknown as { ds: { options: { type: string }; createQueryRunner: (...a: unknown[]) => Record<string, any> } }).ds;
    if (ds.options.type !== "mysql") notes.push("nodedupe: MariaDB only; not applied");
    else {
      const create = ds.createQueryRunner.bind(ds);
      ds.createQueryRunner = (...args: unknown[]) => {
        const qr = create(...args);
        const query = qr.query.bind(qr);
        qr.query = (sql: string, params?: unknown[]) =>
          /^SELECT [^;]* FROM messages m WHERE \(m\.msg_from, m\.msg_id\) IN \(/.test(sql) ? Promise.resolve([]) : query(sql, params);
        return qr;
      };
    }
  }
  if (on.has("envcache") || on.has("rawstanza")) {
    const delivery = tlim.xmpp.delivery as unknown as Record<string, unknown>;
    const proto = Object.getPrototypeOf(delivery) as Record<string, unknown>;
    const src = String(proto.pushNow);
    // The replacement below mirrors pushNow as it was when this experiment was written.
    if (!src.includes("deliveryStanza(this.domains, item, { to, type, delayed: false })") || !src.includes("d.unackedUpTo === 0")) {
      notes.push("envcache/rawstanza: XmppDelivery.pushNow changed since the experiment was written; not applied");
      return notes;
    }
    const raw = on.has("rawstanza");
    let checked = 0;
    delivery.pushNow = async function (this: any, item: InboxItem): Promise<void> {
      const devices = this.devices.get(item.userId);
      if (this.knownOffline.has(item.userId)) return;
      const to = `${item.userId}@${this.domains.users}`;
      const type = devices && devices.size > 0 ? "chat" : "headline";
      const el = raw ? null : elementDelivery(this.domains, item, to, type);
      const text = raw ? fastDelivery(this.domains, item, to, type) : el!.toString();
      if (checked < 200) {
        // Same bytes as src's deliveryStanza, or the experiment stops tlim.
        checked++;
        const want = deliveryStanza(this.domains, item, { to, type, delayed: false }).toString();
        if (want !== text) {
          process.stderr.write(`experiment output differs:\n${want}\n${text}\n`);
          process.exit(4);
        }
      }
      if (raw) {
        const s = xmpp.socket;
        if (!tlim.xmpp.link.isOnline() || !s) throw new Error("xmpp link is not online");
        s.write(text);
      } else {
        await this.send(el);
      }
      for (const d of devices?.values() ?? []) {
        if (!d.synced) d.liveSeen.add(item.inboxSeq);
        else if (!d.away && d.unackedUpTo === 0) this.core.cursors.advance(item.userId, d.key, item.inboxSeq);
      }
    };
  }
  return notes;
}

const envelopes = new WeakMap<StoredMessage, string>();

/** envelopeText(m) once per message; the stored body is compact JSON text, spliced in as is. */
export function envelopeOf(m: StoredMessage): string {
  let text = envelopes.get(m);
  if (text === undefined) {
    const head = JSON.stringify({
      compress: m.compress, encode: m.encode, encrypt: m.encrypt, version: m.version, msg_from: m.msgFrom,
      msg_to: m.msgTo, msg_id: m.msgId, msg_type: m.msgType, msg_time: m.msgTime,
    });
    text = `${head.slice(0, -1)},"body":${m.body}}`;
    envelopes.set(m, text);
  }
  return text;
}

const escAttr = (s: string) => (/["&'<>]/.test(s) ? s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;") : s);
const escText = (s: string) => (/[&<>]/.test(s) ? s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;") : s);

/** deliveryStanza(…) for a live push, with the envelope text from the per-message cache. */
function elementDelivery(d: Domains, item: InboxItem, to: string, type: string): Element {
  const m = item.message;
  const own = m.msgFrom === item.userId && m.sessionId === null;
  const children: Element[] = [];
  if (own) children.push(xml("subject", {}, "ASYNC"));
  children.push(xml("body", {}, envelopeOf(m)));
  children.push(xml("request", { xmlns: "urn:xmpp:receipts" }));
  children.push(xml("no-store", { xmlns: "urn:xmpp:hints" }));
  return xml("message", { type, from: `${conversationNode(item)}@${d.component}`, to, id: m.msgId }, ...children);
}

/** deliveryStanza(…).toString() for a live push, as one template string. */
export function fastDelivery(d: Domains, item: InboxItem, to: string, type: string): string {
  const m = item.message;
  const own = m.msgFrom === item.userId && m.sessionId === null;
  return (
    `<message type="${type}" from="${escAttr(`${conversationNode(item)}@${d.component}`)}" to="${escAttr(to)}" id="${escAttr(m.msgId)}">` +
    (own ? "<subject>ASYNC</subject>" : "") +
    `<body>${escText(envelopeOf(m))}</body><request xmlns="urn:xmpp:receipts"/><no-store xmlns="urn:xmpp:hints"/></message>`
  );
}
