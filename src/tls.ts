// The certificate and key tlim's listeners present (HTTPS for the HTTP API, TLS/WSS on the J-IM
// port; docs/configuration.md "TLS"), read from PEM files and reloadable while tlim runs.
//
// A reload (SIGHUP, or a change of the files seen by the optional watch) reads both files again
// and builds a new secure context; only a certificate and key that load, match each other and
// parse replace the current ones. Anything else is logged as an error and the running context
// stays: a half-written file or a key from another certificate never takes a listener down.
// The new context is used by connections that start after the reload; connections already up
// keep the session they negotiated.
import { readFileSync, unwatchFile, watchFile, type Stats } from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Logger } from "pino";

export interface TlsFiles {
  /** PEM: the server certificate, optionally followed by its CA chain. */
  cert: string;
  /** PEM: the certificate's private key (unencrypted). */
  key: string;
}

/** What the log says of a certificate (never the key). */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  altNames: string;
  validFrom: string;
  validTo: string;
  /** SHA-256 fingerprint, colon-separated hex (as `openssl x509 -fingerprint -sha256`). */
  fingerprint256: string;
}

export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsConfigError";
  }
}

interface Loaded {
  context: SecureContext;
  pem: { cert: Buffer; key: Buffer };
  info: CertificateInfo;
}

/** Reads and checks a certificate and key; throws a TlsConfigError that says what is wrong. */
export function loadTls(files: TlsFiles): Loaded {
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TlsConfigError(`cannot read the TLS ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const cert = read(files.cert, "certificate");
  const key = read(files.key, "key");
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert); // the first certificate of the file: the server's own
  } catch (err) {
    throw new TlsConfigError(`${files.cert} holds no PEM certificate: ${(err as Error).message}`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new TlsConfigError(`the key in ${files.key} does not belong to the certificate in ${files.cert}`);
  } catch (err) {
    if (err instanceof TlsConfigError) throw err;
    throw new TlsConfigError(`${files.key} holds no usable PEM private key: ${(err as Error).message}`);
  }
  let context: SecureContext;
  try {
    context = createSecureContext({ cert, key });
  } catch (err) {
    throw new TlsConfigError(`the certificate ${files.cert} and key ${files.key} cannot be used: ${(err as Error).message}`);
  }
  return {
    context,
    pem: { cert, key },
    info: {
      subject: x509.subject.replace(/\n/g, ", "),
      issuer: x509.issuer.replace(/\n/g, ", "),
      altNames: x509.subjectAltName ?? "",
      validFrom: new Date(x509.validFrom).toISOString(),
      validTo: new Date(x509.validTo).toISOString(),
      fingerprint256: x509.fingerprint256,
    },
  };
}

export type ReloadResult = { ok: true; info: CertificateInfo } | { ok: false; error: string };

/** The current certificate and key, shared by every TLS listener. */
export class TlsCredentials {
  #loaded: Loaded;
  readonly #listeners = new Set<(pem: { cert: Buffer; key: Buffer }) => void>();
  #watching = false;
  readonly #onFileChange = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
    this.reload("file change");
  };

  /** Loads the files now: throws a TlsConfigError when they are unusable (tlim does not start). */
  constructor(
    readonly files: TlsFiles,
    private readonly log: Logger,
  ) {
    this.#loaded = loadTls(files);
    this.logLoaded("tls certificate loaded");
  }

  /** The secure context for a connection starting now. */
  get context(): SecureContext {
    return this.#loaded.context;
  }

  get pem(): { cert: Buffer; key: Buffer } {
    return this.#loaded.pem;
  }

  get info(): CertificateInfo {
    return this.#loaded.info;
  }

  /** Called after every successful reload (an HTTPS server's setSecureContext). */
  onReload(listener: (pem: { cert: Buffer; key: Buffer }) => void): void {
    this.#listeners.add(listener);
  }

  /** Reads the files again; keeps the current certificate when they are unusable. Never throws. */
  reload(reason = "reload"): ReloadResult {
    let next: Loaded;
    try {
      next = loadTls(this.files);
    } catch (err) {
      const error = err instanceof TlsConfigError ? err.message : `unexpected failure: ${(err as Error).message}`;
      this.log.error({ reason, error, kept: this.#loaded.info.fingerprint256 }, "tls certificate NOT reloaded: the current one stays in use");
      return { ok: false, error };
    }
    if (next.info.fingerprint256 === this.#loaded.info.fingerprint256 && next.pem.key.equals(this.#loaded.pem.key)) {
      this.log.info({ reason, fingerprint256: next.info.fingerprint256 }, "tls certificate unchanged");
      return { ok: true, info: next.info };
    }
    for (const listener of this.#listeners) {
      try {
        listener(next.pem);
      } catch (err) {
        this.log.error({ reason, error: (err as Error).message }, "tls certificate NOT reloaded: a listener refused it; the current one stays in use");
        for (const l of this.#listeners) {
          try {
            l(this.#loaded.pem);
          } catch {
            // it was in use a moment ago
          }
        }
        return { ok: false, error: (err as Error).message };
      }
    }
    this.#loaded = next;
    this.logLoaded("tls certificate reloaded", reason);
    return { ok: true, info: next.info };
  }

  /** Checks the files' modification every `intervalS` seconds and reloads on a change (0 = never).
   * Polling (fs.watchFile) follows a file replaced by a rename or a symlink switch, as
   * certificate tools do, where an inotify watch on the old inode would go quiet. */
  watch(intervalS: number): void {
    if (intervalS <= 0 || this.#watching) return;
    this.#watching = true;
    for (const f of new Set([this.files.cert, this.files.key])) watchFile(f, { interval: intervalS * 1000, persistent: false }, this.#onFileChange);
  }

  close(): void {
    if (!this.#watching) return;
    this.#watching = false;
    for (const f of new Set([this.files.cert, this.files.key])) unwatchFile(f, this.#onFileChange);
  }

  private logLoaded(msg: string, reason?: string): void {
    const i = this.#loaded.info;
    const daysLeft = Math.floor((Date.parse(i.validTo) - Date.now()) / 86_400_000);
    const fields = { ...(reason ? { reason } : {}), subject: i.subject, altNames: i.altNames, issuer: i.issuer, validTo: i.validTo, daysLeft, fingerprint256: i.fingerprint256 };
    if (daysLeft < 0) this.log.error(fields, `${msg}: the certificate has EXPIRED`);
    else if (daysLeft < 14) this.log.warn(fields, `${msg}: the certificate expires in ${daysLeft} days`);
    else this.log.info(fields, msg);
  }
}
