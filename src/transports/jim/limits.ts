// Login limits of the J-IM gateway (docs/jim-gateway.md "Login limits"): a password login makes
// tlim open a SASL connection to the XMPP server, so without a limit the gateway would be a
// password-guessing proxy that hides the guesser's address. Pure: the clock is injected.
//
// RateLimiter is a token bucket per key: `limit` attempts at once, refilled at `limit` per
// window. Memory is bounded: a key whose bucket is full again (untouched for a whole window) is
// the same as an absent key and is dropped; beyond `maxKeys` keys the least recently used one is
// dropped (its next attempt starts a fresh bucket), so a flood of distinct addresses or user ids
// cannot grow memory without bound.

/** What a take answered: allowed, refused (the first refusal since the key was last allowed), refused again. */
export type Take = "ok" | "refused" | "refused-again";

export interface RateLimiterOptions {
  /** Attempts per window; the bucket's size. */
  limit: number;
  windowMs: number;
  /** Most keys remembered at once. */
  maxKeys: number;
  /** Monotonic milliseconds. */
  now?: () => number;
}

interface Bucket {
  /** Attempts left as of `at`. */
  tokens: number;
  at: number;
  /** Refused since it was last allowed (one log line per burst, not one per attempt). */
  refused: boolean;
}

/** Floating-point slack of the refill (60000 / 7 per attempt is not exact). */
const EPSILON = 1e-9;

export class RateLimiter {
  /** In order of last use (a use moves the key to the end), so the stale ones are at the front. */
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly now: () => number;
  /** Keys dropped to stay within maxKeys (not because they were stale). */
  evicted = 0;

  constructor(private readonly opts: RateLimiterOptions) {
    if (!(opts.limit > 0) || !(opts.windowMs > 0) || !(opts.maxKeys > 0)) throw new RangeError("limit, windowMs and maxKeys must be positive");
    this.rate = opts.limit / opts.windowMs;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Keys remembered. */
  get size(): number {
    return this.buckets.size;
  }

  /** One attempt for `key`. */
  take(key: string): Take {
    const now = this.now();
    this.prune(now);
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(this.opts.limit, b.tokens + (now - b.at) * this.rate);
    } else {
      if (this.buckets.size >= this.opts.maxKeys) this.evictOldest();
      b = { tokens: this.opts.limit, at: now, refused: false };
    }
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1 - EPSILON) {
      b.tokens = Math.max(0, b.tokens - 1);
      b.refused = false;
      return "ok";
    }
    const first = !b.refused;
    b.refused = true;
    return first ? "refused" : "refused-again";
  }

  /** Gives back the attempt a take counted (an attempt that turned out not to count). */
  give(key: string): void {
    const b = this.buckets.get(key);
    if (b) b.tokens = Math.min(this.opts.limit, b.tokens + 1);
  }

  /** Drops the keys untouched for a whole window (their buckets are full again). */
  prune(now = this.now()): void {
    for (const [key, b] of this.buckets) {
      if (now - b.at < this.opts.windowMs) break;
      this.buckets.delete(key);
    }
  }

  private evictOldest(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) {
      this.buckets.delete(oldest.value);
      this.evicted++;
    }
  }
}

/**
 * The key of a source address: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4), IPv6 by its
 * /64 (one subscriber's network: a single host can use any address in it), "unknown" without one.
 */
export function addressKey(address: string): string {
  if (address === "") return "unknown";
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(":")) return address;
  const groups = expandIpv6(address.replace(/%.*$/, ""));
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : address;
}

/** The eight groups of an IPv6 address (lowercase, no leading zeros), or null when it is not one. */
function expandIpv6(address: string): string[] | null {
  const halves = address.toLowerCase().split("::");
  if (halves.length > 2) return null;
  const part = (s: string) => (s === "" ? [] : s.split(":"));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  // An embedded IPv4 address (…:1.2.3.4) is the last two groups.
  const last = tail.length > 0 ? tail : head;
  if (last.length > 0 && last[last.length - 1]!.includes(".")) last.splice(last.length - 1, 1, "0", "0");
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ""));
}

/** The peer address of a connection that has one (TCP and WebSocket connections, from the socket). */
export function remoteAddressOf(conn: object): string {
  const address = (conn as { remoteAddress?: unknown }).remoteAddress;
  return typeof address === "string" ? address : "";
}
