// The J-IM login limits (src/transports/jim/limits.ts, credentials.ts) on an injected clock:
// buckets refill over the window, stale keys are dropped, memory stays bounded under a flood of
// distinct keys, and a password check over a limit never reaches the XMPP server.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { Credentials, LOGIN_WINDOW_MS, type LoginAttempt } from "../../src/transports/jim/credentials.js";
import { addressKey, RateLimiter, remoteAddressOf } from "../../src/transports/jim/limits.js";

function clock(start = 1000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe("RateLimiter", () => {
  it("allows `limit` attempts at once, then refuses (first refusal told apart), and refills over the window", () => {
    const c = clock();
    const l = new RateLimiter({ limit: 3, windowMs: 60_000, maxKeys: 10, now: c.now });
    expect([l.take("a"), l.take("a"), l.take("a")]).toEqual(["ok", "ok", "ok"]);
    expect(l.take("a")).toBe("refused");
    expect(l.take("a")).toBe("refused-again");
    expect(l.take("b")).toBe("ok"); // keys are independent
    c.t += 19_999;
    expect(l.take("a")).toBe("refused-again"); // one attempt refills every 20 s
    c.t += 1;
    expect(l.take("a")).toBe("ok");
    expect(l.take("a")).toBe("refused");
  });

  it("drops a key once its window has passed untouched (its bucket is full again)", () => {
    const c = clock();
    const l = new RateLimiter({ limit: 2, windowMs: 60_000, maxKeys: 10, now: c.now });
    l.take("a");
    l.take("a");
    c.t += 30_000;
    l.take("b");
    expect(l.size).toBe(2);
    c.t += 30_000; // a: a whole window since its last use; b: half
    expect(l.take("c")).toBe("ok");
    expect(l.size).toBe(2); // a dropped, b and c kept
    expect([l.take("a"), l.take("a"), l.take("a")]).toEqual(["ok", "ok", "refused"]);
  });

  it("stays within maxKeys under a flood of distinct keys, dropping the least recently used", () => {
    const c = clock();
    const l = new RateLimiter({ limit: 1, windowMs: 60_000, maxKeys: 100, now: c.now });
    l.take("victim");
    for (let i = 0; i < 10_000; i++) {
      c.t += 1;
      l.take(`flood-${i}`);
      expect(l.size).toBeLessThanOrEqual(100);
    }
    expect(l.evicted).toBe(10_001 - 100);
    c.t += 60_000;
    l.take("late");
    expect(l.size).toBe(1); // everything else was stale
  });

  it("gives an attempt back, never above the limit", () => {
    const c = clock();
    const l = new RateLimiter({ limit: 1, windowMs: 60_000, maxKeys: 10, now: c.now });
    expect(l.take("a")).toBe("ok");
    l.give("a");
    l.give("a");
    expect([l.take("a"), l.take("a")]).toEqual(["ok", "refused"]);
  });
});

describe("addressKey / remoteAddressOf", () => {
  it("keys IPv4 as is, IPv4-mapped IPv6 as its IPv4, IPv6 by its /64", () => {
    expect(addressKey("203.0.113.9")).toBe("203.0.113.9");
    expect(addressKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0::/64");
    expect(addressKey("")).toBe("unknown");
  });

  it("reads a connection's remoteAddress, nothing else", () => {
    expect(remoteAddressOf({ remoteAddress: "198.51.100.1" })).toBe("198.51.100.1");
    expect(remoteAddressOf({ headers: { "x-forwarded-for": "1.2.3.4" } })).toBe("");
  });
});

describe("Credentials limits", () => {
  const log = createLogger("silent");
  type Answer = "accepted" | "refused" | "unreachable" | "tls" | "failed";
  /** Credentials whose SASL check is a stub counting the times the XMPP server would be asked. */
  function credentials(perAddress: number, perUser: number, answer: () => Answer) {
    const c = clock();
    const creds = new Credentials({ tokenSecret: "", c2s: "xmpp://127.0.0.1:1", userDomain: "localhost", loginPerAddress: perAddress, loginPerUser: perUser }, log, c.now);
    const asked = { n: 0 };
    (creds as unknown as { saslLogin: () => Promise<{ kind: Answer; detail?: string }> }).saslLogin = async () => {
      asked.n++;
      return { kind: answer(), detail: "stub" };
    };
    return { creds, asked, c };
  }
  const attempt = (userId: string, password = "pw", address = "192.0.2.1"): LoginAttempt => ({ userId, given: userId, password, address, protocol: "tcp" });

  it("counts every attempt per address, refusing beyond the limit until the window refills", () => {
    const { creds, c } = credentials(2, 0, () => "accepted");
    expect([creds.admit("192.0.2.1", "tcp"), creds.admit("::ffff:192.0.2.1", "ws"), creds.admit("192.0.2.1", "tcp")]).toEqual([true, true, false]);
    expect(creds.admit("192.0.2.2", "tcp")).toBe(true);
    c.t += LOGIN_WINDOW_MS;
    expect(creds.admit("192.0.2.1", "tcp")).toBe(true);
  });

  it("counts failed passwords per user id; over the limit the XMPP server is not asked", async () => {
    const { creds, asked, c } = credentials(0, 2, () => "refused");
    expect((await creds.check(attempt("bob"))).ok).toBe(false);
    expect((await creds.check(attempt("bob", "pw", "198.51.100.7"))).ok).toBe(false);
    expect(asked.n).toBe(2);
    const limited = await creds.check(attempt("bob", "the right one", "203.0.113.5"));
    expect(limited).toEqual({ ok: false, reason: "too many failed logins for this user id" });
    expect(asked.n).toBe(2);
    expect((await creds.check(attempt("alice"))).ok).toBe(false); // another user id
    expect(asked.n).toBe(3);
    c.t += LOGIN_WINDOW_MS / 2; // one failure refilled
    await creds.check(attempt("bob"));
    expect(asked.n).toBe(4);
  });

  it("does not count successes (nor an unreachable server, a TLS failure, a server that could not check) against the user", async () => {
    let answer: Answer = "accepted";
    const { creds, asked } = credentials(0, 2, () => answer);
    for (let i = 0; i < 5; i++) expect((await creds.check(attempt("carol"))).ok).toBe(true);
    for (const a of ["unreachable", "tls", "failed"] as const) {
      answer = a;
      for (let i = 0; i < 5; i++) expect((await creds.check(attempt("carol"))).ok).toBe(false);
    }
    expect(await creds.check(attempt("carol"))).toEqual({ ok: false, reason: "the XMPP server could not check the password: stub" });
    answer = "tls";
    expect(await creds.check(attempt("carol"))).toEqual({ ok: false, reason: "TLS with the XMPP server failed: stub" });
    answer = "refused";
    expect(await creds.check(attempt("carol"))).toEqual({ ok: false, reason: "the XMPP server refused the password" });
    await creds.check(attempt("carol"));
    expect(asked.n).toBe(24);
    await creds.check(attempt("carol"));
    expect(asked.n).toBe(24);
  });

  it("limits nothing with 0", async () => {
    const { creds, asked } = credentials(0, 0, () => "refused");
    for (let i = 0; i < 50; i++) {
      expect(creds.admit("192.0.2.1", "tcp")).toBe(true);
      await creds.check(attempt("dave"));
    }
    expect(asked.n).toBe(50);
  });

  it("logs one line per burst over a limit, with the address and never the password", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const creds = new Credentials({ tokenSecret: "", c2s: "xmpp://127.0.0.1:1", userDomain: "localhost", loginPerAddress: 1, loginPerUser: 1 }, log, () => 0);
    (creds as unknown as { saslLogin: () => Promise<{ kind: string }> }).saslLogin = async () => ({ kind: "refused" });
    creds.admit("198.51.100.20", "tcp");
    for (let i = 0; i < 5; i++) creds.admit("198.51.100.20", "tcp");
    await creds.check({ userId: "erin", given: "erin", password: "s3cret-guess", address: "198.51.100.21", protocol: "ws" });
    for (let i = 0; i < 5; i++) await creds.check({ userId: "erin", given: "erin", password: "s3cret-guess", address: "198.51.100.21", protocol: "ws" });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 40, address: "198.51.100.20", limit: "TLIM_JIM_LOGIN_PER_ADDRESS", perMinute: 1 });
    expect(lines[1]).toMatchObject({ level: 40, address: "198.51.100.21", user: "erin", limit: "TLIM_JIM_LOGIN_PER_USER" });
    expect(JSON.stringify(lines)).not.toContain("s3cret-guess");
  });
});
