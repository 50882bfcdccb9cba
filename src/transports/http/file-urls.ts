// Signed, expiring file URLs (docs/http-api.md "Credentials"): what tlim hands to end users'
// clients with a message or an upload, so that a browser or a phone downloads a file without ever
// holding the API secret.
//
//   <base>/plugins/tlim/file/<fileId>?exp=<unix seconds>&sig=<base64url HMAC-SHA256(key, "<fileId>.<exp>")>
//
// The URL names one file and stops working at `exp`; anyone holding it may fetch that file until
// then (as anyone holding the message could). The key is TLIM_FILE_URL_SECRET, else derived from
// TLIM_API_SECRET with HKDF-SHA256 (RFC 5869), so URLs stay valid across restarts and between
// instances sharing the secret; with neither, a random key per start.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

/** The path prefix of signed file URLs, under the HTTP API. */
export const FILE_URL_PATH = "/plugins/tlim/file/";

// tlim's file ids and the references naming one, kept here for the modules importing them from here.
export { TLIM_FILE_ID, tlimFileIdOf } from "../../protocol/file-ids.js";

export interface FileUrlOptions {
  /** TLIM_FILE_URL_SECRET ("" = derive from apiSecret). */
  secret: string;
  /** TLIM_API_SECRET ("" = none). */
  apiSecret: string;
  /** TLIM_FILE_URL_TTL_S. */
  ttlS: number;
  /** TLIM_FILE_URL_BASE: put in front of the path ("" = a path relative to the HTTP API). */
  base?: string;
}

/** Where the key came from (logged at start, never the key). */
export type KeySource = "TLIM_FILE_URL_SECRET" | "TLIM_API_SECRET" | "random";

export type FileUrlCheck = { ok: true } | { ok: false; reason: string };

export class FileUrlSigner {
  readonly #key: Buffer;
  readonly keySource: KeySource;
  readonly ttlS: number;
  readonly base: string;

  /** URLs signed for the current second's expiry. */
  readonly #cache = new Map<string, string>();
  #cacheExp = -1;

  constructor(opts: FileUrlOptions) {
    if (opts.secret !== "") {
      this.#key = Buffer.from(opts.secret, "utf8");
      this.keySource = "TLIM_FILE_URL_SECRET";
    } else if (opts.apiSecret !== "") {
      // A key of its own, not the API secret itself: a leaked URL key never opens the API.
      this.#key = Buffer.from(hkdfSync("sha256", opts.apiSecret, "tlim", "tlim file url v1", 32));
      this.keySource = "TLIM_API_SECRET";
    } else {
      this.#key = randomBytes(32);
      this.keySource = "random";
    }
    this.ttlS = opts.ttlS;
    this.base = opts.base ?? "";
  }

  private sign(fileId: string, exp: number): Buffer {
    return createHmac("sha256", this.#key).update(`${fileId}.${exp}`).digest();
  }

  /** A URL for the file valid for ttlS seconds from `nowMs`. */
  url(fileId: string, nowMs = Date.now()): string {
    const exp = Math.floor(nowMs / 1000) + this.ttlS;
    // A file message to a session goes to every member's devices in the same second: one HMAC.
    if (exp !== this.#cacheExp) {
      this.#cache.clear();
      this.#cacheExp = exp;
    }
    let url = this.#cache.get(fileId);
    if (url === undefined) {
      url = `${this.base}${FILE_URL_PATH}${fileId}?exp=${exp}&sig=${this.sign(fileId, exp).toString("base64url")}`;
      if (this.#cache.size < 1000) this.#cache.set(fileId, url);
    }
    return url;
  }

  /** Checks a URL's parts; the reason is readable and never echoes the signature. */
  verify(fileId: string, exp: string | undefined, sig: string | undefined, nowMs = Date.now()): FileUrlCheck {
    if (!exp || !sig) return { ok: false, reason: "the file URL is not signed: it needs exp= and sig= (ask tlim for a new URL)" };
    if (!/^\d{1,12}$/.test(exp)) return { ok: false, reason: "exp must be a Unix time in seconds" };
    const given = /^[A-Za-z0-9_-]{43}$/.test(sig) ? Buffer.from(sig, "base64url") : null;
    // Compared in constant time; a wrong length or alphabet compares against zeros all the same.
    const expected = this.sign(fileId, Number(exp));
    const same = timingSafeEqual(given ?? Buffer.alloc(expected.length), expected) && given !== null;
    if (!same) return { ok: false, reason: "the file URL's signature is wrong (altered, or signed with another key)" };
    if (Number(exp) * 1000 < nowMs) return { ok: false, reason: `the file URL expired at ${new Date(Number(exp) * 1000).toISOString()} (ask tlim for a new one)` };
    return { ok: true };
  }
}
