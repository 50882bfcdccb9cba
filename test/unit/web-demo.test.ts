// `tlim demo` and the web client's switch (docs/demo.md): without Prosody the demo names the one
// apt command and exits 1; /web/ exists only when TLIM_WEB is on, and its API never answers
// without a login. The demo itself, in a real browser: test/browser/demo.test.ts
// (`npm run test:browser`).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ImCore } from "../../src/core/im.js";
import { MemoryStore } from "../../src/store/memory.js";
import { INSTALL_HINT } from "../../src/demo/run.js";
import { prosodyInstalled } from "../../src/demo/prosody.js";
import { createHttpApp, type HttpDeps } from "../../src/transports/http/app.js";
import { webDir } from "../../src/web-dir.js";

const ROOT = new URL("../../", import.meta.url).pathname;

describe("tlim demo without Prosody", () => {
  it("prints the apt command and exits 1 when prosody is not on PATH", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", "demo"], {
      cwd: ROOT,
      env: { HOME: process.env.HOME ?? "/tmp", PATH: "/nonexistent-bin" },
      encoding: "utf8",
      timeout: 60000,
    });
    expect(r.stderr.trim()).toBe(INSTALL_HINT);
    expect(INSTALL_HINT).toBe("Prosody is not installed: apt-get install -y prosody");
    expect(r.status).toBe(1);
  });

  it("finds prosody and prosodyctl on a PATH that has them, and only then", () => {
    expect(prosodyInstalled("/nonexistent-bin")).toBe(false);
    expect(prosodyInstalled("")).toBe(false);
    expect(prosodyInstalled(process.env.PATH)).toBe(true); // the test machine has Prosody (README "Test it")
  });
});

describe("/web/ and /web/api/", () => {
  const stub = { messaging: {}, files: {} } as unknown as ImCore;
  const base: HttpDeps = {
    core: stub,
    apiSecret: "s3cret",
    files: { dir: "/nonexistent", maxBytes: 1 },
    health: async () => ({ xmpp: "online", database: "up" }),
    log: pino({ level: "silent" }),
  };
  const logins: string[] = [];
  const servers: Server[] = [];
  let off = "";
  let on = "";
  const listen = async (deps: HttpDeps) => {
    const app = createHttpApp(deps);
    const s = await new Promise<Server>((resolve) => {
      const srv = app.listen(0, "127.0.0.1", () => resolve(srv));
    });
    servers.push(s);
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    off = await listen(base);
    on = await listen({
      ...base,
      web: {
        staticDir: webDir(),
        xmppWebsocket: "ws://127.0.0.1:5280/xmpp-websocket",
        userDomain: "localhost",
        componentDomain: "tlim.localhost",
        // The XMPP server's answer to a password check (the browser test runs the real one).
        credentials: {
          admit: () => true,
          check: async (a) => (logins.push(a.userId), a.password === "right" ? { ok: true, via: "password" } : { ok: false, reason: "refused" }),
        },
      },
    });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it("TLIM_WEB is off unless turned on", () => {
    expect(loadConfig({ env: { TLIM_XMPP_SECRET: "x" } }).web).toBe(false);
    expect(loadConfig({ env: { TLIM_XMPP_SECRET: "x", TLIM_WEB: "on" } }).web).toBe(true);
  });

  it("is 404 when the web client is off", async () => {
    for (const path of ["/web/", "/web/app.js", "/web/config.json", "/web/vendor/xmpp.min.js", "/web/api/conversations"]) {
      expect((await fetch(off + path)).status, path).toBe(404);
    }
  });

  it("serves the page, its script, its configuration and the vendored XMPP library when on", async () => {
    const page = await fetch(`${on}/web/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<label for="login-user">User</label>');
    expect((await fetch(`${on}/web/app.js`)).headers.get("content-type")).toMatch(/javascript/);
    const lib = await fetch(`${on}/web/vendor/xmpp.min.js`);
    expect(lib.status).toBe(200);
    expect(await lib.text()).toMatch(/^var XMPP=/);
    expect(await (await fetch(`${on}/web/config.json`)).json()).toEqual({
      xmppWebsocket: "ws://127.0.0.1:5280/xmpp-websocket",
      userDomain: "localhost",
      componentDomain: "tlim.localhost",
    });
  });

  it("answers the API only to a logged-in user, and the API secret is no login", async () => {
    for (const auth of [undefined, "Bearer s3cret", "Bearer alice.9999999999.00", `Bearer alice.9999999999.${"0".repeat(64)}`]) {
      const r = await fetch(`${on}/web/api/conversations`, auth ? { headers: { authorization: auth } } : {});
      expect(r.status, auth).toBe(401);
    }
    const post = (body: unknown) => fetch(`${on}/web/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await post({ user: "Alice", password: "wrong" })).status).toBe(401);
    expect((await post({ user: "a b", password: "right" })).status).toBe(400);
    const ok = await post({ user: "Alice", password: "right" });
    expect(ok.status).toBe(200);
    const { user, token } = (await ok.json()) as { user: string; token: string };
    expect(user).toBe("alice"); // folded like every id
    expect(token).toMatch(/^alice\.\d+\.[0-9a-f]{64}$/);
    expect(logins).toEqual(["alice", "alice"]); // the invalid id never reached the password check
    // A token names its user: changing the name breaks it.
    const forged = token.replace(/^alice/, "bob");
    expect((await fetch(`${on}/web/api/file-url?fileId=x`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    expect((await fetch(`${on}/web/api/file-url?fileId=x`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it("records an upload as the logged-in user's, whatever user_id the form carries", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlim-web-upload-"));
    const core = new ImCore(new MemoryStore(), { maxTextChars: 3000, revokeWindowS: 120, writeBatchMax: 100, syncPageSize: 10 }, pino({ level: "silent" }));
    try {
      const url = await listen({ ...base, core, files: { dir, maxBytes: 1000 }, web: { staticDir: webDir(), xmppWebsocket: "ws://x", userDomain: "localhost", componentDomain: "tlim.localhost", credentials: { admit: () => true, check: async () => ({ ok: true, via: "password" }) } } });
      const login = await fetch(`${url}/web/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "alice", password: "pw" }) });
      const { token } = (await login.json()) as { token: string };
      const form = new FormData();
      form.append("user_id", "bob");
      form.append("file", new Blob(["hello"], { type: "text/plain" }), "hello.txt");
      const r = await fetch(`${url}/web/api/upload?user_id=bob`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
      expect(r.status).toBe(200);
      const { fileId } = (await r.json()) as { fileId: string };
      expect(await core.files.get(fileId)).toMatchObject({ userId: "alice", fileName: "hello.txt", size: 5 });
    } finally {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
