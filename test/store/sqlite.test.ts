import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { schemaDrift } from "../support/schema-drift.js";
import { openStore } from "../../src/store/open.js";
import { createDataSource } from "../../src/store/sql/datasource.js";
import { migrationStatus, runMigrations } from "../../src/store/sql/migrations/run.js";
import { chatConvId } from "../../src/store/types.js";
import { chat, describeStoreContract } from "./contract.js";
import { ALL_MIGRATIONS, checkRetentionIndexesDropped, checkUpgradeFromInit, purgeStatements } from "./upgrade.js";

const root = mkdtempSync(join(tmpdir(), "tlim-store-sqlite-"));
let n = 0;
/** A fresh database file in a directory that does not exist yet (the store creates it). */
const freshUrl = () => `sqlite:${join(root, `d${++n}`, "tlim.sqlite")}`;
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeStoreContract(
  "SQLite",
  async () => {
    const url = freshUrl();
    const store = await openStore(url, { migrate: true });
    return { store, second: () => openStore(url), cleanup: () => store.close() };
  },
  { multiInstance: true },
);

describe("SQLite schema and connection", () => {
  it("migrates on request only, once", async () => {
    const url = freshUrl();
    await expect(openStore(url)).rejects.toThrow(/needs migrations \(Init1795000000000, ReadsRevokeDissolve1795000000001, HttpApi1795000000002, Delivery1795000000003, DropRetentionIndexes1795000000005\).*tlim migrate/);
    expect(await migrationStatus(url)).toEqual({ applied: [], pending: ALL_MIGRATIONS });
    expect(await runMigrations(url)).toEqual(ALL_MIGRATIONS);
    expect(await migrationStatus(url)).toEqual({ applied: ALL_MIGRATIONS, pending: [] });
    expect(await runMigrations(url)).toEqual([]);
    const store = await openStore(url); // no migrate: the schema is already there
    await store.commitBatch([chat("a", "b")]);
    await store.close();
  });

  it("upgrades a database created by the Init migration, keeping its rows", () => checkUpgradeFromInit(freshUrl()));

  it("dissolve's inbox purge and the write path's lookups use an index, never a scan of every inbox", async () => {
    const url = freshUrl();
    await runMigrations(url);
    const db = new Database(url.slice("sqlite:".length));
    try {
      const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join("; ");
      expect(plan("DELETE FROM inbox WHERE user_id IN ('a', 'b') AND conv_id = 'session:s' AND conv_seq <> 3")).toMatch(/SEARCH inbox USING (COVERING )?INDEX IDX_inbox_user_conv/);
      expect(plan("DELETE FROM messages WHERE conv_id = 'session:s' AND seq <> 3")).toMatch(/SEARCH messages USING/);
      expect(plan("DELETE FROM message_reads WHERE conv_id = 'session:s'")).toMatch(/SEARCH message_reads USING (COVERING )?INDEX IDX_message_reads_conv/);
      // Retention reads and deletes by primary key only, in key order, never sorting
      // (src/store/purge.ts): every statement the purge issues, as the adapter builds it.
      const purge = purgeStatements("sqlite");
      expect(purge.length).toBeGreaterThanOrEqual(8);
      for (const s of purge) {
        const table = /\b(?:FROM|INTO)\s+(\w+)/.exec(s.sql)![1]!;
        const p = (db.prepare(`EXPLAIN QUERY PLAN ${s.sql}`).all(...(s.params as unknown[])) as Array<{ detail: string }>).map((r) => r.detail).join("; ");
        // The first page of keys walks the primary key from its start (a LIMIT bounds it).
        const how = /\bWHERE\b/.test(s.sql) ? "SEARCH" : "SCAN";
        expect(p, s.sql).toMatch(new RegExp(`${how} ${table} USING (COVERING )?(INDEX sqlite_autoindex_${table}_1|PRIMARY KEY)`));
        expect(p, s.sql).not.toMatch(/TEMP B-TREE/);
        // (A pair list reads its own VALUES rows: "SCAN CONSTANT ROW".)
        if (how === "SEARCH") expect(p, s.sql).not.toMatch(/SCAN (?!CONSTANT ROW)/);
      }
    } finally {
      db.close();
    }
  });

  it("drops the created_at indexes an earlier build's retention migration made", () => {
    const url = freshUrl();
    return checkRetentionIndexesDropped(url, () => schemaDrift(url));
  });

  it("has exactly the schema of the entities after the migrations (no drift)", async () => {
    const url = freshUrl();
    await runMigrations(url);
    expect(await schemaDrift(url)).toEqual([]);
  });

  it("opens with WAL, synchronous=FULL and a busy timeout", async () => {
    const ds = createDataSource(freshUrl());
    await ds.initialize();
    try {
      expect(await ds.query("PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
      expect(await ds.query("PRAGMA synchronous")).toEqual([{ synchronous: 2 }]);
      expect(Number((await ds.query("PRAGMA busy_timeout"))[0].timeout)).toBeGreaterThan(0);
    } finally {
      await ds.destroy();
    }
  });

  it("works in memory and with synchronize (tests only)", async () => {
    for (const [url, opts] of [["sqlite::memory:", { migrate: true }], ["sqlite::memory:", { synchronize: true }], [freshUrl(), { synchronize: true }]] as const) {
      const store = await openStore(url, opts);
      const [o] = await store.commitBatch([chat("a", "b")]);
      expect(o).toMatchObject({ status: "stored", message: { seq: 1 } });
      await store.ping();
      await store.close();
    }
  });

  it("leaves revoked messages out of history and inbox, but finds them", async () => {
    const url = freshUrl();
    const store = await openStore(url, { migrate: true });
    try {
      const ms = [chat("a", "b"), chat("a", "b"), chat("b", "a")];
      await store.commitBatch(ms);
      const raw = new Database(url.slice("sqlite:".length));
      raw.prepare("UPDATE messages SET revoked = 1 WHERE msg_id = ?").run(ms[1]!.msgId);
      raw.close();
      const h = await store.history(chatConvId("a", "b"), 0, 10);
      expect(h.total).toBe(2);
      expect(h.items.map((m) => m.seq)).toEqual([3, 1]);
      expect((await store.inboxAfter("b", 0, 10)).map((i) => i.inboxSeq)).toEqual([1, 3]);
      expect(await store.findMessage("a", ms[1]!.msgId)).toMatchObject({ seq: 2, revoked: true });
    } finally {
      await store.close();
    }
  });

  it("rejects a URL it does not understand", async () => {
    await expect(openStore("postgres://x/y")).rejects.toThrow(/must start with sqlite:, mysql:\/\/, mariadb:\/\/, oracle:\/\/, mssql:\/\/ or sqlserver:\/\//);
  });
});
