// The user's entry points: `tlim --help`, `tlim migrate`, `tlim start` as a real process.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import net from "node:net";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPTIONS } from "../../src/config.js";
import { migrationStatus } from "../../src/store/sql/migrations/run.js";
import { createTestDatabase } from "../support/mysql.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { connectClient, type TestClient } from "../support/xmpp-client.js";
import { envelope, isMessageWithId, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { makeTestCa } from "../support/tls-ca.js";
import { freePort } from "../support/processes.js";

const BIN = new URL("../../bin/tlim.js", import.meta.url).pathname;
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TLIM_")));
const run = (args: string[], env: Record<string, string> = {}, cwd?: string) =>
  spawnSync(process.execPath, [BIN, ...args], { env: { ...cleanEnv(), ...env }, cwd, encoding: "utf8", timeout: 60000 });

describe(onServer("tlim command line"), () => {
  it("--help documents every command and every configuration variable", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    for (const cmd of ["start", "migrate"]) expect(r.stdout).toContain(cmd);
    for (const o of Object.values(OPTIONS)) expect(r.stdout).toContain(o.env);
  });

  it("refuses a bad configuration, listing every problem at once, with exit status 2", () => {
    const r = run(["start"], { TLIM_HTTP_PORT: "eighty", TLIM_DB_URL: "postgres://x" });
    expect(r.status).toBe(2);
    for (const name of ["TLIM_HTTP_PORT", "TLIM_DB_URL", "TLIM_XMPP_SECRET"]) expect(r.stderr).toContain(name);
  });

  /** `tlim start` as a process, without TLIM_API_SECRET, against a fresh Prosody; resolves when healthy. */
  async function startWithoutSecret(jimPort: number) {
    const prosody = await startXmppServer();
    const cwd = mkdtempSync(join(tmpdir(), "tlim-closed-"));
    const port = await freePort();
    const proc = spawn(process.execPath, [BIN, "start"], {
      cwd,
      env: {
        ...cleanEnv(), TLIM_XMPP_SERVICE: prosody.componentService, TLIM_XMPP_DOMAIN: prosody.componentDomain,
        TLIM_XMPP_SECRET: prosody.componentSecret, TLIM_HTTP_PORT: String(port), TLIM_JIM_PORT: String(jimPort),
      },
    });
    let output = "";
    proc.stderr!.on("data", (d) => (output += d));
    proc.stdout!.on("data", (d) => (output += d));
    const stop = async () => {
      proc.kill("SIGKILL");
      await prosody.stop();
      rmSync(cwd, { recursive: true, force: true });
    };
    const until = Date.now() + 30000;
    while ((await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status !== 200) {
      if (Date.now() > until || proc.exitCode !== null) {
        await stop();
        throw new Error(`tlim did not start:\n${output}`);
      }
      await sleep(200);
    }
    return { port, output: () => output, stop };
  }

  it("starts without TLIM_API_SECRET but keeps both HTTP APIs closed (401), never open", async () => {
    const jimPort = await freePort();
    const t = await startWithoutSecret(jimPort);
    try {
      for (const headers of [{} as Record<string, string>, { authorization: "Bearer " }]) {
        const res = await fetch(`http://127.0.0.1:${t.port}/plugins/tlim/getOffline?user_id=x&secret=`, { headers });
        expect(res.status).toBe(401);
        expect(((await res.json()) as any).result_detail).toContain("TLIM_API_SECRET");
      }
      expect((await fetch(`http://127.0.0.1:${jimPort}/api/user/online?userid=x&secret=`)).status).toBe(401);
      expect(t.output()).toContain("TLIM_API_SECRET is not set");
    } finally {
      await t.stop();
    }
  });

  it("runs without the J-IM gateway when its port is taken, and reports it in /healthz", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const t = await startWithoutSecret((blocker.address() as net.AddressInfo).port);
    try {
      expect(t.output()).toContain("j-im gateway NOT started");
      expect(await (await fetch(`http://127.0.0.1:${t.port}/healthz`)).json()).toMatchObject({ xmpp: "online", database: "up", jim: "down" });
    } finally {
      blocker.close();
      await t.stop();
    }
  });

  it("start stops with exit status 1 and says which address when the HTTP port is taken", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const cwd = mkdtempSync(join(tmpdir(), "tlim-taken-"));
    try {
      // The database opens first (SQLite in cwd); the HTTP listener comes before any XMPP link.
      const r = run(["start"], { TLIM_HTTP_PORT: String(port), TLIM_XMPP_SECRET: "x", TLIM_API_AUTH: "none" }, cwd);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(`cannot listen for HTTP on 127.0.0.1:${port}`);
      expect(r.stderr).toContain("EADDRINUSE");
    } finally {
      blocker.close();
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("start refuses a TLS key that does not belong to its certificate with exit status 2, before opening the database", () => {
    const ca = makeTestCa();
    const cwd = mkdtempSync(join(tmpdir(), "tlim-badtls-"));
    try {
      const [one, two] = [ca.issue("one"), ca.issue("two")];
      const r = run(["start"], { TLIM_XMPP_SECRET: "x", TLIM_HTTP_TLS: "1", TLIM_TLS_CERT: one.cert, TLIM_TLS_KEY: two.key }, cwd);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`TLIM_TLS_CERT / TLIM_TLS_KEY: the key in ${two.key} does not belong to the certificate in ${one.cert}`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack
      expect(existsSync(join(cwd, "data"))).toBe(false);
    } finally {
      ca.remove();
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("with TLIM_MIGRATE_ON_START=0, start refuses a database with pending migrations and names them", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "tlim-pending-"));
    try {
      const r = run(["start"], { TLIM_XMPP_SECRET: "x", TLIM_MIGRATE_ON_START: "0", TLIM_HTTP_PORT: String(await freePort()) }, cwd);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/needs migrations \(Init1795000000000, .*DropRetentionIndexes1795000000005\): run `npx tlim migrate`/);
      expect((await migrationStatus(`sqlite:${join(cwd, "data", "tlim.sqlite")}`)).applied).toEqual([]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("migrate creates the schema on SQLite and on MariaDB, and is idempotent", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlim-cli-"));
    const mysql = await createTestDatabase("cli");
    try {
      for (const url of [`sqlite:${join(dir, "sub", "t.sqlite")}`, mysql.url]) {
        const first = run(["migrate"], { TLIM_DB_URL: url });
        expect(first.status, first.stderr).toBe(0);
        expect(first.stdout).toContain("applied");
        const second = run(["migrate"], { TLIM_DB_URL: url });
        expect(second.stdout).toContain("up to date");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await mysql.drop();
    }
  });
});

describe(onServer("tlim migrate --print"), () => {
  it("prints the SQL of the pending migrations without running it, on SQLite and on MariaDB", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlim-print-"));
    const mysql = await createTestDatabase("print");
    try {
      for (const [url, create] of [
        [`sqlite:${join(dir, "t.sqlite")}`, 'CREATE TABLE "conversations"'],
        [mysql.url, "CREATE TABLE `conversations`"],
      ] as const) {
        const all = (await migrationStatus(url)).pending;
        const printed = run(["migrate", "--print"], { TLIM_DB_URL: url });
        expect(printed.status, printed.stderr).toBe(0);
        expect(printed.stdout).toContain(create);
        for (const name of all) expect(printed.stdout).toContain(`-- Migration ${name}`);
        expect(printed.stdout).toContain("tlim_migrations");
        expect(await migrationStatus(url)).toEqual({ applied: [], pending: all }); // nothing ran
        expect(run(["migrate"], { TLIM_DB_URL: url }).status).toBe(0);
        const after = run(["migrate", "--print"], { TLIM_DB_URL: url });
        expect(after.status, after.stderr).toBe(0);
        expect(after.stdout).toContain("up to date");
        expect(after.stdout).not.toContain("CREATE TABLE");
      }
      // --all: the whole script of the database's kind, as committed in sql/, without connecting.
      const all = run(["migrate", "--print", "--all"], { TLIM_DB_URL: "mysql://root@127.0.0.1:1/none" });
      expect(all.status, all.stderr).toBe(0);
      expect(all.stdout).toBe(readFileSync(new URL("../../sql/mysql.sql", import.meta.url), "utf8"));
      // The same for the databases that cannot run here: the URL is accepted, nothing connects.
      for (const [url, file] of [["oracle://tlim:pw@127.0.0.1:1/FREEPDB1", "oracle.sql"], ["mssql://sa:pw@127.0.0.1:1/tlim", "sqlserver.sql"]]) {
        const script = run(["migrate", "--print", "--all"], { TLIM_DB_URL: url! });
        expect(script.status, script.stderr).toBe(0);
        expect(script.stdout).toBe(readFileSync(new URL(`../../sql/${file}`, import.meta.url), "utf8"));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await mysql.drop();
    }
  }, 60_000);

  it("fails with a clear message when the database cannot be reached", () => {
    const r = run(["migrate", "--print"], { TLIM_DB_URL: "mysql://tlim:secret@127.0.0.1:1/none" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("tlim migrate --print: cannot open database mysql://tlim:***@127.0.0.1:1/none");
    expect(r.stderr).not.toContain("secret");
    expect(r.stdout).toBe("");
  });
});

describe(onServer("tlim start (a real process) on its default embedded SQLite"), () => {
  let prosody: XmppServerHandle;
  let proc: ChildProcess;
  let cwd: string;
  let output = "";
  const clients: TestClient[] = [];
  let port = 0; // a free one, taken once: restarts reuse it

  beforeAll(async () => {
    port = await freePort();
    prosody = await startXmppServer({ users: [["c1", "pw"], ["c2", "pw"]] });
    cwd = mkdtempSync(join(tmpdir(), "tlim-start-"));
    // The file gives some values, the environment the rest (and would win on a conflict).
    writeFileSync(join(cwd, "tlim.config.json"), JSON.stringify({ xmppDomain: prosody.componentDomain, httpPort: 1 }));
    proc = spawn(process.execPath, [BIN, "start"], {
      cwd,
      env: {
        ...cleanEnv(),
        TLIM_XMPP_SERVICE: prosody.componentService,
        TLIM_XMPP_SECRET: prosody.componentSecret,
        TLIM_USER_DOMAIN: prosody.userDomain,
        TLIM_HTTP_PORT: String(port),
        TLIM_API_SECRET: "k",
        TLIM_JIM_PORT: "0",
      },
    });
    proc.stdout!.on("data", (d) => (output += d));
    proc.stderr!.on("data", (d) => (output += d));
    const until = Date.now() + 30000;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      if (res?.status === 200) break;
      if (Date.now() > until || proc.exitCode !== null) throw new Error(`tlim did not become healthy:\n${output}`);
      await sleep(200);
    }
  });

  afterAll(async () => {
    for (const c of clients) await c.stop();
    if (proc && proc.exitCode === null) proc.kill("SIGKILL");
    await prosody?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("relays a message between two real clients and writes ./data/tlim.sqlite", async () => {
    const c1 = await connectClient(prosody, "c1", "pw");
    const c2 = await connectClient(prosody, "c2", "pw");
    clients.push(c1, c2);
    await c2.sendPresenceTo(prosody.componentDomain);
    await sleep(150);
    const env = envelope({ msg_from: "c1", msg_to: "c2", msg_type: "MTT-000", body: [{ text: "via the cli" }] });
    await c1.send(tlimMessage(`c2@${prosody.componentDomain}`, env));
    await c2.waitFor(isMessageWithId(env.msg_id));
    const h = await fetch(`http://127.0.0.1:${port}/plugins/tlim/findChatHistory?user_id=c1&session_id=c2`, { headers: { authorization: "Bearer k" } });
    expect(((await h.json()) as any).total).toBe(1);
    expect(output).toContain("xmpp link: online");
    expect(existsSync(join(cwd, "data", "tlim.sqlite"))).toBe(true);
  });

  it("reports the XMPP link down in /healthz (503) while the XMPP server is away, and stops cleanly on SIGTERM", async () => {
    await prosody.kill();
    await sleep(300);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).database).toBe("up");
    await prosody.restart();
    proc.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
    expect(code).toBe(0);
  });
});
