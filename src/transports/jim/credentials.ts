// Login checks (docs/jim-gateway.md "Logging in"): a token signed with TLIM_JIM_TOKEN_SECRET,
// or a password checked by the XMPP server itself: a throwaway client authenticates over SASL
// on the server's client port (TLIM_XMPP_C2S) and disconnects. Nothing secret is cached.
import { client, xml } from "@xmpp/client";
import type { Logger } from "pino";
import { verifyToken } from "../../protocol/jim-token.js";

export interface CredentialOptions {
  /** Empty: tokens are refused. */
  tokenSecret: string;
  /** xmpp://host:port of the server's c2s port; empty: passwords are refused. */
  c2s: string;
  /** The users' XMPP domain. */
  userDomain: string;
  timeoutMs?: number;
}

export type LoginCheck = { ok: true; via: "token" | "password" } | { ok: false; reason: string };

export class Credentials {
  constructor(
    private readonly opts: CredentialOptions,
    private readonly log: Logger,
  ) {}

  /**
   * A non-empty token decides alone (a bad token is not retried as a password); otherwise the
   * password is checked against the XMPP server.
   */
  async check(userId: string, password: string | undefined, token: string | undefined): Promise<LoginCheck> {
    if (token !== undefined && token.trim() !== "") {
      if (this.opts.tokenSecret === "") return { ok: false, reason: "tokens are not enabled (TLIM_JIM_TOKEN_SECRET is empty)" };
      return verifyToken(this.opts.tokenSecret, userId, token, Math.floor(Date.now() / 1000))
        ? { ok: true, via: "token" }
        : { ok: false, reason: "token invalid or expired" };
    }
    if (password === undefined || password === "") return { ok: false, reason: "neither password nor token" };
    if (this.opts.c2s === "") return { ok: false, reason: "password logins are not enabled (TLIM_XMPP_C2S is empty)" };
    return (await this.saslLogin(userId, password)) ? { ok: true, via: "password" } : { ok: false, reason: "the XMPP server refused the password" };
  }

  /** One SASL login on the server's client port; true when the server accepts it. */
  private async saslLogin(username: string, password: string): Promise<boolean> {
    const xmpp = client({
      service: this.opts.c2s,
      domain: this.opts.userDomain,
      resource: `tlim-jim-check-${Math.random().toString(36).slice(2, 10)}`,
      // PLAIN when offered (the server hashes; SCRAM in JS costs a second of CPU), else the first.
      credentials: (auth, mechanisms) => auth({ username, password }, mechanisms.includes("PLAIN") ? "PLAIN" : mechanisms[0]!, xml("user-agent", { id: "tlim-jim" })),
    });
    xmpp.reconnect.stop();
    xmpp.on("error", () => {}); // reported through start()'s rejection
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        xmpp.start(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), this.opts.timeoutMs ?? 10000))),
      ]);
      return true;
    } catch (err) {
      const e = err as { condition?: string; name?: string; message?: string };
      if (e.name !== "SASLError") this.log.warn({ err: e.message, service: this.opts.c2s }, "password check failed to reach the XMPP server");
      return false;
    } finally {
      clearTimeout(timer);
      await Promise.race([xmpp.stop().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
      (xmpp as unknown as { socket?: { destroy?: () => void } | null }).socket?.destroy?.();
    }
  }
}
