// Stanzas from the server → core calls. Reads a stanza, dispatches, answers: nothing else.
import { randomUUID } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import { SERVER_USER, type ImCore } from "../../core/im.js";
import { deviceClassOf, type Inbound } from "../../core/types.js";
import { decodeEnvelope, type Envelope } from "../../protocol/envelope.js";
import { ImError } from "../../protocol/errors.js";
import { messageId, tryAddressId } from "../../protocol/ids.js";
import { parseJid, type Jid } from "../../protocol/jid.js";
import type { XmppDelivery } from "./delivery.js";
import { errorStanza, forwardStanza, NS, passStanza, receiptStanza, type Domains } from "./stanzas.js";

export interface InboundOptions {
  maxBodyChars: number;
}

export class XmppInbound {
  /**
   * Per sender, the tail of its messages being prepared: a sender's messages reach the writer in
   * the order they arrived (docs/reliability.md "Order"), while one slow lookup for one sender
   * stalls nobody else. An entry lives only while that sender has a message being prepared.
   */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly core: ImCore,
    private readonly delivery: XmppDelivery,
    private readonly domains: Domains,
    /** An element, or stanza text already escaped (XmppLink.sendRaw). */
    private readonly send: (el: Element | string) => Promise<void>,
    private readonly opts: InboundOptions,
    private readonly log: Logger,
  ) {}

  onStanza(el: Element): void {
    if (el.is("presence")) return this.onPresence(el);
    if (!el.is("message")) return;
    const sender = String(el.attrs.from ?? "").split("/")[0]!;
    const before = this.chains.get(sender);
    if (before === undefined) {
      // The common case: nothing of this sender is being prepared; a message that takes its
      // place in the commit order at once needs no chain (no promise per stanza).
      let pending: void | Promise<void>;
      try {
        pending = this.onMessage(el);
      } catch (err) {
        return this.crashed(el, err);
      }
      if (pending) this.chain(sender, pending.catch((err) => this.crashed(el, err)));
      return;
    }
    this.chain(sender, before.then(() => this.onMessage(el)).catch((err) => this.crashed(el, err)));
  }

  private chain(sender: string, tail: Promise<void>): void {
    this.chains.set(sender, tail);
    void tail.then(() => {
      if (this.chains.get(sender) === tail) this.chains.delete(sender);
    });
  }

  /** Logs a failure with the stanza's addressing only: bodies never go to the log. */
  private crashed(el: Element, err: unknown): void {
    const { from, to, id, type } = el.attrs as Record<string, string | undefined>;
    this.log.error({ err, stanza: { name: el.name, from, to, id, type } }, "stanza handling failed");
  }

  /** The sender must be a user of D with a valid local part; anything else is refused. */
  private senderOf(el: Element): Jid | null {
    const from = parseJid(String(el.attrs.from ?? ""));
    if (from.domain !== this.domains.users) return null;
    const local = tryAddressId(from.local);
    return local === null ? null : { ...from, local };
  }

  /**
   * One message stanza. Returns nothing when the message took its place in the commit order (or
   * was answered) right away, else a promise that resolves when it has — not when it is
   * committed: the sender's next message may join the same batch.
   */
  private onMessage(el: Element): void | Promise<void> {
    if (el.attrs.type === "error") return this.onBounce(el);
    const from = this.senderOf(el);
    if (!from) {
      return this.reply(el, ImError.forbidden(`only users of ${this.domains.users} may use this service`));
    }
    const to = parseJid(String(el.attrs.to ?? ""));
    const node = to.local === "" ? null : tryAddressId(to.local);
    if (to.local !== "" && node === null) return this.reply(el, ImError.bodyInvalid("the address is not a valid user or session id"));
    const bodyEl = el.getChild("body");
    if (!bodyEl) {
      // Receipts, markers, chat states: nothing for the writer; they never hold up a sender's chain.
      void this.onBodyless(el, from, node).catch((err) => this.crashed(el, err));
      return;
    }
    if (el.getChildText("subject") === "ASYNC") return; // loop guard: a copy tlim sent (docs/protocol.md "Addressing")
    const text = bodyEl.text();
    if (text.length > this.opts.maxBodyChars) {
      return this.reply(el, ImError.tooLarge(`body has ${text.length} characters; at most ${this.opts.maxBodyChars} are allowed`));
    }
    // A JSON envelope is decoded at once; plain text needs a lookup (is `node` a session?).
    if (isJsonText(text) || el.getChild("tlim", NS.tlim)) this.delivery.spokeTlim(from.local, from.resource);
    if (isJsonText(text)) {
      let envelope: Envelope;
      try {
        envelope = decodeEnvelope(text);
      } catch (err) {
        return this.reply(el, err);
      }
      return this.submit(el, text, from, node, envelope);
    }
    return this.plainEnvelope(el, text, from, node).then(
      (envelope) => this.submit(el, text, from, node, envelope),
      (err) => this.reply(el, err),
    );
  }

  /** Submits; returns a promise only when the message did not take its place in the commit order
   * synchronously (a handler that reads before it commits). */
  private submit(el: Element, text: string, from: Jid, node: string | null, envelope: Envelope): void | Promise<void> {
    const inbound: Inbound = { sender: { userId: from.local, resource: from.resource }, addressedNode: node, envelope };
    const forget = this.delivery.originate(from.local, from.resource, envelope.msg_id);
    const order = new QueuedSignal();
    void this.core.submit(inbound, order).then(
      async (result) => {
        if (result.kind === "passed") {
          const peer = `${result.to}@${this.domains.users}`;
          return this.send(passStanza(`${from.local}@${this.domains.component}`, peer, el.attrs.id, text));
        }
        if (el.getChild("request", NS.receipts) && el.attrs.id) await this.send(receiptStanza(el));
      },
      (err) => this.reply(el, err, { msg_from: envelope.msg_from || from.local, msg_id: envelope.msg_id }),
    ).catch((err) => this.crashed(el, err)).finally(forget);
    return order.wait();
  }

  /**
   * An error bounce from a user's address: if it is for a push (its id is a msg_id in flight to
   * that device), the push goes back to the inbox for the device's next sync (delivery.ts).
   */
  private onBounce(el: Element): void {
    const from = this.senderOf(el);
    const id = el.attrs.id as string | undefined;
    if (!from || !id) return;
    const error = el.getChild("error");
    const condition = error?.children.find((c): c is Element => typeof c !== "string" && c.attrs.xmlns === NS.stanzas && c.name !== "text")?.name ?? "undefined-condition";
    this.delivery.bounced(from.local, from.resource, id, condition, String(error?.attrs.type ?? ""));
  }

  /**
   * A body that is not JSON comes from a plain XMPP client: it becomes MTT-000 text to <peer>@C,
   * or MTS-000 to <session_id>@C when that session exists (docs/protocol.md).
   */
  private async plainEnvelope(el: Element, text: string, from: Jid, node: string | null): Promise<Envelope> {
    if (node === null) throw ImError.bodyInvalid("plain text must be addressed to <peer>@component or <session_id>@component");
    const isSession = (await this.core.sessions.get(node)) !== null;
    return {
      compress: "0", encode: "0", encrypt: "0", version: "2.1.0",
      msg_from: from.local,
      msg_to: node,
      msg_id: plainMessageId(el.attrs.id),
      msg_type: isSession ? "MTS-000" : "MTT-000",
      msg_time: String(Date.now()),
      body: [isSession ? { session_id: node, text } : { text }],
    };
  }

  /**
   * No body: receipts (XEP-0184) and chat markers (XEP-0333) acknowledge a delivered message
   * (the device's cursor moves, delivery.ts) and, like chat states (XEP-0085), are forwarded,
   * never bounced: 1:1 to the peer; in a session a chat state goes to every member, a receipt is
   * tlim's business only.
   */
  private async onBodyless(el: Element, from: Jid, node: string | null): Promise<void> {
    if (node === null) return;
    const acked = el.getChild("received", NS.receipts) ?? el.getChild("received", NS.markers) ?? el.getChild("displayed", NS.markers);
    const ackedId = acked?.attrs.id as string | undefined;
    const known = ackedId ? this.delivery.acknowledged(from.local, from.resource, ackedId) : null;
    const via = `${from.local}@${this.domains.component}`;
    if (known) {
      if (!known.session) this.forward(el, via, node);
      return;
    }
    const session = await this.core.sessions.get(node);
    if (!session) return this.forward(el, via, node);
    if (ackedId) return;
    const members = await this.core.sessions.membersSeenBy(node, from.local);
    if (members === null) return;
    for (const m of members) if (m.userId !== from.local) this.forward(el, `${node}@${this.domains.component}`, m.userId);
  }

  /**
   * A receipt, marker or chat state for `user`: to each of the user's online devices, never to
   * the bare JID (an offline user's server would store it and replay it at the next login; the
   * server user "admin" of system messages has no account at all).
   */
  private forward(el: Element, from: string, user: string): void {
    if (user === SERVER_USER) return;
    for (const jid of this.delivery.onlineJids(user)) void this.send(forwardStanza(el, from, jid)).catch(() => {});
  }

  private onPresence(el: Element): void {
    const from = this.senderOf(el);
    if (!from) return;
    const to = String(el.attrs.to ?? "");
    const type = el.attrs.type as string | undefined;
    const userBare = `${from.local}@${from.domain}`;
    switch (type) {
      case undefined:
      case "available": {
        const node = parseJid(to).local;
        if (from.resource) {
          const reported = el.getChild("reported", NS.route) !== undefined;
          const speaksTlim = el.getChild("tlim", NS.tlim) !== undefined || (reported && deviceClassOf(from.resource) !== "other");
          this.delivery.available(from.local, from.resource, { away: el.getChild("show") !== undefined, via: tryAddressId(node) ?? "", speaksTlim, reported });
        }
        return;
      }
      case "unavailable":
        if (from.resource) this.delivery.unavailable(from.local, from.resource);
        return;
      case "subscribe":
        // A user adds <peer>@C to the roster: approve, show the contact online, and ask back so
        // the user's presence reaches the component from then on.
        void this.sendAll(
          presence({ from: to, to: userBare, type: "subscribed" }),
          presence({ from: to, to: userBare }),
          presence({ from: to, to: userBare, type: "subscribe" }),
        );
        // Until its presence reaches tlim (the client accepts the request above), the user gets
        // its messages at its bare JID (delivery.ts "Roster contacts").
        this.delivery.subscribed(from.local, tryAddressId(parseJid(to).local) ?? "");
        return;
      case "probe":
        void this.sendAll(presence({ from: to, to: userBare }));
        return;
      case "unsubscribe":
        void this.sendAll(presence({ from: to, to: userBare, type: "unsubscribed" }));
        this.delivery.unsubscribed(from.local);
        return;
      default:
        return;
    }
  }

  private async sendAll(...els: Element[]): Promise<void> {
    try {
      for (const el of els) await this.send(el);
    } catch (err) {
      this.log.warn({ err }, "presence reply not sent");
    }
  }

  /** Refuses a message; `msg` names it in every log line when its envelope was decoded. */
  private async reply(original: Element, err: unknown, msg?: { msg_from: string; msg_id: string }): Promise<void> {
    const imErr = err instanceof ImError ? err : ImError.internal();
    const log = this.log.child(msg ?? { stanza_id: original.attrs.id });
    if (!(err instanceof ImError)) log.error({ err }, "unexpected error handling a message");
    log.info({ code: imErr.code, reason: imErr.message, from: original.attrs.from }, "message refused");
    try {
      await this.send(errorStanza(original, imErr));
    } catch (sendErr) {
      log.warn({ err: sendErr }, "error reply not sent");
    }
  }
}

function presence(attrs: Record<string, string>): Element {
  return xml("presence", attrs);
}

/** A plain client's stanza id as the message id when it is a valid one, else a fresh one. */
/** The body is an envelope (or meant as one: broken JSON is refused, not taken as text). */
function isJsonText(text: string): boolean {
  return text.trimStart().startsWith("{") || text.trim() === "";
}

/** SubmitHooks.queued as a value: whether the message holds its place in the commit order yet,
 * and a promise for it only when someone must wait. */
class QueuedSignal {
  private done = false;
  private resolve: (() => void) | null = null;
  readonly queued = (): void => {
    this.done = true;
    this.resolve?.();
  };

  wait(): void | Promise<void> {
    if (this.done) return;
    return new Promise((r) => (this.resolve = r));
  }
}

function plainMessageId(id: unknown): string {
  if (typeof id === "string" && id !== "") {
    try {
      return messageId(id, "id");
    } catch {
      // fall through: an id tlim cannot echo safely is replaced
    }
  }
  return randomUUID();
}
