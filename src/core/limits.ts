// Per-user load limits (docs/reliability.md "Bounded"): one user cannot queue commits until
// memory runs out or starve everyone else. A token bucket bounds the rate (TLIM_USER_RATE per
// second, bursts of TLIM_USER_BURST) and a counter bounds what is accepted but not yet committed
// (TLIM_USER_INFLIGHT_MAX). Over either, the sender gets error-020 (a wait error) and nothing is
// stored. Memory: one small entry per user active in the last minute.
import { ImError } from "../protocol/errors.js";

export interface LimitOptions {
  /** Messages per second, sustained; 0 = no rate limit. */
  ratePerS: number;
  burst: number;
  inFlightMax: number;
}

interface Bucket {
  tokens: number;
  at: number;
  inFlight: number;
}

/** Entries idle this long (full bucket, nothing in flight) are dropped. */
const IDLE_MS = 60_000;

export class UserLimits {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(
    private readonly opts: LimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes one message's place for `userId`, or throws error-020. The returned function gives
   * the in-flight place back (call it once the message is committed or refused).
   */
  take(userId: string): () => void {
    const now = this.now();
    this.sweep(now);
    let b = this.buckets.get(userId);
    if (!b) this.buckets.set(userId, (b = { tokens: this.opts.burst, at: now, inFlight: 0 }));
    if (this.opts.ratePerS > 0) {
      b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) / 1000) * this.opts.ratePerS);
      b.at = now;
      if (b.tokens < 1) {
        const waitMs = Math.ceil(((1 - b.tokens) / this.opts.ratePerS) * 1000);
        throw ImError.rateLimited(`'${userId}' is sending faster than ${this.opts.ratePerS} messages per second; nothing was stored, send again in ${waitMs} ms`);
      }
    }
    if (b.inFlight >= this.opts.inFlightMax) {
      throw ImError.rateLimited(`'${userId}' has ${b.inFlight} messages waiting to be stored; nothing was stored, send again once they are acknowledged`);
    }
    if (this.opts.ratePerS > 0) b.tokens -= 1;
    b.inFlight++;
    let given = false;
    const bucket = b;
    return () => {
      if (given) return;
      given = true;
      bucket.inFlight--;
    };
  }

  /** Users with an entry (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < IDLE_MS) return;
    this.lastSweep = now;
    for (const [user, b] of this.buckets) {
      if (b.inFlight === 0 && now - b.at >= IDLE_MS) this.buckets.delete(user);
    }
  }
}
