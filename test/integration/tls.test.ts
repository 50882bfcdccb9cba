// TLS on tlim's own listeners (docs/configuration.md "TLS"), with a throwaway CA made by openssl:
// HTTPS on the HTTP API, J-IM TCP framing over TLS, WSS and HTTPS on the J-IM port (sniffed on the
// one port), plaintext still served with TLIM_JIM_TLS=optional and refused with `on`; failed
// handshakes and garbage end their connection and nothing else; a certificate replaced on disk
// and SIGHUP: new connections get the new certificate while a connection already up keeps working,
// and a broken file keeps the old certificate.
import { spawn } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { signToken } from "../../src/protocol/jim-token.js";
import { JimGateway } from "../../src/transports/jim/index.js";
import { jimLogin, JimTcpClient, JimWsClient, type JimClient } from "../support/jim-client.js";
import { makeTestCa, type TestCa } from "../support/tls-ca.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { API_SECRET, createDb, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { freePort } from "../support/processes.js";

const SECRET = "tls-token-secret";
const token = (user: string) => signToken(SECRET, user, Math.floor(Date.now() / 1000) + 3600);

interface HttpsAnswer {
  status: number;
  body: string;
  fingerprint256: string;
}

/** One HTTPS request on a new connection (no agent), verified against `ca`. */
function httpsGet(url: string, ca: Buffer | undefined, headers: Record<string, string> = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, headers, agent: false }, (res) => {
      const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), fingerprint256 }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The certificate a TLS server on `port` presents to a new connection. */
function peerFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ port, host: "127.0.0.1", ca }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.once("error", reject);
  });
}

/** Raw bytes to a port; resolves with what came back before the server closed (or 2 s passed). */
function rawExchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = netConnect(port, "127.0.0.1", () => s.write(bytes));
    const done = () => resolve(Buffer.concat(chunks));
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("error", done);
    s.on("close", done);
    setTimeout(() => s.destroy(), 2000).unref();
  });
}

/** A TLS client whose handshake tlim refuses or that refuses tlim: resolves with the client's error. */
function failingHandshake(port: number, opts: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({ port, host: "127.0.0.1", ...opts }, () => {
      s.destroy();
      resolve("connected");
    });
    s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe(onServer("TLS listeners (HTTPS API, J-IM TLS/WSS/HTTPS, optional plaintext, reload)"), () => {
  let ca: TestCa;
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  let first: ReturnType<TestCa["issue"]>;
  let second: ReturnType<TestCa["issue"]>;
  let other: ReturnType<TestCa["issue"]>;
  /** The files tlim reads (TLIM_TLS_CERT / TLIM_TLS_KEY): overwritten to rotate the certificate. */
  let live: { cert: string; key: string };
  const clients: JimClient[] = [];
  const keep = <T extends JimClient>(c: T) => (clients.push(c), c);

  beforeAll(async () => {
    ca = makeTestCa();
    first = ca.issue("first", { chain: true }); // the CA chain in the certificate file
    second = ca.issue("second");
    other = ca.issue("other");
    live = { cert: join(ca.dir, "live.pem"), key: join(ca.dir, "live.key") };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    prosody = await startXmppServer({ users: [["t1", "pw"], ["t2", "pw"], ["t3", "pw"], ["t4", "pw"], ["t5", "pw"]] });
    db = await createDb("sqlite", "tls");
    tlim = await startTestTlim(prosody, db.url, { httpTls: true, jimTls: "optional", tlsCert: live.cert, tlsKey: live.key, jimTokenSecret: SECRET });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await tlim?.stop();
    await prosody?.stop();
    await db?.drop();
    ca?.remove();
  });

  it("serves the HTTP API over HTTPS, verified against the CA; an unverified client is refused", async () => {
    expect(tlim.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpsGet(`${tlim.httpUrl}/plugins/tlim/findSessions?user_id=t1`, ca.caPem, { authorization: `Bearer ${API_SECRET}` });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ result: "ok", result_detail: "", sessions: [] });
    expect(res.fingerprint256).toBe(first.fingerprint256);
    // Without the test CA the client does not trust it: the certificate is really checked (and the
    // CA chain of the certificate file is sent along: the client sees the CA's self-signed root).
    await expect(httpsGet(`${tlim.httpUrl}/healthz`, undefined)).rejects.toMatchObject({ code: "SELF_SIGNED_CERT_IN_CHAIN" });
    // Plain HTTP to the HTTPS port gets no API answer.
    const plain = await rawExchange(Number(new URL(tlim.httpUrl).port), Buffer.from("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"));
    expect(plain.toString("latin1")).not.toContain('"xmpp"');
  });

  it("speaks J-IM TCP framing inside TLS on the J-IM port", async () => {
    const c = keep(await JimTcpClient.connectTls(tlim.jimPort, { ca: ca.caPem }));
    expect((c.socket as TLSSocket).getPeerCertificate().fingerprint256).toBe(first.fingerprint256);
    const login = await jimLogin(c, "t1", { token: token("t1") });
    expect(login.json).toMatchObject({ code: 10007, command: 6 });
    expect(login.frame!.version).toBe(1);
    c.send(13, { hbbyte: -128 });
    expect((await c.next(13)).json).toMatchObject({ command: 13 });
  });

  it("serves WSS and HTTPS on the same J-IM port", async () => {
    const ws = keep(await JimWsClient.connectUrl(`wss://127.0.0.1:${tlim.jimPort}/?username=t2&token=${token("t2")}`, { ca: ca.caPem }));
    expect((await ws.next(6)).json).toMatchObject({ code: 10007, command: 6 });
    const online = await httpsGet(`https://127.0.0.1:${tlim.jimPort}/api/user/online?userid=t2`, ca.caPem, { authorization: `Bearer ${API_SECRET}` });
    expect(online.status).toBe(200);
    expect(JSON.parse(online.body)).toMatchObject({ code: 10019 });
    expect(online.fingerprint256).toBe(first.fingerprint256);
  });

  it("still serves plaintext clients (TCP, WebSocket, HTTP) with TLIM_JIM_TLS=optional", async () => {
    const tcp = keep(await JimTcpClient.connect(tlim.jimPort));
    expect((await jimLogin(tcp, "t3", { token: token("t3") })).json.code).toBe(10007);
    const ws = keep(await JimWsClient.connect(tlim.jimPort, `/?username=t3&token=${token("t3")}`));
    expect((await ws.next(6)).json.code).toBe(10007);
    const res = await fetch(`http://127.0.0.1:${tlim.jimPort}/api/user/online?userid=t3`, { headers: { authorization: `Bearer ${API_SECRET}` } });
    expect(await res.json()).toMatchObject({ code: 10019 });
  });

  it("ends failed handshakes and garbage on the TLS ports without harm to anything else", async () => {
    // A client that does not trust the certificate aborts the handshake.
    expect(await failingHandshake(tlim.jimPort, {})).toBe("SELF_SIGNED_CERT_IN_CHAIN");
    // A client tlim cannot agree with (TLS 1.0 only: Node's servers require 1.2 or later).
    expect(await failingHandshake(tlim.jimPort, { ca: ca.caPem, minVersion: "TLSv1", maxVersion: "TLSv1" })).not.toBe("connected");
    expect(await failingHandshake(Number(new URL(tlim.httpUrl).port), { ca: ca.caPem, minVersion: "TLSv1", maxVersion: "TLSv1" })).not.toBe("connected");
    // A handshake record byte followed by garbage, and a truncated ClientHello.
    const garbage = Buffer.concat([Buffer.from([0x16]), Buffer.from("this is not a TLS record at all \u0000\u00ff".repeat(20))]);
    await rawExchange(tlim.jimPort, garbage);
    await rawExchange(tlim.jimPort, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    await rawExchange(Number(new URL(tlim.httpUrl).port), garbage);
    // A TLS client speaking neither J-IM nor HTTP inside: 400, closed.
    const inner = await new Promise<string>((resolve) => {
      const s = tlsConnect({ port: tlim.jimPort, host: "127.0.0.1", ca: ca.caPem }, () => s.write("\u0016\u0003 nonsense\r\n\r\n"));
      let got = "";
      s.on("data", (c: Buffer) => (got += c.toString("latin1")));
      s.on("close", () => resolve(got));
      s.on("error", () => {});
    });
    expect(inner).toMatch(/^HTTP\/1\.1 400/);
    // Everything still works.
    const c = keep(await JimTcpClient.connectTls(tlim.jimPort, { ca: ca.caPem }));
    expect((await jimLogin(c, "t4", { token: token("t4") })).json.code).toBe(10007);
    expect((await httpsGet(`${tlim.httpUrl}/plugins/tlim/findSessions?user_id=t4`, ca.caPem, { authorization: `Bearer ${API_SECRET}` })).status).toBe(200);
  });

  it("a certificate replaced on disk + SIGHUP: new connections get it, a connection already up keeps working; a broken file changes nothing", async () => {
    const before = keep(await JimTcpClient.connectTls(tlim.jimPort, { ca: ca.caPem }));
    expect((await jimLogin(before, "t5", { token: token("t5") })).json.code).toBe(10007);
    expect((before.socket as TLSSocket).getPeerCertificate().fingerprint256).toBe(first.fingerprint256);

    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    process.emit("SIGHUP", "SIGHUP"); // what `kill -HUP <pid>` delivers to the handler tlim installed
    expect(tlim.tls!.info.fingerprint256).toBe(second.fingerprint256);

    expect(await peerFingerprint(tlim.jimPort, ca.caPem)).toBe(second.fingerprint256);
    const https = await httpsGet(`${tlim.httpUrl}/plugins/tlim/findSessions?user_id=t5`, ca.caPem, { authorization: `Bearer ${API_SECRET}` });
    expect(https.fingerprint256).toBe(second.fingerprint256);
    expect(https.status).toBe(200);
    const after = keep(await JimWsClient.connectUrl(`wss://127.0.0.1:${tlim.jimPort}/?username=t4&token=${token("t4")}`, { ca: ca.caPem }));
    expect((await after.next(6)).json.code).toBe(10007);

    // The old connection, still on the first certificate's session, sends; the new one receives.
    before.send(11, { from: "t5", to: "t4", chatType: 2, msgType: 0, content: "across the reload", id: "tls-reload-1" });
    expect((await before.next(12)).json.code).toBe(10000);
    expect((await after.waitFor((p) => p.command === 11 && p.json.data?.id === "tls-reload-1")).json.data.content).toBe("across the reload");
    expect(before.isClosed()).toBe(false);

    // A half-written certificate, then a key of another certificate: refused, the current one stays.
    writeFileSync(live.cert, "-----BEGIN CERTIFICATE-----\nMIIB\n");
    expect(tlim.reloadTls()).toMatchObject({ ok: false, error: expect.stringContaining("holds no PEM certificate") });
    copyFileSync(second.cert, live.cert);
    copyFileSync(other.key, live.key);
    expect(tlim.reloadTls()).toMatchObject({ ok: false, error: expect.stringContaining("does not belong to the certificate") });
    expect(await peerFingerprint(tlim.jimPort, ca.caPem)).toBe(second.fingerprint256);
    expect((await httpsGet(`${tlim.httpUrl}/healthz`, ca.caPem)).fingerprint256).toBe(second.fingerprint256);
  });

  it("TLIM_JIM_TLS=on refuses plaintext: J-IM frames are closed, HTTP is told to use TLS; TLS works", async () => {
    const gw = new JimGateway(tlim.core, {
      host: "127.0.0.1", port: 0, maxBodyBytes: 4096, heartbeatTimeoutS: 0, apiSecret: API_SECRET,
      tokenSecret: SECRET, c2s: "", userDomain: prosody.userDomain, xmppOnline: () => false,
      tls: { mode: "on", credentials: tlim.tls! },
    }, createLogger("silent"));
    const port = await gw.start();
    try {
      const plain = keep(await JimTcpClient.connect(port));
      plain.send(5, { userId: "t1", token: token("t1") });
      await plain.closed;
      expect(plain.received).toEqual([]);
      const http = await rawExchange(port, Buffer.from("GET /api/user/online?userid=t1 HTTP/1.1\r\nhost: x\r\n\r\n"));
      expect(http.toString("latin1")).toMatch(/^HTTP\/1\.1 400 Bad Request[\s\S]*TLS only/);
      const secure = keep(await JimTcpClient.connectTls(port, { ca: ca.caPem }));
      expect((await jimLogin(secure, "t1", { token: token("t1") })).json.code).toBe(10007);
    } finally {
      await gw.stop();
    }
  });
});

describe(onServer("a tlim process reloads its certificate on kill -HUP"), () => {
  it("a separate `bin/tlim.js start` process serves the new certificate after `kill -HUP`, and keeps running", async () => {
    const ca = makeTestCa();
    const server = await startXmppServer();
    const db = await createDb("sqlite", "tlshup");
    const first = ca.issue("p1");
    const second = ca.issue("p2");
    const live = { cert: join(ca.dir, "plive.pem"), key: join(ca.dir, "plive.key") };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    const port = await freePort();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TLIM_")));
    const proc = spawn(process.execPath, [new URL("../../bin/tlim.js", import.meta.url).pathname, "start"], {
      env: {
        ...clean, TLIM_XMPP_SERVICE: server.componentService, TLIM_XMPP_DOMAIN: server.componentDomain,
        TLIM_XMPP_SECRET: server.componentSecret, TLIM_USER_DOMAIN: server.userDomain, TLIM_DB_URL: db.url,
        TLIM_HTTP_PORT: String(port), TLIM_API_SECRET: "k", TLIM_JIM_ENABLED: "0", TLIM_LOG_FORMAT: "json",
        TLIM_HTTP_TLS: "on", TLIM_TLS_CERT: live.cert, TLIM_TLS_KEY: live.key,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    proc.stdout!.on("data", (d) => (output += d));
    proc.stderr!.on("data", (d) => (output += d));
    try {
      const url = `https://127.0.0.1:${port}/healthz`;
      const until = Date.now() + 30_000;
      let res = await httpsGet(url, ca.caPem).catch(() => null);
      while (res?.status !== 200) {
        if (Date.now() > until || proc.exitCode !== null) throw new Error(`tlim did not become healthy over HTTPS:\n${output.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
        res = await httpsGet(url, ca.caPem).catch(() => null);
      }
      expect(res.fingerprint256).toBe(first.fingerprint256);

      copyFileSync(second.cert, live.cert);
      copyFileSync(second.key, live.key);
      proc.kill("SIGHUP");
      let now = res.fingerprint256;
      for (let i = 0; i < 50 && now !== second.fingerprint256; i++) {
        await new Promise((r) => setTimeout(r, 100));
        now = (await httpsGet(url, ca.caPem)).fingerprint256;
      }
      expect(now).toBe(second.fingerprint256);
      expect((await httpsGet(url, ca.caPem)).status).toBe(200);
      expect(proc.exitCode).toBeNull(); // SIGHUP reloads; it does not stop the process
    } finally {
      proc.kill("SIGKILL");
      await server.stop();
      await db.drop();
      ca.remove();
    }
  }, 60_000);
});
