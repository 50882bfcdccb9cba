import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const c = loadConfig({ env: { TLIM_XMPP_SECRET: "s", TLIM_API_SECRET: "k" } });
    expect(c.xmppService).toBe("xmpp://127.0.0.1:5347");
    expect(c.dbUrl).toBe("sqlite:./data/tlim.sqlite");
    expect(c.httpHost).toBe("127.0.0.1");
    expect(c.httpPort).toBe(9595);
    expect(c.userDomain).toBe("localhost");
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("lets the environment win over the file", () => {
    const c = loadConfig({
      file: { httpPort: 1000, xmppDomain: "file.example", xmppSecret: "f", apiSecret: "k" },
      env: { TLIM_HTTP_PORT: "2000" },
    });
    expect(c.httpPort).toBe(2000);
    expect(c.xmppDomain).toBe("file.example");
  });

  it("reports every bad value at once", () => {
    let err: unknown;
    try {
      loadConfig({ file: { bogus: 1 }, env: { TLIM_HTTP_PORT: "eighty", TLIM_DB_URL: "postgres://x", TLIM_LOG_LEVEL: "loud" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join("\n");
    for (const name of ["TLIM_HTTP_PORT", "TLIM_DB_URL", "TLIM_LOG_LEVEL", "TLIM_XMPP_SECRET", "bogus"]) {
      expect(problems).toContain(name);
    }
  });

  it("accepts mysql:// and mariadb:// URLs and an open API", () => {
    const c = loadConfig({ env: { TLIM_XMPP_SECRET: "s", TLIM_API_AUTH: "none", TLIM_DB_URL: "mariadb://root@127.0.0.1:3306/test" } });
    expect(c.dbUrl.startsWith("mariadb://")).toBe(true);
    expect(c.apiAuth).toBe("none");
  });

  it("accepts every database URL the store opens (Oracle, SQL Server too) and says what is wrong with others", () => {
    for (const url of ["oracle://tlim:pw@db:1521/FREEPDB1", "mssql://sa:pw@db:1433/tlim", "sqlserver://sa:pw@db/tlim?trustServerCertificate=true", "sqlite::memory:"]) {
      expect(loadConfig({ env: { TLIM_XMPP_SECRET: "s", TLIM_DB_URL: url } }).dbUrl).toBe(url);
    }
    expect(() => loadConfig({ env: { TLIM_XMPP_SECRET: "s", TLIM_DB_URL: "mssql://sa:hunter2@db/tlim?encrypt=maybe" } })).toThrow(
      /TLIM_DB_URL \(dbUrl\): database url 'mssql:\/\/sa:\*\*\*@db\/tlim\?encrypt=maybe': encrypt must be true or false/,
    );
    expect(() => loadConfig({ env: { TLIM_XMPP_SECRET: "s", TLIM_DB_URL: "oracle://u:p@db:1521/" } })).toThrow(/missing service name/);
  });

  it("retention: off by default, per-kind days override the common one, whole days only", () => {
    const base = { TLIM_XMPP_SECRET: "s", TLIM_API_SECRET: "k" };
    expect(loadConfig({ env: base })).toMatchObject({ retentionDays: 0, retentionChatDays: undefined, retentionSessionDays: undefined, retentionIntervalS: 3600, retentionBatch: 500 });
    expect(loadConfig({ env: { ...base, TLIM_RETENTION_DAYS: "90", TLIM_RETENTION_SESSION_DAYS: "0" } })).toMatchObject({ retentionDays: 90, retentionChatDays: undefined, retentionSessionDays: 0 });
    expect(loadConfig({ file: { retentionChatDays: 30 }, env: base }).retentionChatDays).toBe(30);
    let err: unknown;
    try {
      loadConfig({ env: { ...base, TLIM_RETENTION_DAYS: "-1", TLIM_RETENTION_CHAT_DAYS: "1.5", TLIM_RETENTION_SESSION_DAYS: "a week", TLIM_RETENTION_INTERVAL_S: "0", TLIM_RETENTION_BATCH: "0" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    for (const name of ["TLIM_RETENTION_DAYS", "TLIM_RETENTION_CHAT_DAYS", "TLIM_RETENTION_SESSION_DAYS"]) {
      expect(problems).toContain(`${name} (${name === "TLIM_RETENTION_DAYS" ? "retentionDays" : name === "TLIM_RETENTION_CHAT_DAYS" ? "retentionChatDays" : "retentionSessionDays"}): must be a whole number of days from 0 (keep forever) to 36500`);
    }
    expect(problems.join("\n")).toMatch(/TLIM_RETENTION_INTERVAL_S[\s\S]*TLIM_RETENTION_BATCH/);
  });

  it("TLS of the J-IM password check: verify by default, insecure on request; the CA file must exist", () => {
    const base = { TLIM_XMPP_SECRET: "s", TLIM_API_SECRET: "k" };
    const c = loadConfig({ env: base });
    expect([c.xmppC2sTls, c.xmppC2sCa]).toEqual(["verify", ""]);
    expect(loadConfig({ env: { ...base, TLIM_XMPP_C2S_TLS: "insecure", TLIM_XMPP_C2S_CA: "package.json" } })).toMatchObject({ xmppC2sTls: "insecure", xmppC2sCa: "package.json" });
    let err: unknown;
    try {
      loadConfig({ env: { ...base, TLIM_XMPP_C2S_TLS: "off", TLIM_XMPP_C2S_CA: "/nonexistent/ca.pem" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join("\n")).toMatch(/TLIM_XMPP_C2S_TLS[\s\S]*TLIM_XMPP_C2S_CA \(xmppC2sCa\): no such file/);
  });
});
