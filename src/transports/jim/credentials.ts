// Login checks (docs/jim-gateway.md "Identity, login and devices"): a token signed with TLIM_JIM_TOKEN_SECRET,
// or a password checked by the XMPP server itself: a throwaway client authenticates over SASL
// on the server's client port (TLIM_XMPP_C2S, TLS per TLIM_XMPP_C2S_TLS / TLIM_XMPP_C2S_CA:
// c2s-login.ts) and disconnects. Nothing secret is cached. Only the server's refusal of the
// credentials is a refused password: a TLS failure (a certificate not accepted), a server that
// cannot be reached or cannot check are logged and reported as what they are.
//
// Limits (docs/jim-gateway.md "Login limits"), so that tlim is no password-guessing proxy:
// every attempt from a source address counts against TLIM_JIM_LOGIN_PER_ADDRESS, and every
// failed password for a user id against TLIM_JIM_LOGIN_PER_USER (counted when it starts, given
// back when it succeeds, so concurrent guesses cannot overrun it). Over a limit the attempt fails
// without contacting the XMPP server, and one line names the address (never the password).
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { OPTIONS } from "../../config.js";
import { verifyToken } from "../../protocol/jim-token.js";
import { c2sLogin, type C2sOutcome, type C2sTlsMode } from "./c2s-login.js";
import { addressKey, RateLimiter } from "./limits.js";

/** The limits count per minute. */
export const LOGIN_WINDOW_MS = 60_000;
/** Most addresses and user ids each limit remembers at once (limits.ts: bounded memory). */
export const LOGIN_LIMIT_KEYS = 65_536;

export interface CredentialOptions {
  /** Empty: tokens are refused. */
  tokenSecret: string;
  /** xmpp://host:port of the server's c2s port; empty: passwords are refused. */
  c2s: string;
  /** TLS to the c2s port (TLIM_XMPP_C2S_TLS); absent: "verify". */
  c2sTls?: C2sTlsMode;
  /** A PEM file of certificates trusted for the c2s port besides the system's CAs (TLIM_XMPP_C2S_CA); read once, here. */
  c2sCa?: string;
  /** The users' XMPP domain. */
  userDomain: string;
  timeoutMs?: number;
  /** Login attempts per minute from one source address (TLIM_JIM_LOGIN_PER_ADDRESS); 0 = no limit. Absent: the configuration's default. */
  loginPerAddress?: number;
  /** Failed password logins per minute for one user id (TLIM_JIM_LOGIN_PER_USER); 0 = no limit. Absent: the configuration's default. */
  loginPerUser?: number;
}

const configDefault = (key: "jimLoginPerAddress" | "jimLoginPerUser") => OPTIONS[key].schema.parse(undefined) as number;

export type LoginCheck = { ok: true; via: "token" | "password" } | { ok: false; reason: string };

/** One login attempt, its user id already validated and folded (protocol/ids.ts). */
export interface LoginAttempt {
  userId: string;
  /** The user id as the client spelled it (a token may be signed over that spelling). */
  given: string;
  password?: string;
  token?: string;
  /** Source address, from the socket. */
  address: string;
  protocol: string;
}

export class Credentials {
  private readonly perAddress: RateLimiter | null;
  private readonly perUser: RateLimiter | null;
  private readonly caPem: string | undefined;
  /** Attempts per minute per address, failures per minute per user id (0 = no limit). */
  readonly limits: { perAddress: number; perUser: number };

  constructor(
    private readonly opts: CredentialOptions,
    private readonly log: Logger,
    /** Monotonic ms for the limits (tests). */
    now?: () => number,
  ) {
    this.limits = {
      perAddress: opts.loginPerAddress ?? configDefault("jimLoginPerAddress"),
      perUser: opts.loginPerUser ?? configDefault("jimLoginPerUser"),
    };
    const limiter = (limit: number) => (limit > 0 ? new RateLimiter({ limit, windowMs: LOGIN_WINDOW_MS, maxKeys: LOGIN_LIMIT_KEYS, now }) : null);
    this.perAddress = limiter(this.limits.perAddress);
    this.perUser = limiter(this.limits.perUser);
    this.caPem = opts.c2sCa ? readFileSync(opts.c2sCa, "utf8") : undefined;
  }

  /**
   * Counts one login attempt from `address` (every attempt, whatever it holds); false when the
   * address is over TLIM_JIM_LOGIN_PER_ADDRESS: the attempt must fail without any check.
   */
  admit(address: string, protocol: string): boolean {
    if (this.perAddress === null) return true;
    const taken = this.perAddress.take(addressKey(address));
    if (taken === "ok") return true;
    this.overLimit(taken, { address, protocol, limit: "TLIM_JIM_LOGIN_PER_ADDRESS", perMinute: this.limits.perAddress });
    return false;
  }

  /**
   * A non-empty token decides alone (a bad token is not retried as a password); otherwise the
   * password is checked against the XMPP server, unless the user id is over its failure limit.
   */
  async check(a: LoginAttempt): Promise<LoginCheck> {
    const { userId, token, password } = a;
    if (token !== undefined && token.trim() !== "") {
      if (this.opts.tokenSecret === "") return { ok: false, reason: "tokens are not enabled (TLIM_JIM_TOKEN_SECRET is empty)" };
      const now = Math.floor(Date.now() / 1000);
      // Signed over the folded id or over the client's spelling of it: one account either way.
      const valid = verifyToken(this.opts.tokenSecret, userId, token, now) || (a.given !== userId && verifyToken(this.opts.tokenSecret, a.given, token, now));
      return valid ? { ok: true, via: "token" } : { ok: false, reason: "token invalid or expired" };
    }
    if (password === undefined || password === "") return { ok: false, reason: "neither password nor token" };
    if (this.opts.c2s === "") return { ok: false, reason: "password logins are not enabled (TLIM_XMPP_C2S is empty)" };
    if (this.perUser !== null) {
      const taken = this.perUser.take(userId);
      if (taken !== "ok") {
        this.overLimit(taken, { address: a.address, user: userId, protocol: a.protocol, limit: "TLIM_JIM_LOGIN_PER_USER", perMinute: this.limits.perUser });
        return { ok: false, reason: "too many failed logins for this user id" };
      }
    }
    const r = await this.saslLogin(userId, password);
    // Only a refused password counts against the user: anything else gives the attempt back.
    if (r.kind !== "refused") this.perUser?.give(userId);
    switch (r.kind) {
      case "accepted":
        return { ok: true, via: "password" };
      case "refused":
        return { ok: false, reason: "the XMPP server refused the password" };
      case "tls":
        return { ok: false, reason: `TLS with the XMPP server failed: ${r.detail}` };
      case "failed":
        return { ok: false, reason: `the XMPP server could not check the password: ${r.detail}` };
      case "unreachable":
        return { ok: false, reason: "the XMPP server could not be reached" };
    }
  }

  /** One line at the first refusal of a burst (warn), the rest at debug: a flood does not flood the log. */
  private overLimit(taken: "refused" | "refused-again", fields: Record<string, unknown>): void {
    const msg = "j-im login over the limit: refused without asking the XMPP server";
    if (taken === "refused") this.log.warn(fields, msg);
    else this.log.debug(fields, msg);
  }

  /** One SASL login on the server's client port; what went wrong is logged here, once per attempt. */
  private async saslLogin(username: string, password: string): Promise<C2sOutcome> {
    const tls = this.opts.c2sTls ?? "verify";
    const r = await c2sLogin({
      service: this.opts.c2s,
      domain: this.opts.userDomain,
      username,
      password,
      tls: { mode: tls, ...(this.caPem ? { ca: this.caPem } : {}) },
      timeoutMs: this.opts.timeoutMs ?? 10000,
    });
    const where = { service: this.opts.c2s, tls };
    if (r.kind === "tls") {
      const hint = tls === "verify" ? "; trust the server's certificate or CA with TLIM_XMPP_C2S_CA (or TLIM_XMPP_C2S_TLS=insecure)" : "";
      this.log.error({ ...where, err: r.detail, code: r.code }, `password check: TLS with the XMPP server failed, the password was not checked${hint}`);
    } else if (r.kind === "failed") {
      this.log.error({ ...where, err: r.detail }, "password check: the XMPP server could not check the password");
    } else if (r.kind === "unreachable") {
      this.log.warn({ ...where, err: r.detail }, "password check failed to reach the XMPP server");
    }
    return r;
  }
}
