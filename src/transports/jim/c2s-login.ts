// One SASL login on the XMPP server's client port (TLIM_XMPP_C2S) for the J-IM password check
// (credentials.ts), with TLS as configured (TLIM_XMPP_C2S_TLS, TLIM_XMPP_C2S_CA) and an outcome
// that says what happened: a refused password is only ever the server's SASL <failure/> about the
// credentials, never a certificate that was not accepted or a server that did not answer.
//
// The client is built from xmpp.js 0.14's own parts, as @xmpp/client's client() builds it,
// because client() cannot pass TLS options: its STARTTLS handler calls tls.connect() with the
// domain only, so a self-signed certificate (Debian's ejabberd) could neither be trusted nor be
// told apart from a refused password. Only what a password check needs: STARTTLS, SASL (PLAIN
// when offered, else SCRAM-SHA-1), no resource binding (SASL <success/> is the answer).
//
// TLS (docs/configuration.md):
//  - verify (default): STARTTLS whenever the server offers it, or xmpps:// (direct TLS); the
//    certificate must be valid for the users' domain, signed by a system CA or by one in
//    TLIM_XMPP_C2S_CA (which may be the server's self-signed certificate itself). A server that
//    offers no TLS gets the password in clear text only on a loopback address.
//  - insecure: TLS when offered, the certificate not checked; clear text when not offered.
import { isIP } from "node:net";
import { rootCertificates } from "node:tls";
import { Client, xml } from "@xmpp/client-core";
import middlewareOf from "@xmpp/middleware";
import saslOf from "@xmpp/sasl";
import plain from "@xmpp/sasl-plain";
import scramsha1 from "@xmpp/sasl-scram-sha-1";
import { canUpgrade, upgrade } from "@xmpp/starttls/starttls.js";
import streamFeaturesOf from "@xmpp/stream-features";
import tcp from "@xmpp/tcp";
import ConnectionTLS from "@xmpp/tls/lib/Connection.js";
import SASLFactory from "saslmechanisms";

const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";

export type C2sTlsMode = "verify" | "insecure";

export interface C2sTls {
  mode: C2sTlsMode;
  /** PEM certificate(s) trusted in addition to the system's CAs (verify only). */
  ca?: string;
}

export type C2sOutcome =
  | { kind: "accepted" }
  /** The server's SASL <failure/> about the credentials (not-authorized, account-disabled, credentials-expired). */
  | { kind: "refused"; condition: string }
  /** TLS could not be set up: certificate not accepted, handshake failed, or no TLS where it is required. */
  | { kind: "tls"; detail: string; code?: string }
  /** The server answered, but the password could not be checked (another SASL failure, no usable mechanism, a stream error). */
  | { kind: "failed"; detail: string }
  /** No connection, or no answer in time. */
  | { kind: "unreachable"; detail: string };

/** SASL failures (RFC 6120 §6.5) that are about the credentials themselves. */
const REFUSED = new Set(["not-authorized", "account-disabled", "credentials-expired"]);

/** OpenSSL's certificate verification errors as Node reports them (err.code). */
const CERT_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "CERT_SIGNATURE_FAILURE", "CERT_REVOKED",
  "CERT_UNTRUSTED", "CERT_REJECTED", "CERT_CHAIN_TOO_LONG", "INVALID_CA", "INVALID_PURPOSE", "PATH_LENGTH_EXCEEDED",
  "HOSTNAME_MISMATCH", "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** An error of the TLS layer, raised or recognised here. */
class C2sTlsError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = "C2sTlsError";
  }
}

function asTlsError(err: unknown): C2sTlsError | null {
  if (err instanceof C2sTlsError) return err;
  const e = err as { code?: unknown; library?: unknown; message?: string };
  const code = typeof e?.code === "string" ? e.code : undefined;
  if ((code && (CERT_CODES.has(code) || /^ERR_(TLS|SSL)_/.test(code) || code === "EPROTO")) || e?.library === "SSL routines")
    return new C2sTlsError(e.message ?? String(err), code);
  return null;
}

/** A host name of the loopback interface (where clear text never leaves the machine). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase().replace(/^::ffff:(?=\d+\.)/, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** What tls.connect() gets besides the socket or address. */
function tlsOptions(domain: string, tls: C2sTls): Record<string, unknown> {
  // The certificate must name the XMPP domain (RFC 6120 §13.7.2.1), not the address dialled.
  const name = isIP(domain) ? { host: domain } : { host: domain, servername: domain };
  if (tls.mode === "insecure") return { ...name, rejectUnauthorized: false };
  // `ca` replaces Node's default list: keep the system's CAs and add the configured ones.
  return { ...name, rejectUnauthorized: true, ...(tls.ca ? { ca: [...rootCertificates, tls.ca] } : {}) };
}

export interface C2sLoginOptions {
  /** xmpp://host:port (STARTTLS when offered) or xmpps://host:port (direct TLS). */
  service: string;
  /** The users' domain: the stream's `to`, the SASL realm, the name the certificate must carry. */
  domain: string;
  username: string;
  password: string;
  tls: C2sTls;
  timeoutMs: number;
}

export async function c2sLogin(o: C2sLoginOptions): Promise<C2sOutcome> {
  const tlsOpts = tlsOptions(o.domain, o.tls);
  const serviceHost = new URL(o.service).hostname;

  const entity = new Client({ service: o.service, domain: o.domain });
  tcp({ entity });
  // Direct TLS (xmpps://) with the same options; the dialled host stays the address.
  class DirectTls extends ConnectionTLS {
    override socketParameters(service: string) {
      const p = super.socketParameters(service);
      return p && { ...tlsOpts, ...p };
    }
  }
  (entity.transports as unknown[]).push(DirectTls);
  const middleware = middlewareOf({ entity });
  const streamFeatures = streamFeaturesOf({ middleware });

  // STARTTLS (RFC 6120 §5), as @xmpp/starttls does it, with the TLS options.
  streamFeatures.use("starttls", NS_TLS, async ({ entity: e }, next) => {
    if (!canUpgrade(e.socket)) return next(); // already TLS (xmpps://)
    let secured: unknown;
    try {
      const answer = await e.sendReceive(xml("starttls", { xmlns: NS_TLS }));
      if (!answer.is("proceed", NS_TLS)) throw new C2sTlsError(`the server answered STARTTLS with <${answer.name}/>`);
      secured = await upgrade(e.socket, tlsOpts);
    } catch (err) {
      throw asTlsError(err) ?? err;
    }
    (e as unknown as { _attachSocket(s: unknown): void })._attachSocket(secured);
    await e.restart();
  });

  let authenticated!: () => void;
  const accepted = new Promise<void>((resolve) => (authenticated = resolve));
  const saslFactory = new SASLFactory();
  scramsha1(saslFactory);
  plain(saslFactory);
  // @types/xmpp__sasl describes 0.13's callback; 0.14 passes (authenticate(credentials, mechanism), mechanisms).
  type OnAuthenticate = (authenticate: (c: { username: string; password: string }, mechanism: string) => Promise<void>, mechanisms: string[]) => Promise<void>;
  const onAuthenticate: OnAuthenticate = async (authenticate, mechanisms) => {
    if (!entity.isSecure() && o.tls.mode === "verify" && !isLoopbackHost(serviceHost))
      throw new C2sTlsError(`the server at ${serviceHost} offers no TLS: passwords are sent in clear text only to a loopback address (TLIM_XMPP_C2S_TLS=insecure allows it)`);
    // PLAIN when offered (the server hashes; SCRAM in JS costs a second of CPU), else the first.
    await authenticate({ username: o.username, password: o.password }, mechanisms.includes("PLAIN") ? "PLAIN" : mechanisms[0]!);
    authenticated();
  };
  saslOf({ streamFeatures, saslFactory: saslFactory as never }, onAuthenticate as never);

  // xmpp.js 0.14 drops its parser when the stream closes but keeps reading the socket: data that
  // still arrives would reach _onData with no parser and throw from a socket event (an uncaught
  // exception). It belongs to a stream that is over: drop it. Set before start() binds it.
  const conn = entity as unknown as { parser: unknown; _onData(data: Buffer): void };
  const onData = conn._onData;
  conn._onData = function (this: typeof conn, data: Buffer) {
    if (this.parser) onData.call(this, data);
  };
  entity.on("error", () => {}); // reported through start()'s rejection
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      // Without resource binding start() never resolves: it only rejects (stream, TLS, SASL errors).
      entity.start(),
      accepted,
      new Promise((_, reject) => (timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${o.timeoutMs} ms`), { code: "TIMEOUT" })), o.timeoutMs))),
    ]);
    return { kind: "accepted" };
  } catch (err) {
    return classify(err);
  } finally {
    clearTimeout(timer);
    await Promise.race([entity.stop().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    (entity as unknown as { socket?: { destroy?: () => void; socket?: { destroy?: () => void } } | null }).socket?.socket?.destroy?.();
    (entity as unknown as { socket?: { destroy?: () => void } | null }).socket?.destroy?.();
  }
}

function classify(err: unknown): C2sOutcome {
  const tls = asTlsError(err);
  if (tls) return { kind: "tls", detail: tls.message, ...(tls.code ? { code: tls.code } : {}) };
  const e = err as { name?: string; condition?: string; text?: string; element?: unknown; message?: string; code?: string };
  if (e?.name === "SASLError") {
    // With `element`: the server's <failure/>; without: raised by the client (no usable mechanism).
    if (e.element && e.condition && REFUSED.has(e.condition)) return { kind: "refused", condition: e.condition };
    return { kind: "failed", detail: e.element ? `SASL failure <${e.condition}/>${e.text ? ` '${e.text}'` : ""}` : String(e.message) };
  }
  if (e?.name === "StreamError") return { kind: "failed", detail: `stream error <${e.condition}/>${e.text ? ` '${e.text}'` : ""}` };
  return { kind: "unreachable", detail: [e?.code, e?.message ?? String(err)].filter(Boolean).join(": ") };
}
