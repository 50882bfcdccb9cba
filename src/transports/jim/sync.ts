// Offline bookkeeping of one J-IM device (docs/architecture.md "Reading never deletes").
//
// Writing to the socket proves nothing (docs/protocol.md "Devices"): what this connection was
// given moves the stored cursor only once the device shows it read it — traffic from the device
// after the push (any frame, a WebSocket pong), or, for a device that stays silent, the grace
// period (TLIM_ACK_GRACE_S) on a connection that stayed open. A connection that ends leaves what
// was not confirmed for the next login (cmd 19 offers it again).
//
// At login the device's cursor is read: everything after it is its offline backlog, which a
// J-IM client fetches with cmd 19 type 0 (docs/jim-gateway.md "Offline and history (19 → 20)"). Live pushes and fetched entries are
// remembered until the backlog is covered from the cursor up, so a fetch never repeats a push
// and a push never repeats a fetch; the cursor only moves over entries the device really got,
// so a connection that goes away mid-way leaves the rest for next time.
import { Acked, type FastHistogram } from "../../metrics.js";
import type { InboxItem } from "../../store/types.js";

/** Entries a connection remembers for the committed → acknowledged latency until confirmed. */
const MAX_MEASURED = 4096;

export class DeviceSync {
  /** Every inbox entry up to here was given to the device. */
  private start: number;
  /** True while entries after `start` may exist that the device has not been given. */
  private pending = true;
  /** Entries after `start` already given (pushed or fetched); null while there are none. */
  private given: Set<number> | null = null;

  constructor(
    start: number,
    /** Moves the stored cursor (core.cursors.advance for this user and device); see also CursorSync. */
    private readonly advance: ((seq: number) => void) | null = null,
  ) {
    this.start = start;
  }

  /** The cursor moved to `seq`. */
  protected moved(seq: number): void {
    this.advance?.(seq);
  }

  /** The device showed it read what it was given so far (traffic from it). */
  confirm(): void {}

  /** Entry `seq`, committed at `at` (ms since epoch), was written to the device (pushed or
   * fetched): its committed → acknowledged latency is measured when it is confirmed. */
  handed(_seq: number, _at: number): void {}

  /** What was handed out and is not confirmed yet (as far as it is measured): how many, and the
   * commit time of the oldest (0: none). */
  lag(): { count: number; oldestAt: number } {
    return { count: 0, oldestAt: 0 };
  }

  /** The device showed it read what it was given up to `seq` (the pong to a ping sent then). */
  confirmUpTo(_seq: number): void {}

  /** The highest seq given and not yet confirmed (0: none): what a ping sent now would confirm. */
  get unconfirmedUpTo(): number {
    return 0;
  }

  /** The connection ended: what was not confirmed is left for the next login. */
  end(): void {}

  /** Where a fetch of the backlog starts. */
  get after(): number {
    return this.start;
  }

  /** At login: nothing after the cursor, so live pushes may move it directly. */
  noBacklog(): void {
    if (this.given === null) this.pending = false;
  }

  has(seq: number): boolean {
    return seq <= this.start || (this.given !== null && this.given.has(seq));
  }

  /** A live push (or an entry with nothing to show) reached the device. */
  delivered(seq: number): void {
    if (seq <= this.start) return;
    if (!this.pending) {
      this.start = seq;
      this.moved(seq);
      return;
    }
    (this.given ??= new Set()).add(seq);
  }

  /**
   * A fetch read `items` (ascending, everything after `after` up to some limit, `complete` when
   * nothing more exists) and returned the ones `picked`. Moves the cursor over the covered prefix.
   */
  fetched(items: InboxItem[], picked: InboxItem[], covered: (item: InboxItem) => boolean, complete: boolean): void {
    const given = (this.given ??= new Set());
    for (const item of picked) given.add(item.inboxSeq);
    let to = this.start;
    let all = true;
    for (const item of items) {
      if (item.inboxSeq <= to) continue;
      if (!given.has(item.inboxSeq) && !covered(item)) {
        all = false;
        break;
      }
      to = item.inboxSeq;
    }
    if (all && complete) {
      // The whole backlog is given: later live pushes move the cursor themselves.
      for (const seq of given) to = Math.max(to, seq);
      this.given = null;
      this.pending = false;
    } else {
      for (const seq of given) if (seq <= to) given.delete(seq);
      if (given.size === 0) this.given = null;
    }
    if (to > this.start) {
      this.start = to;
      this.moved(to);
    }
  }
}

/**
 * A DeviceSync that moves its user's stored cursor itself (no closure per connection), once the
 * device confirmed what it was given (see the top of this file).
 */
export class CursorSync extends DeviceSync {
  /** Highest seq given and not yet confirmed (0: none). */
  private unconfirmed = 0;
  private grace: NodeJS.Timeout | null = null;
  /** (seq, commit time) pairs handed to the device and not confirmed yet; null while none. */
  private handedOut: number[] | null = null;

  constructor(
    start: number,
    private readonly cursors: { advance(userId: string, device: string, seq: number): void },
    private readonly userId: string,
    private readonly device: string,
    private readonly graceMs: number,
    /** Asks the wire for a confirmation (a WebSocket ping); called once per unconfirmed run. */
    private readonly barrier: (() => void) | null = null,
    /** tlim_message_ack_latency_seconds (src/metrics.ts); null: not measured. */
    private readonly acks: FastHistogram | null = null,
  ) {
    super(start);
  }

  protected override moved(seq: number): void {
    this.unconfirmed = Math.max(this.unconfirmed, seq);
    if (this.grace === null) {
      if (this.barrier) setImmediate(this.barrier); // behind this turn's pushes
      this.grace = setTimeout(() => {
        this.grace = null;
        this.confirmAll(true);
      }, this.graceMs);
      this.grace.unref();
    }
  }

  override get unconfirmedUpTo(): number {
    return this.unconfirmed;
  }

  override confirmUpTo(seq: number): void {
    if (seq >= this.unconfirmed) return this.confirm();
    if (seq > 0) {
      this.cursors.advance(this.userId, this.device, seq); // the rest keeps its grace
      this.measure(seq, false);
    }
  }

  override confirm(): void {
    this.confirmAll(false);
  }

  /** `grace`: the grace period passed with no word from the device. */
  private confirmAll(grace: boolean): void {
    if (this.grace !== null) clearTimeout(this.grace);
    this.grace = null;
    if (this.unconfirmed === 0) return;
    const seq = this.unconfirmed;
    this.unconfirmed = 0;
    this.cursors.advance(this.userId, this.device, seq);
    this.measure(seq, grace);
  }

  override lag(): { count: number; oldestAt: number } {
    const h = this.handedOut;
    if (h === null) return { count: 0, oldestAt: 0 };
    let oldestAt = h[1]!;
    for (let i = 3; i < h.length; i += 2) if (h[i]! < oldestAt) oldestAt = h[i]!;
    return { count: h.length / 2, oldestAt };
  }

  override handed(seq: number, at: number): void {
    if (this.acks === null) return;
    const h = (this.handedOut ??= []);
    if (h.length < 2 * MAX_MEASURED) h.push(seq, at);
  }

  /** Observes the latency of what was handed out up to `upTo`, and forgets it. */
  private measure(upTo: number, grace: boolean): void {
    const h = this.handedOut;
    if (h === null) return;
    const now = Date.now();
    const series = grace ? Acked.jimGrace : Acked.jimDevice;
    let kept = 0;
    for (let i = 0; i < h.length; i += 2) {
      if (h[i]! <= upTo) this.acks!.observe((now - h[i + 1]!) / 1000, series);
      else {
        h[kept++] = h[i]!;
        h[kept++] = h[i + 1]!;
      }
    }
    h.length = kept;
    if (kept === 0) this.handedOut = null;
  }

  override end(): void {
    if (this.grace !== null) clearTimeout(this.grace);
    this.grace = null;
    this.unconfirmed = 0;
    this.handedOut = null;
  }
}
