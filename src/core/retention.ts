// Retention (docs/reliability.md "Retention"): every `intervalMs` a round purges what is older
// than each kind's horizon, one small batch (one short transaction) at a time, yielding to the
// event loop between batches, until the store's walk is complete (its cursor comes back null). Rounds never overlap; `stop()` ends the
// current round after its batch in flight. The timer is unref'd: it never keeps the process alive.
import type { Logger } from "pino";
import type { PurgeCursor, PurgeResult, Store } from "../store/types.js";

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** 1:1 conversations: days kept (0 = forever). */
  chatDays: number;
  /** Sessions: days kept (0 = forever). */
  sessionDays: number;
  /** Between the end of one round and the start of the next. */
  intervalMs: number;
  /** Most messages (and inbox entries) per batch. */
  batch: number;
  /** Delay of the first round after start() (default: min(intervalMs, 60 s)). */
  firstDelayMs?: number;
  /** The clock (ms since epoch) the horizons are computed from. */
  now?: () => number;
}

export interface RetentionTotals {
  messages: number;
  inbox: number;
  reads: number;
  batches: number;
}

export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RetentionTotals> | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly store: Pick<Store, "purgeBefore">,
    private readonly opts: RetentionOptions,
    private readonly log: Logger,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Whether anything is ever purged. */
  get enabled(): boolean {
    return this.opts.chatDays > 0 || this.opts.sessionDays > 0;
  }

  start(): void {
    if (!this.enabled || this.stopped) return;
    this.log.info({ chatDays: this.opts.chatDays || "forever", sessionDays: this.opts.sessionDays || "forever", intervalS: this.opts.intervalMs / 1000 }, "retention on");
    this.schedule(this.opts.firstDelayMs ?? Math.min(this.opts.intervalMs, 60_000));
  }

  /**
   * One round: batches until nothing is left before the horizons (or stop()). A round already
   * running is joined, not started again.
   */
  runOnce(): Promise<RetentionTotals> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** No new round or batch; waits for the batch in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce()
        .catch(() => undefined) // logged by round()
        .finally(() => this.schedule(this.opts.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async round(): Promise<RetentionTotals> {
    const t0 = Date.now();
    const started = this.now();
    const chatBefore = this.opts.chatDays > 0 ? started - this.opts.chatDays * DAY_MS : null;
    const sessionBefore = this.opts.sessionDays > 0 ? started - this.opts.sessionDays * DAY_MS : null;
    const totals: RetentionTotals = { messages: 0, inbox: 0, reads: 0, batches: 0 };
    let cursor: PurgeCursor | null = null;
    try {
      while (!this.stopped && (chatBefore !== null || sessionBefore !== null)) {
        const r: PurgeResult = await this.store.purgeBefore({ chatBefore, sessionBefore, limit: this.opts.batch, cursor });
        totals.batches++;
        totals.messages += r.messages;
        totals.inbox += r.inbox;
        totals.reads += r.reads;
        cursor = r.cursor;
        if (cursor === null) break;
        // Between two transactions: let the write path and deliveries run.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.log.warn({ err, ...totals }, "retention purge stopped by an error; the next round walks again from the start");
      throw err;
    }
    const ms = Date.now() - t0;
    if (totals.messages + totals.inbox > 0) this.log.info({ ...totals, ms }, "retention purge");
    else this.log.debug({ ms }, "retention purge: nothing to purge");
    return totals;
  }
}
