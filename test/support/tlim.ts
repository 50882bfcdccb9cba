// Starts a real tlim (component + HTTP API) against a test Prosody and a real database.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { startTlim, type Tlim } from "../../src/main.js";
import { createTestDatabase } from "./mysql.js";
import type { ProsodyHandle } from "./prosody.js";

export type DbKind = "sqlite" | "mariadb";
export const DB_KINDS: DbKind[] = ["sqlite", "mariadb"];
export const API_SECRET = "test-api-secret";

export interface TestDb {
  url: string;
  drop(): Promise<void>;
}

export async function createDb(kind: DbKind, prefix: string): Promise<TestDb> {
  if (kind === "mariadb") return createTestDatabase(prefix);
  const dir = mkdtempSync(join(tmpdir(), `tlim-${prefix}-`));
  return { url: `sqlite:${join(dir, "tlim.sqlite")}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestTlim extends Tlim {
  config: Config;
  /** The J-IM gateway's port (TCP, WebSocket and HTTP), 0 when the gateway is disabled. */
  jimPort: number;
  /** Calls /plugins/tlim/<name> with the API secret; returns the parsed JSON. */
  api(name: string, params?: Record<string, string>, init?: { method?: "GET" | "POST"; secret?: string | null }): Promise<any>;
  /** Resolves once the component link is online. */
  online(timeoutMs?: number): Promise<void>;
  /**
   * Resolves when the link next comes online. Ask before restarting the server: right after a
   * restart the link may not have noticed the old stream's end yet and still says online.
   */
  nextOnline(timeoutMs?: number): Promise<void>;
}

export async function startTestTlim(prosody: ProsodyHandle, dbUrl: string, overrides: Partial<Record<keyof Config, unknown>> = {}): Promise<TestTlim> {
  const config = loadConfig({
    env: {},
    overrides: {
      xmppService: prosody.componentService,
      xmppDomain: prosody.componentDomain,
      xmppSecret: prosody.componentSecret,
      userDomain: prosody.userDomain,
      dbUrl,
      httpPort: 0,
      jimPort: 0,
      apiSecret: API_SECRET,
      logLevel: process.env.TLIM_TEST_LOG_LEVEL ?? "silent",
      xmppReconnectMinMs: 100,
      xmppReconnectMaxMs: 1000,
      ...overrides,
    },
  });
  const tlim = await startTlim(config, createLogger(config.logLevel));
  const api: TestTlim["api"] = async (name, params = {}, init = {}) => {
    const secret = init.secret === undefined ? API_SECRET : init.secret;
    const headers: Record<string, string> = secret ? { authorization: `Bearer ${secret}` } : {};
    const url = new URL(`${tlim.httpUrl}/plugins/tlim/${name}`);
    let res: Response;
    if (init.method === "POST") {
      res = await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(params) });
    } else {
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      res = await fetch(url, { headers });
    }
    return res.json();
  };
  const online = async (timeoutMs = 10000) => {
    const until = Date.now() + timeoutMs;
    while (!tlim.xmpp.link.isOnline()) {
      if (Date.now() > until) throw new Error(`component link not online after ${timeoutMs} ms (status ${tlim.xmpp.link.status})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const nextOnline = (timeoutMs = 20000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`component link not back online within ${timeoutMs} ms (status ${tlim.xmpp.link.status})`)), timeoutMs);
      tlim.xmpp.link.onOnline(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  await online();
  return { ...tlim, config, api, online, nextOnline, jimPort: tlim.jim?.port ?? 0 };
}
