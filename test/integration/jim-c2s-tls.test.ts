// J-IM password checks (TLIM_XMPP_C2S) against a real ejabberd c2s listener that requires
// STARTTLS with a self-signed certificate, as Debian's ejabberd offers it
// (docs/configuration.md "Password checks and TLS"):
//  - verify (the default) does not accept the certificate: logged and reported as a TLS failure,
//    never as a refused password, and not counted against TLIM_JIM_LOGIN_PER_USER;
//  - insecure, or verify with the certificate in TLIM_XMPP_C2S_CA, checks the password (over TLS:
//    the listener accepts nothing else), and a wrong password is still refused;
//  - a CA that did not sign the server's certificate, or a certificate for another name, fails;
//  - xmpps:// (direct TLS, through a TLS-terminating relay) is verified the same way;
//  - an unreachable server is reported as unreachable; a server offering no TLS gets a password in
//    clear text only on a loopback address.
// Then the whole path: tlim's configuration -> the J-IM gateway's login (command 5).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { createServer as createTlsServer } from "node:tls";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Credentials, type CredentialOptions } from "../../src/transports/jim/credentials.js";
import { isLoopbackHost } from "../../src/transports/jim/c2s-login.js";
import { startEjabberd, type EjabberdHandle } from "../support/ejabberd.js";
import { freePort } from "../support/processes.js";
import { jimLogin, JimTcpClient } from "../support/jim-client.js";
import { createDb, startTestTlim, type TestDb } from "../support/tlim.js";

/** A throwaway self-signed certificate for `cn` (no other name, like Debian's): cert.pem, key.pem, and both in one file for ejabberd. */
function selfSigned(dir: string, name: string, cn: string): { cert: string; combined: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${cn}`, "-keyout", key, "-out", cert], { stdio: "ignore" });
  const combined = join(dir, `${name}.pem`);
  writeFileSync(combined, readFileSync(cert, "utf8") + readFileSync(key, "utf8"));
  return { cert, combined };
}

type Line = { level: number; msg: string; [k: string]: unknown };

describe("J-IM password checks over STARTTLS with a self-signed certificate (ejabberd)", () => {
  let dir: string;
  let ej: EjabberdHandle;
  let wrongName: EjabberdHandle;
  let serverCert: string;
  let otherCert: string;
  let db: TestDb;
  const lines: Line[] = [];
  const log = pino({ level: "debug" }, { write: (l: string) => void lines.push(JSON.parse(l)) });

  const credentials = (c2s: string, opts: Partial<CredentialOptions> = {}) =>
    new Credentials({ tokenSecret: "", c2s, userDomain: "localhost", timeoutMs: 5000, loginPerAddress: 0, loginPerUser: 0, ...opts }, log);
  const attempt = (c: Credentials, password: string, userId = "tls1") => c.check({ userId, given: userId, password, address: "127.0.0.1", protocol: "tcp" });
  const logged = async <T>(f: () => Promise<T>): Promise<{ r: T; logs: Line[] }> => {
    const from = lines.length;
    const r = await f();
    return { r, logs: lines.slice(from) };
  };
  const tlsService = () => `xmpp://127.0.0.1:${ej.starttlsPort}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tlim-c2s-tls-"));
    const server = selfSigned(dir, "server", "localhost");
    serverCert = server.cert;
    otherCert = selfSigned(dir, "other", "localhost").cert;
    const elsewhere = selfSigned(dir, "elsewhere", "elsewhere.example");
    [ej, wrongName] = await Promise.all([
      startEjabberd({ users: [["tls1", "pw"], ["tls2", "pw"]], starttlsCertfile: server.combined }),
      startEjabberd({ users: [["tls1", "pw"]], starttlsCertfile: elsewhere.combined }),
    ]);
    db = await createDb("sqlite", "c2stls");
  }, 60_000);

  afterAll(async () => {
    await ej?.stop();
    await wrongName?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("verify (the default): the self-signed certificate is refused, logged and reported as a TLS failure, not as a refused password", async () => {
    const c = credentials(tlsService(), { loginPerUser: 1 });
    for (const password of ["pw", "wrong"]) {
      const { r, logs } = await logged(() => attempt(c, password));
      expect(r.ok).toBe(false);
      const reason = (r as { reason: string }).reason;
      expect(reason).toMatch(/^TLS with the XMPP server failed: self[- ]signed certificate/);
      expect(reason).not.toMatch(/refused the password/);
      const errors = logs.filter((l) => l.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT", service: tlsService(), tls: "verify" });
      expect(errors[0]!.msg).toMatch(/TLS with the XMPP server failed, the password was not checked; trust the server's certificate or CA with TLIM_XMPP_C2S_CA/);
      expect(JSON.stringify(logs)).not.toContain(password === "pw" ? '"pw"' : "wrong");
    }
    // Neither attempt counted as a refused password (the per-user limit is 1).
    expect((await attempt(c, "pw")).ok).toBe(false);
    expect((await attempt(c, "pw")) as { reason: string }).not.toMatchObject({ reason: expect.stringMatching(/too many/) });
  });

  /** The stream features a plain client gets from `port` (before any STARTTLS). */
  const features = (port: number) =>
    new Promise<string>((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => s.write("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"));
      let buf = "";
      const t = setTimeout(() => (s.destroy(), reject(new Error(`no features: ${buf}`))), 5000);
      s.on("data", (d) => {
        buf += d.toString();
        const m = /<stream:features[\s\S]*<\/stream:features>/.exec(buf);
        if (m) (clearTimeout(t), s.destroy(), resolve(m[0]));
      });
      s.on("error", reject);
    });

  it("insecure: the password is checked over TLS, and a wrong one is still refused", async () => {
    // The listener takes nothing but TLS: a check that succeeds there did STARTTLS.
    expect(await features(ej.starttlsPort)).toMatch(/<starttls xmlns=['"]urn:ietf:params:xml:ns:xmpp-tls['"]><required\/><\/starttls>/);
    expect(await features(ej.c2sPort)).not.toContain("starttls");
    const c = credentials(tlsService(), { c2sTls: "insecure" });
    const ok = await logged(() => attempt(c, "pw"));
    expect(ok.r).toEqual({ ok: true, via: "password" });
    expect(ok.logs.filter((l) => l.level >= 40)).toEqual([]);
    expect(await attempt(c, "wrong")).toEqual({ ok: false, reason: "the XMPP server refused the password" });
    expect(await attempt(c, "pw", "nobody")).toEqual({ ok: false, reason: "the XMPP server refused the password" });
  });

  it("verify with the server's certificate in TLIM_XMPP_C2S_CA: the password is checked, a wrong one refused", async () => {
    const c = credentials(tlsService(), { c2sCa: serverCert });
    expect(await attempt(c, "pw")).toEqual({ ok: true, via: "password" });
    expect(await attempt(c, "pw", "tls2")).toEqual({ ok: true, via: "password" });
    expect(await attempt(c, "wrong")).toEqual({ ok: false, reason: "the XMPP server refused the password" });
  });

  it("verify with a CA that did not sign the server's certificate, or a trusted certificate for another name: TLS failures", async () => {
    const other = await attempt(credentials(tlsService(), { c2sCa: otherCert }), "pw");
    expect(other).toMatchObject({ ok: false, reason: expect.stringMatching(/^TLS with the XMPP server failed: /) });
    // wrongName presents CN=elsewhere.example; tlim trusts it but the users' domain is localhost.
    const { r, logs } = await logged(() =>
      attempt(credentials(`xmpp://127.0.0.1:${wrongName.starttlsPort}`, { c2sCa: join(dir, "elsewhere.crt") }), "pw"),
    );
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^TLS with the XMPP server failed: .*localhost/) });
    expect(logs.find((l) => l.level >= 50)).toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  });

  it("xmpps:// (direct TLS): the same verification; insecure or the CA file check the password", async () => {
    // A TLS-terminating relay with the server's certificate in front of the plain c2s listener.
    const relay = createTlsServer({ cert: readFileSync(serverCert), key: readFileSync(join(dir, "server.key")) }, (down) => {
      const up = connect(ej.c2sPort, "127.0.0.1");
      for (const s of [down, up]) s.on("error", () => (down.destroy(), up.destroy()));
      down.pipe(up).pipe(down);
    });
    relay.on("tlsClientError", () => {});
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", () => r()));
    try {
      const direct = `xmpps://127.0.0.1:${(relay.address() as { port: number }).port}`;
      const { r, logs } = await logged(() => attempt(credentials(direct), "pw"));
      expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^TLS with the XMPP server failed: self[- ]signed certificate/) });
      expect(logs.find((l) => l.level >= 50)).toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
      expect(await attempt(credentials(direct, { c2sTls: "insecure" }), "pw")).toEqual({ ok: true, via: "password" });
      expect(await attempt(credentials(direct, { c2sCa: serverCert }), "pw")).toEqual({ ok: true, via: "password" });
      expect(await attempt(credentials(direct, { c2sCa: serverCert }), "wrong")).toEqual({ ok: false, reason: "the XMPP server refused the password" });
    } finally {
      await new Promise((r) => relay.close(r));
    }
  });

  it("an unreachable server is reported as unreachable (a warning), not as a refused password", async () => {
    const port = await freePort();
    const { r, logs } = await logged(() => attempt(credentials(`xmpp://127.0.0.1:${port}`), "pw"));
    expect(r).toEqual({ ok: false, reason: "the XMPP server could not be reached" });
    expect(logs.find((l) => l.level === 40)).toMatchObject({ msg: "password check failed to reach the XMPP server", err: expect.stringContaining("ECONNREFUSED") });
  });

  it("a server offering no TLS gets the password in clear text only on a loopback address (verify), or when insecure", async () => {
    expect(isLoopbackHost("127.0.0.1") && isLoopbackHost("127.3.4.5") && isLoopbackHost("[::1]") && isLoopbackHost("localhost") && isLoopbackHost("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopbackHost("192.0.2.2") || isLoopbackHost("10.0.0.1") || isLoopbackHost("example.com") || isLoopbackHost("[fd00::2]")).toBe(false);
    // The plain listener (starttls: false) on loopback: fine.
    expect(await attempt(credentials(ej.service), "pw")).toEqual({ ok: true, via: "password" });
    // The same listener through this machine's non-loopback address (a TCP relay).
    const address = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    if (!address) throw new Error("this test needs a non-loopback IPv4 address on the machine (none in os.networkInterfaces())");
    const relay: Server = createServer((down) => {
      const up = connect(ej.c2sPort, "127.0.0.1");
      for (const s of [down, up]) s.on("error", () => (down.destroy(), up.destroy()));
      down.pipe(up).pipe(down);
    });
    await new Promise<void>((r) => relay.listen(0, address, () => r()));
    try {
      const remote = `xmpp://${address}:${(relay.address() as { port: number }).port}`;
      const { r, logs } = await logged(() => attempt(credentials(remote), "pw"));
      expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^TLS with the XMPP server failed: the server at .* offers no TLS/) });
      expect(logs.filter((l) => l.level >= 50)).toHaveLength(1);
      expect(await attempt(credentials(remote, { c2sTls: "insecure" }), "pw")).toEqual({ ok: true, via: "password" });
    } finally {
      await new Promise((r) => relay.close(r));
    }
  });

  it("through tlim's configuration and the J-IM gateway: verify refuses the login (10008), insecure and the CA file let it in", async () => {
    for (const [overrides, code] of [
      [{}, 10008],
      [{ xmppC2sTls: "insecure" }, 10007],
      [{ xmppC2sCa: serverCert }, 10007],
    ] as const) {
      const tlim = await startTestTlim(ej, db.url, { xmppC2s: tlsService(), ...overrides });
      try {
        const c = await JimTcpClient.connect(tlim.jimPort);
        try {
          expect((await jimLogin(c, "tls2", { password: "pw" })).json.code, JSON.stringify(overrides)).toBe(code);
        } finally {
          c.close();
        }
      } finally {
        await tlim.stop();
      }
    }
  });
});
