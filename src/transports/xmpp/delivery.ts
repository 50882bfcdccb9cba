// XMPP delivery (docs/protocol.md "Devices"): every stored message reaches every online
// device at least once, in inbox order, and a device's cursor moves only when the device is known
// to have what was sent — never because bytes reached tlim's socket.
//
// A device is one XMPP resource that announced presence to the component (directed presence to C
// or `<x>@C`, or via a roster contact). Per device tlim keeps what it sent and has not yet seen
// confirmed (`inFlight`), in inbox order; pushes go to the device's full JID, so an error bounce
// names the device. What confirms:
//  - an acknowledgement from the device: a XEP-0184 receipt or a XEP-0333 marker for a message
//    confirms it and everything sent to that device before it (one stream keeps order);
//  - a barrier: a XEP-0199 ping sent to the full JID after the pushes; any answer from the device
//    (result or error) means it read everything sent before the ping (RFC 6120 §8.2.3 requires an
//    answer to every IQ get; the stream is ordered);
//  - for a device that answers neither, the grace period (TLIM_ACK_GRACE_S): a push out that long
//    on a link that did not drop, with no bounce, counts as delivered.
// What puts back: an error bounce for a push (the server could not deliver it: the cursor may not
// pass it until the device syncs again), the device going unavailable, or the link to the server
// dropping (everything in flight is forgotten: the cursor did not move, so the next sync sends it).
//
// After a lost link or a restart tlim re-learns who is online instead of guessing: the devices it
// last saw (kept in the store) are pinged, and their users probed from the address their presence
// came to; each one that answers syncs from its cursor. Until then nothing is pushed to them, and
// nothing is ever pushed to a user with no known device (the inbox keeps it): no headline copies,
// no copies in the server's offline store next to tlim's own backlog.
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import { Acked, Delivered, type InboxLag } from "../../metrics.js";
import { conversationNode } from "../../core/conversation.js";
import { deviceClassOf, deviceKeyOf, type DeliverySink } from "../../core/types.js";
import { tryAddressId } from "../../protocol/ids.js";
import type { InboxItem, OnlineDevice } from "../../store/types.js";
import { deliveryStanza, type Domains } from "./stanzas.js";

/** How deliveries reach the server (XmppLink). */
export interface DeliveryLink {
  /** Writes stanza text in call order; settles when the bytes reach the kernel. */
  sendRaw(text: string): Promise<void>;
  corked(f: () => void): void;
  /** A XEP-0199 ping from the component to `to`: "result", the error condition, or "timeout". */
  ping(to: string, timeoutMs: number): Promise<PingAnswer>;
  /** A presence probe (RFC 6121 §4.3) from `from` (inside the component's domain) to a bare JID. */
  probe(from: string, to: string): Promise<void>;
  /** The available resources of a domain, from the server's tlim module; null without one. */
  onlineResources(domain: string, timeoutMs: number): Promise<string[] | null>;
}

export interface PresenceInfo {
  away: boolean;
  via: string;
  speaksTlim?: boolean;
  reported?: boolean;
}

export type PingAnswer = { kind: "result" } | { kind: "error"; condition: string } | { kind: "timeout" };

export interface DeliveryOptions {
  /** A push to a device that answers neither receipts nor pings counts as delivered after this. */
  ackGraceMs: number;
  /** Pause between a push and the barrier ping that confirms it (0: right behind the pushes of
   * the same turn; the one ping in flight per device still coalesces bursts). */
  barrierDelayMs?: number;
}

/** A push sent to a device and not yet confirmed. */
interface Sent {
  seq: number;
  msgId: string;
  /** The conversation's node as the device sees it (`<node>@C`). */
  node: string;
  session: boolean;
  /** The device's own message (it sent it): not sent back, confirmed with what is around it. */
  self: boolean;
  /** The message's commit time (ms since epoch): committed → acknowledged latency. */
  at: number;
}

interface Device {
  readonly userId: string;
  readonly resource: string;
  /** Cursor key (resources with a [web]/[ios]/[android] marker share one per class). */
  readonly key: string;
  readonly jid: string;
  /** Where the device's presence came to (`<via>@C`; "" for C): a probe must come from there. */
  via: string;
  away: boolean;
  /** Presence seen on the current link. False for a device remembered from before (re-learning). */
  confirmed: boolean;
  /** Backlog being sent; live pushes wait in `waiting` meanwhile. */
  syncing: boolean;
  waiting: InboxItem[];
  /** Highest inbox seq sent on the current link (or the cursor it started from). */
  sentUpTo: number;
  inFlight: Sent[];
  /** Lowest seq the server bounced: the cursor stays below it until the device syncs again. */
  returned: number | null;
  /** Has sent a receipt or marker: confirmations come from those, no barrier pings needed. */
  acks: boolean;
  /** Has answered a ping with a result: it answers barriers, so no time-based grace. */
  answersPings: boolean;
  /** Answered a ping with service-unavailable while online: confirmed by the grace period. */
  noPing: boolean;
  /** The barrier ping in flight (confirms up to `upTo`), or a timer about to send one. */
  barrier: { upTo: number } | null;
  barrierTimer: NodeJS.Timeout | null;
  /** Link epoch this device's state belongs to. */
  epoch: number;
  /** Went unavailable (only a barrier already out may still confirm for it). */
  gone: boolean;
  /** When it last sent available presence again while online (0: never). */
  reannounced: number;
  /** The conversations of the last messages confirmed (see acknowledged). */
  recent: Map<string, { node: string; session: boolean }>;
  /** Gets the envelope as `<body>` (a tlim client) rather than readable text with the envelope in
   * a XEP-0335 container (a plain XMPP client). See docs/protocol.md "Plain XMPP clients". */
  speaksTlim: boolean;
  /** Its presence came from the server's tlim module / from the device itself. */
  reported: boolean;
  direct: boolean;
}

/** The cursor key of a user's roster device (see subscribed()). */
const ROSTER_DEVICE = "roster";

/** Confirmed messages remembered per device for late receipts. */
const RECENT = 64;

/** An unavailable this soon after a device announced itself again is checked (see unavailable). */
const REANNOUNCE_CHECK_MS = 10_000;

/** Bounces that mean "not delivered now, maybe later": the push goes back. Anything else is a
 * refusal the same message would meet again (it is logged and not sent again). */
const TRANSIENT_BOUNCES = new Set([
  "service-unavailable", "recipient-unavailable", "remote-server-not-found", "remote-server-timeout",
  "resource-constraint", "internal-server-error", "undefined-condition", "item-not-found",
]);

export class XmppDelivery implements DeliverySink {
  readonly name = "xmpp";
  private readonly devices = new Map<string, Map<string, Device>>();
  /** The device a 1:1 message came from (`from\0msg_id` → resource): its own copy is not sent
   * back there (it has it), only to the sender's other devices (docs/protocol.md, the sender's own copies). */
  private readonly origins = new Map<string, string>();
  private epoch = 0;
  private online = false;
  private readonly barrierDelayMs: number;

  constructor(
    private readonly core: ImCore,
    private readonly domains: Domains,
    private readonly link: DeliveryLink,
    private readonly opts: DeliveryOptions,
    private readonly log: Logger,
  ) {
    this.barrierDelayMs = opts.barrierDelayMs ?? 0;
  }

  /** What online devices have not confirmed yet (the inbox lag gauges, read at scrape time: no
   * database query, one pass over the devices). */
  lag(): InboxLag {
    let devices = 0;
    let messages = 0;
    let maxMessages = 0;
    let oldestAt = 0;
    for (const byResource of this.devices.values()) {
      for (const d of byResource.values()) {
        if (!d.confirmed || d.resource === "") continue; // a roster device is no device online
        devices++;
        const n = d.inFlight.length + d.waiting.length;
        messages += n;
        if (n > maxMessages) maxMessages = n;
        const first = d.inFlight[0]?.at ?? d.waiting[0]?.message.createdAt ?? 0;
        if (first !== 0 && (oldestAt === 0 || first < oldestAt)) oldestAt = first;
      }
    }
    return { devices, messages, maxMessages, oldestAt };
  }

  /** A commit batch's pushes go out as one socket write. */
  corked(f: () => void): void {
    this.link.corked(f);
  }

  /** What the component sees of a user (findPresence): "available" when a device is online
   * without `<show>`, "away" when every device has one, else "offline" (docs/http-api.md "findPresence"). */
  presenceOf(userId: string): "available" | "away" | "offline" {
    const devices = [...(this.devices.get(userId)?.values() ?? [])].filter((d) => d.confirmed && d.resource !== "");
    if (devices.length === 0) return "offline";
    return devices.some((d) => !d.away) ? "available" : "away";
  }

  /** Devices recorded as online before a restart: asked again once the link is up. */
  restore(seen: readonly OnlineDevice[]): void {
    for (const s of seen) {
      if (this.devices.get(s.userId)?.has(s.resource)) continue;
      this.add(s.userId, s.resource, s.via, false, false);
    }
    if (this.online) this.relearn();
  }

  /** The device sent an envelope or a `<tlim xmlns="im.itonglian.com"/>` marker: it speaks tlim. */
  spokeTlim(userId: string, resource: string): void {
    const d = this.devices.get(userId)?.get(resource);
    if (d) d.speaksTlim = true;
  }

  /** The full JIDs of a user's online devices (where ephemeral stanzas such as forwarded
   * receipts and chat states go: never to the bare JID, which the server would store). */
  onlineJids(userId: string): string[] {
    const out: string[] = [];
    for (const d of this.devices.get(userId)?.values() ?? []) if (d.confirmed && d.resource !== "") out.push(d.jid);
    return out;
  }

  /** The next 1:1 message (from, msg_id) comes from this resource (see `origins`). */
  originate(userId: string, resource: string, msgId: string): () => void {
    const k = `${userId}\u0000${msgId}`;
    this.origins.set(k, resource);
    return () => {
      if (this.origins.get(k) === resource) this.origins.delete(k);
    };
  }

  // -------------------------------------------------------------------------------------------
  // Live pushes

  push(item: InboxItem): void {
    const devices = this.devices.get(item.userId);
    if (!devices) return; // no known device: the inbox keeps it for the next sync
    for (const d of devices.values()) {
      if (!d.confirmed) continue;
      if (d.syncing) d.waiting.push(item);
      else if (item.inboxSeq > d.sentUpTo) this.send(d, item, false);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Roster contacts: a plain client that added <peer>@C but whose presence tlim never sees

  /**
   * A user subscribed to `<via>@C` (added it to the roster). Until tlim sees a device of that
   * user (the client accepts tlim's subscription request, or sends presence to C), messages go to
   * the user's bare JID as readable text: the server gives them to the online resources, or keeps
   * them offline — the client gets them without any further step (docs/protocol.md "Plain XMPP
   * clients"). Such a *roster device* counts a message as delivered after the grace period with no
   * bounce; it is dropped for good as soon as a real device of the user shows up.
   */
  subscribed(userId: string, via: string): void {
    const devices = this.devices.get(userId);
    if (devices && [...devices.values()].some((d) => d.resource !== "")) return;
    if (devices?.has("")) return;
    const d = this.add(userId, "", via, false, true);
    d.epoch = this.epoch;
    this.remember(d);
    if (this.online) this.startSync(d);
  }

  /** The user removed `<x>@C` from its roster: no more copies to its bare JID. */
  unsubscribed(userId: string): void {
    const devices = this.devices.get(userId);
    const d = devices?.get("");
    if (!d) return;
    this.drop(d);
    d.gone = true;
    devices!.delete("");
    if (devices!.size === 0) this.devices.delete(userId);
    this.core.devices.gone(userId, "");
  }

  /** A real device of the user is online: the roster device is not needed any more. */
  private retireRosterDevice(userId: string): void {
    if (this.devices.get(userId)?.has("")) this.unsubscribed(userId);
  }

  /** Sends one inbox entry to one device and records it in flight. */
  private send(d: Device, item: InboxItem, delayed: boolean): void {
    const m = item.message;
    const session = m.sessionId !== null;
    // The device a 1:1 message came from has it; a roster device (the bare JID, which reaches
    // every resource of the user) never gets the user's own messages back.
    const self = !session && m.msgFrom === item.userId && (d.resource === "" || this.origins.get(`${m.msgFrom}\u0000${m.msgId}`) === d.resource);
    d.sentUpTo = item.inboxSeq;
    d.inFlight.push({ seq: item.inboxSeq, msgId: m.msgId, node: conversationNode(item), session, self, at: m.createdAt });
    if (self) {
      // The device has it: confirmed at once when nothing before it is waiting.
      if (d.inFlight.length === 1) this.confirm(d, item.inboxSeq);
      return;
    }
    // A client written for the original plugin sees the message from the sender's address in the
    // users' domain, as the original delivered it (the server's tlim module rewrites `from`).
    const as = d.reported && !d.direct && d.speaksTlim ? `${m.msgFrom}@${this.domains.users}` : undefined;
    // A roster device is the bare JID: there the server's offline storage is the delivery.
    const store = d.resource === "";
    this.link.sendRaw(deliveryStanza(this.domains, item, { to: d.jid, type: "chat", delayed, plain: !d.speaksTlim, as, store })).catch((err) => {
      // The link is going down; the offline handler puts everything in flight back.
      this.log.debug({ err: (err as Error).message, user: d.userId, msg_from: m.msgFrom, msg_id: m.msgId }, "push not written");
    });
    this.core.metrics.delivered.observe((Date.now() - m.createdAt) / 1000, delayed ? Delivered.xmppBacklog : Delivered.xmppLive);
    this.armBarrier(d);
  }

  // -------------------------------------------------------------------------------------------
  // Presence

  /**
   * Available presence from a device. `via`: the node it was addressed to ("" for C). A device
   * that addresses C itself, or says so (a `<tlim xmlns="im.itonglian.com"/>` in its presence, or
   * a [web]/[ios]/[android] resource), gets envelopes; one that only has `<x>@C` as a roster
   * contact gets readable text. `reported`: the server's tlim module told of it (docs/servers.md);
   * a tlim client known only that way is written for the original plugin and gets its messages
   * from the sender's address in the users' domain.
   */
  available(userId: string, resource: string, p: PresenceInfo): void {
    const known = this.devices.get(userId)?.get(resource);
    const d = known ?? this.add(userId, resource, p.via, p.away, false);
    if (p.reported) d.reported = true;
    else d.direct = true;
    if (p.speaksTlim || (!p.reported && p.via === "")) d.speaksTlim = true;
    if (known?.confirmed) {
      known.away = p.away;
      known.reannounced = Date.now();
      // A device the server bounced pushes for gets them again at its next presence.
      if (known.returned !== null && !known.syncing) this.startSync(known);
      return;
    }
    this.retireRosterDevice(userId);
    d.confirmed = true;
    d.away = p.away;
    if (!p.reported || d.via === "") d.via = p.via;
    d.epoch = this.epoch;
    this.remember(d);
    this.startSync(d);
  }

  /** The devices the server's tlim module says are online (its answer after the link is up). */
  reportedOnline(fullJids: readonly string[]): void {
    for (const j of fullJids) {
      const slash = j.indexOf("/");
      const at = j.indexOf("@");
      if (at < 1 || slash < at) continue;
      const userId = tryAddressId(j.slice(0, at));
      if (userId === null) continue;
      const resource = j.slice(slash + 1);
      this.available(userId, resource, { away: false, via: "", reported: true, speaksTlim: deviceClassOf(resource) !== "other" });
    }
  }

  unavailable(userId: string, resource: string): void {
    const devices = this.devices.get(userId);
    const d = devices?.get(resource);
    if (!d) return;
    // A barrier ping already out still counts when its answer comes after the unavailable (the
    // client answered it after reading what came before it); nothing else of the device does.
    const barrier = d.barrier;
    const inFlight = d.inFlight;
    this.drop(d);
    if (barrier) {
      d.barrier = barrier;
      d.inFlight = inFlight;
    }
    d.confirmed = false;
    d.gone = true;
    devices!.delete(resource);
    if (devices!.size === 0) this.devices.delete(userId);
    // A server may deliver a replaced session's unavailable after the new session's presence for
    // the same resource (ejabberd with XEP-0198, a client binding its resource again): an
    // unavailable that closely follows a second available of an online device is checked with a
    // ping. Otherwise an unavailable (the session ended, or directed unavailable) is final.
    if (Date.now() - d.reannounced < REANNOUNCE_CHECK_MS) {
      const again = this.add(userId, resource, d.via, d.away, false);
      void this.ask(again, this.epoch);
      return;
    }
    this.core.devices.gone(userId, resource);
  }

  private add(userId: string, resource: string, via: string, away: boolean, confirmed: boolean): Device {
    let devices = this.devices.get(userId);
    if (!devices) this.devices.set(userId, (devices = new Map()));
    const bare = resource === "";
    const d: Device = {
      userId, resource, key: bare ? ROSTER_DEVICE : deviceKeyOf(resource), jid: bare ? `${userId}@${this.domains.users}` : `${userId}@${this.domains.users}/${resource}`, via, away, confirmed,
      syncing: false, waiting: [], sentUpTo: 0, inFlight: [], returned: null, acks: false, answersPings: false, noPing: bare,
      barrier: null, barrierTimer: null, epoch: this.epoch, gone: false, reannounced: 0, recent: new Map(),
      speaksTlim: deviceClassOf(resource) !== "other", reported: false, direct: false,
    };
    devices.set(resource, d);
    return d;
  }

  private remember(d: Device): void {
    this.core.devices.seen({ userId: d.userId, resource: d.resource, via: d.via });
  }

  /** Forgets what is in flight (not confirmed: the next sync sends it again). */
  private drop(d: Device): void {
    if (d.barrierTimer) clearTimeout(d.barrierTimer);
    d.barrierTimer = null;
    d.barrier = null;
    d.inFlight = [];
    d.waiting = [];
    d.syncing = false;
    d.sentUpTo = 0;
    d.returned = null;
  }

  // -------------------------------------------------------------------------------------------
  // The link

  /** The link to the server dropped: nothing in flight is confirmed; every device must be
   * re-learned (its presence may have changed meanwhile). */
  linkDown(): void {
    this.online = false;
    this.epoch++;
    for (const devices of this.devices.values()) {
      for (const d of devices.values()) {
        this.drop(d);
        d.confirmed = false;
      }
    }
  }

  /** The link is up (first time, or again): ask every device tlim knew of. */
  linkUp(): void {
    this.online = true;
    this.relearn();
    // With the server's tlim module, the server says who is online (docs/servers.md).
    const epoch = this.epoch;
    void this.link.onlineResources(this.domains.users, 10_000).then((jids) => {
      if (jids && this.epoch === epoch) this.reportedOnline(jids);
    });
  }

  private relearn(): void {
    const probes = new Set<string>();
    for (const devices of this.devices.values()) {
      for (const d of devices.values()) {
        if (d.confirmed) continue;
        if (d.resource === "") {
          // A roster device is the user's bare JID: the server decides; nothing to ask.
          d.confirmed = true;
          d.epoch = this.epoch;
          this.startSync(d);
          continue;
        }
        probes.add(`${d.via}\u0000${d.userId}`);
        void this.ask(d, this.epoch);
      }
    }
    // A user subscribed to `<via>@C` answers a probe with the presence of every resource
    // (RFC 6121 §4.3.2), which then arrives as ordinary available presence.
    for (const p of probes) {
      const [via, userId] = p.split("\u0000") as [string, string];
      const from = via === "" ? this.domains.component : `${via}@${this.domains.component}`;
      this.link.probe(from, `${userId}@${this.domains.users}`).catch(() => {});
    }
  }

  /**
   * Pings a device tlim is not sure of (remembered from before the link came up, or just gone
   * unavailable): an answer from the resource means it is online, and it syncs. The server's
   * service-unavailable means it is gone (RFC 6120 §10.5.3.2): it is forgotten (a client that
   * answers pings that way gets its messages at its next presence instead).
   */
  private async ask(d: Device, epoch: number): Promise<void> {
    const answer = await this.link.ping(d.jid, this.opts.ackGraceMs);
    if (this.epoch !== epoch || this.devices.get(d.userId)?.get(d.resource) !== d || d.confirmed) return;
    if (answer.kind === "result" || (answer.kind === "error" && answer.condition !== "service-unavailable")) {
      this.log.info({ user: d.userId, resource: d.resource }, "device answers: online; syncing");
      d.answersPings = answer.kind === "result";
      this.available(d.userId, d.resource, { away: d.away, via: d.via });
      return;
    }
    if (answer.kind === "error") {
      const devices = this.devices.get(d.userId)!;
      devices.delete(d.resource);
      if (devices.size === 0) this.devices.delete(d.userId);
      this.core.devices.gone(d.userId, d.resource);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Backlog

  private startSync(d: Device): void {
    d.syncing = true;
    d.returned = null;
    void this.sync(d, d.epoch).catch((err) => {
      this.log.warn({ err, user: d.userId }, "backlog not sent; the device gets it at its next presence");
    }).finally(() => {
      if (this.current(d, d.epoch)) this.flushWaiting(d);
    });
  }

  private current(d: Device, epoch: number): boolean {
    return d.epoch === epoch && this.epoch === epoch && this.devices.get(d.userId)?.get(d.resource) === d && d.confirmed;
  }

  /** Everything after the device's cursor, in inbox order, skipping what it was sent already. */
  private async sync(d: Device, epoch: number): Promise<void> {
    const start = await this.core.openDevice(d.userId, d.key);
    if (!this.current(d, epoch)) return;
    // Everything after the cursor goes (again); what was in flight is part of it.
    d.inFlight = [];
    d.sentUpTo = start;
    let sent = 0;
    for await (const page of this.core.backlog(d.userId, start)) {
      for (const item of page) {
        if (!this.current(d, epoch)) return;
        if (item.inboxSeq <= d.sentUpTo) continue;
        this.send(d, item, true);
        sent++;
      }
      // The socket's own pace: wait for the page's bytes to reach the kernel.
      await this.link.sendRaw("");
    }
    if (sent > 0) this.log.debug({ user: d.userId, device: d.key, sent, from: start }, "backlog sent");
  }

  /** After a sync: the live pushes that waited, in order, skipping what the backlog carried. */
  private flushWaiting(d: Device): void {
    d.syncing = false;
    const waiting = d.waiting;
    d.waiting = [];
    for (const item of waiting) if (item.inboxSeq > d.sentUpTo) this.send(d, item, false);
  }

  // -------------------------------------------------------------------------------------------
  // Confirmations

  /**
   * A receipt or marker from a device for a message it was sent: confirms it and everything sent
   * to the device before it. Returns what the message was (for forwarding the receipt), or null
   * when it is not in flight (confirmed already, or sent before the link last came up).
   */
  acknowledged(userId: string, resource: string, msgId: string): { node: string; session: boolean } | null {
    const d = this.devices.get(userId)?.get(resource);
    if (!d) return null;
    // A device that sends receipts is confirmed by them from now on (no more barrier pings).
    d.acks = true;
    const entry = d.inFlight.find((s) => s.msgId === msgId);
    if (!entry) return d.recent.get(msgId) ?? null; // confirmed already (by a barrier, say)
    this.confirm(d, entry.seq);
    return { node: entry.node, session: entry.session };
  }

  /** An error bounce for a push (`resource` "" when it came from the bare JID). */
  bounced(userId: string, resource: string, msgId: string, condition: string, type: string): void {
    const devices = this.devices.get(userId);
    if (!devices) return;
    for (const d of devices.values()) {
      if (resource !== "" && d.resource !== resource) continue;
      const i = d.inFlight.findIndex((s) => s.msgId === msgId);
      if (i < 0) continue;
      const entry = d.inFlight[i]!;
      if (type === "wait" || TRANSIENT_BOUNCES.has(condition)) {
        d.inFlight.splice(i, 1);
        d.returned = Math.min(d.returned ?? entry.seq, entry.seq);
        this.log.info({ user: userId, resource: d.resource, condition, msg_id: msgId }, "push bounced; it stays in the inbox for the device's next sync");
      } else {
        this.log.warn({ user: userId, resource: d.resource, condition, type, msg_id: msgId }, "push refused by the recipient; not sent again");
      }
    }
  }

  /** Confirms everything sent to `d` up to `upTo`; the cursor never passes a bounced push.
   * `grace`: no word from the device, the grace period passed. */
  private confirm(d: Device, upTo: number, grace = false): void {
    let n = 0;
    while (n < d.inFlight.length && (d.inFlight[n]!.seq <= upTo || d.inFlight[n]!.self)) upTo = Math.max(upTo, d.inFlight[n++]!.seq);
    if (n > 0) {
      const done = d.inFlight.splice(0, n);
      const now = Date.now();
      const acked = this.core.metrics.acknowledged;
      const series = grace ? Acked.xmppGrace : Acked.xmppDevice;
      for (const s of done) if (!s.self) acked.observe((now - s.at) / 1000, series);
      // A receipt racing the barrier that confirmed its message still needs the message's
      // conversation (to forward it): while a device is confirmed by barriers, the last RECENT
      // confirmed messages are kept (a device that sends receipts is confirmed by them instead).
      if (!d.acks) {
        for (const s of done) {
          d.recent.set(s.msgId, { node: s.node, session: s.session });
          if (d.recent.size > RECENT) d.recent.delete(d.recent.keys().next().value!);
        }
      }
    }
    const cursor = d.returned === null ? upTo : Math.min(upTo, d.returned - 1);
    if (cursor > 0) this.core.cursors.advance(d.userId, d.key, cursor);
  }

  // -------------------------------------------------------------------------------------------
  // Barriers

  /** Schedules a barrier ping for a device that does not acknowledge, unless one is pending. */
  private armBarrier(d: Device): void {
    if (d.acks || d.barrier || d.barrierTimer) return;
    if (this.barrierDelayMs === 0) {
      // Right behind this turn's pushes (a commit batch's deliveries run synchronously), in the
      // same write: the device reads the ping with them.
      d.barrier = { upTo: -1 };
      queueMicrotask(() => {
        if (d.barrier?.upTo !== -1) return;
        d.barrier = null;
        void this.barrierPing(d, d.epoch);
      });
      return;
    }
    d.barrierTimer = setTimeout(() => {
      d.barrierTimer = null;
      void this.barrierPing(d, d.epoch);
    }, this.barrierDelayMs);
    d.barrierTimer.unref();
  }

  private async barrierPing(d: Device, epoch: number): Promise<void> {
    if (!this.current(d, epoch) || d.inFlight.length === 0 || d.acks) return;
    const upTo = d.sentUpTo;
    d.barrier = { upTo };
    // A device that answers pings with service-unavailable (as RFC 6120 §8.4 makes a client that
    // does not implement XEP-0199 do) is confirmed by the grace period alone.
    const answer: PingAnswer = d.noPing ? await this.graceOf() : await this.link.ping(d.jid, this.opts.ackGraceMs);
    if (this.epoch !== epoch || d.epoch !== epoch || d.barrier?.upTo !== upTo) return;
    d.barrier = null;
    if (answer.kind === "result") {
      d.answersPings = true;
      this.confirm(d, upTo);
    } else if (answer.kind === "error" && answer.condition !== "service-unavailable") {
      this.confirm(d, upTo); // the client answered, after reading what came before the ping
    } else if (answer.kind === "error") {
      // The server's answer for a resource that is gone, or a client without ping: nothing is
      // confirmed now. Gone: its unavailable presence follows. Still here: grace from now on.
      if (!d.gone) d.noPing = true;
    } else if (!d.answersPings && !d.gone) {
      // No answer within the grace period, the link stayed up, nothing bounced: delivered. A
      // device that answered pings before is only slow: keep waiting.
      this.confirm(d, upTo, true);
    }
    if (d.gone) d.inFlight = [];
    else if (d.inFlight.length > 0) this.armBarrier(d);
  }

  private graceOf(): Promise<PingAnswer> {
    return new Promise((r) => setTimeout(() => r({ kind: "timeout" }), this.opts.ackGraceMs).unref());
  }
}
