// XMPP delivery: live pushes of what is already stored, and the backlog a device gets when it
// comes online (DESIGN §3). All work for one user runs on that user's queue, so a device's
// backlog and the live pushes around it go out in inbox order and nothing is sent twice.
//
// Presence is what the component sees: directed presence to C (or to a <peer>@C contact the
// user subscribed to). Per user, tlim knows one of three things:
//  - online devices: live pushes go to the bare JID as type="chat";
//  - known offline (the last device sent unavailable): nothing is sent; the inbox keeps it;
//  - unknown (never seen since this process connected): the push goes as type="headline", which
//    the server delivers to online resources and discards for offline users (RFC 6121 §8.5.2,
//    Prosody mod_message) instead of storing it offline, because Prosody 0.12's mod_offline
//    ignores XEP-0334 hints and would replay a second copy next to tlim's own backlog.
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import { deviceKeyOf, type DeliverySink } from "../../core/types.js";
import type { InboxItem } from "../../store/types.js";
import { deliveryStanza, type Domains } from "./stanzas.js";

interface Device {
  resource: string;
  key: string;
  /** Sent `<show>` (away, dnd, xa, chat): receives live, but is not online for bookkeeping (spec §1.1). */
  away: boolean;
  /** False until its backlog has been sent. */
  synced: boolean;
  /** Live pushes it received before its backlog went out: the backlog skips them. */
  liveSeen: Set<number>;
  /** Highest backlog seq sent and not yet acknowledged (0 = none): until it is acknowledged,
   * live pushes must not move the cursor past it. */
  unackedUpTo: number;
}

/** How deliveries reach the server: XML text written in call order (XmppLink.sendRaw). */
export interface RawLink {
  sendRaw(text: string): Promise<void>;
  corked(f: () => void): void;
}

export class XmppDelivery implements DeliverySink {
  readonly name = "xmpp";
  private readonly devices = new Map<string, Map<string, Device>>();
  private readonly knownOffline = new Set<string>();
  /** Users with a backlog being sent: their live pushes wait behind it. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly core: ImCore,
    private readonly domains: Domains,
    private readonly link: RawLink,
    private readonly log: Logger,
  ) {}

  /** A commit batch's pushes go out as one socket write. */
  corked(f: () => void): void {
    this.link.corked(f);
  }

  /** Forget all presence (the link to the server was lost; presence may have changed meanwhile). */
  reset(): void {
    this.devices.clear();
    this.knownOffline.clear();
  }

  /** What the component sees of a user (findPresence): "available" when a device is online
   * without `<show>`, "away" when every device has one, else "offline" (spec §3.3). */
  presenceOf(userId: string): "available" | "away" | "offline" {
    const devices = [...(this.devices.get(userId)?.values() ?? [])];
    if (devices.length === 0) return "offline";
    return devices.some((d) => !d.away) ? "available" : "away";
  }

  push(item: InboxItem): void {
    if (this.knownOffline.has(item.userId)) return;
    // Nothing queued for the user (the common case): written now, in commit order, without a
    // promise per push. Behind a backlog being sent: in turn after it.
    if (this.queues.has(item.userId)) this.enqueue(item.userId, async () => this.pushNow(item));
    else this.pushNow(item);
  }

  /** Writes one live push; the socket keeps the order. Cursors move once the bytes are out. */
  private pushNow(item: InboxItem): void {
    const devices = this.devices.get(item.userId);
    if (this.knownOffline.has(item.userId)) return;
    const to = `${item.userId}@${this.domains.users}`;
    const type = devices && devices.size > 0 ? "chat" : "headline";
    const written = this.link.sendRaw(deliveryStanza(this.domains, item, { to, type, delayed: false }));
    if (!devices) {
      written.catch((err) => this.failed(err, item.userId));
      return;
    }
    // A device still receiving its backlog skips what it got live (recorded now, before any
    // later backlog page is read).
    for (const d of devices.values()) if (!d.synced) d.liveSeen.add(item.inboxSeq);
    written.then(() => {
      for (const d of devices.values()) {
        if (d.synced && !d.away && d.unackedUpTo === 0) this.core.cursors.advance(item.userId, d.key, item.inboxSeq);
      }
    }, (err) => this.failed(err, item.userId));
  }

  private failed(err: unknown, userId: string): void {
    // The message stays in the inbox unacknowledged; the device gets it with its next backlog.
    this.log.warn({ err, user: userId }, "delivery failed; kept in the inbox for the next sync");
  }

  /** Available presence from a device. A device that becomes online (for bookkeeping) syncs. */
  available(userId: string, resource: string, away: boolean): void {
    this.knownOffline.delete(userId);
    let devices = this.devices.get(userId);
    if (!devices) this.devices.set(userId, (devices = new Map()));
    const known = devices.get(resource);
    if (known) {
      const cameBack = known.away && !away;
      known.away = away;
      if (cameBack) this.startSync(userId, known);
      return;
    }
    const device: Device = { resource, key: deviceKeyOf(resource), away, synced: false, liveSeen: new Set(), unackedUpTo: 0 };
    devices.set(resource, device);
    if (away) device.synced = true;
    else this.startSync(userId, device);
  }

  unavailable(userId: string, resource: string): void {
    const devices = this.devices.get(userId);
    devices?.delete(resource);
    if (!devices || devices.size === 0) {
      this.devices.delete(userId);
      this.knownOffline.add(userId);
    }
  }

  /** A device acknowledged up to an inbox seq; once that covers its backlog, live pushes count again. */
  acknowledged(userId: string, resource: string, inboxSeq: number): void {
    const d = this.devices.get(userId)?.get(resource);
    if (d && inboxSeq >= d.unackedUpTo) d.unackedUpTo = 0;
  }

  private startSync(userId: string, device: Device): void {
    device.synced = false;
    this.enqueue(userId, () => this.sync(userId, device));
  }

  private async sync(userId: string, device: Device): Promise<void> {
    const to = `${userId}@${this.domains.users}/${device.resource}`;
    const start = await this.core.openDevice(userId, device.key);
    let sent = 0;
    for await (const page of this.core.backlog(userId, start)) {
      for (const item of page) {
        if (this.devices.get(userId)?.get(device.resource) !== device) return; // went away meanwhile
        if (device.liveSeen.has(item.inboxSeq)) continue;
        await this.link.sendRaw(deliveryStanza(this.domains, item, { to, type: "chat", delayed: true }));
        device.unackedUpTo = item.inboxSeq;
        sent++;
      }
    }
    device.synced = true;
    device.liveSeen.clear();
    if (sent > 0) this.log.debug({ user: userId, device: device.key, sent, from: start }, "backlog sent");
  }

  private enqueue(userId: string, task: () => Promise<void>): void {
    const prev = this.queues.get(userId) ?? Promise.resolve();
    const next = prev.then(task).catch((err) => this.failed(err, userId));
    this.queues.set(userId, next);
    void next.then(() => {
      if (this.queues.get(userId) === next) this.queues.delete(userId);
    });
  }
}
