// sql/<database>.sql: the schema scripts for DBAs (scripts/gen-sql.ts). They must be exactly what
// the migrations generate; the MySQL one must build, on MariaDB, a database `tlim migrate` and
// `tlim start` accept with nothing pending and no drift from the entities, and the SQLite one
// likewise; the Oracle and SQL Server ones (no server here) pass the offline statement checks.
// MariaDB from TLIM_TEST_MYSQL_URL must be reachable: these tests fail, never skip, without it.
import "reflect-metadata";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import mysql from "mysql2/promise";
import { describe, expect, it } from "vitest";
import { schemaDrift } from "../support/schema-drift.js";
import { openStore } from "../../src/store/open.js";
import { MIGRATION_KINDS, migrationsFor } from "../../src/store/sql/migrations/index.js";
import { migrationStatus } from "../../src/store/sql/migrations/run.js";
import { migrationList, offlineDataSource, renderScript, schemaScript, scriptFormat } from "../../src/store/sql/migrations/script.js";
import { createTestDatabase } from "../support/mysql.js";
import { checkOracle, checkTsql, schemaIdentifiers, splitScript } from "../support/sql-checks.js";

const SQL_DIR = new URL("../../sql/", import.meta.url).pathname;
const committed = (file: string) => (existsSync(join(SQL_DIR, file)) ? readFileSync(join(SQL_DIR, file), "utf8") : undefined);
const kinds: readonly string[] = MIGRATION_KINDS;
const names = (kind: string) => migrationList(kind as never).map((m) => m.name);

describe("sql/ schema scripts", () => {
  it("has one kind per migration set, each with its own file", () => {
    expect(kinds).toContain("sqlite");
    expect(kinds).toContain("mysql");
    const files = kinds.map((k) => scriptFormat(k).file);
    expect(new Set(files).size).toBe(files.length);
  });

  for (const kind of kinds) {
    it(`sql/${scriptFormat(kind).file} is what the ${kind} migrations generate (else: npm run sql:generate)`, async () => {
      const { file, text } = await schemaScript(kind as never);
      const onDisk = committed(file);
      if (onDisk === undefined) expect.fail(`sql/${file} is missing: run \`npm run sql:generate\` and commit it`);
      if (onDisk !== text) expect.fail(`sql/${file} differs from what the migrations generate: run \`npm run sql:generate\` and commit it`);
      for (const m of migrationsFor(kind as never)) expect(text).toContain(`-- Migration ${new m().name ?? m.name}`);
    });
  }

  it("sql/mysql.sql, run statement by statement on a fresh MariaDB database, leaves nothing pending and no drift", async () => {
    const db = await createTestDatabase("sqlfile");
    try {
      const statements = splitScript(committed("mysql.sql")!, "semicolon");
      expect(statements.length).toBeGreaterThan(10);
      const c = await mysql.createConnection(db.url);
      try {
        for (const sql of statements) await c.query(sql);
      } finally {
        await c.end();
      }
      expect(await migrationStatus(db.url)).toEqual({ applied: names("mysql"), pending: [] });
      const store = await openStore(db.url); // refuses a database with pending migrations
      await store.close();
      expect(await schemaDrift(db.url)).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it("sql/sqlite.sql, run statement by statement on a fresh SQLite file, leaves nothing pending and no drift", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlim-sqlfile-"));
    try {
      const file = join(dir, "t.sqlite");
      const statements = splitScript(committed("sqlite.sql")!, "semicolon");
      expect(statements.length).toBeGreaterThan(10);
      const raw = new Database(file);
      try {
        for (const sql of statements) raw.prepare(sql).run();
      } finally {
        raw.close();
      }
      const url = `sqlite:${file}`;
      expect(await migrationStatus(url)).toEqual({ applied: names("sqlite"), pending: [] });
      const store = await openStore(url);
      await store.close();
      expect(await schemaDrift(url)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Active as soon as the kind has a migration set or its file exists; a kind without its file fails.
  const offline: Array<[kinds: string[], file: string, style: "sqlplus" | "sqlcmd", check: (sql: string) => string[]]> = [
    [["oracle"], "oracle.sql", "sqlplus", (sql) => checkOracle(sql, [], { identifiers: schemaIdentifiers() })],
    [["mssql", "sqlserver"], "sqlserver.sql", "sqlcmd", (sql) => checkTsql(sql, [])],
  ];
  for (const [ks, file, style, check] of offline) {
    it(`sql/${file}: every statement passes the offline ${style === "sqlplus" ? "Oracle" : "T-SQL"} checks`, () => {
      const text = committed(file);
      const active = ks.some((k) => kinds.includes(k));
      if (text === undefined) {
        if (active) expect.fail(`the ${ks.join("/")} migrations exist but sql/${file} does not: run \`npm run sql:generate\``);
        return; // no such migration set yet, no file: nothing to check
      }
      if (!active) expect.fail(`sql/${file} exists but no ${ks.join("/")} migration set does: remove the stale file`);
      const statements = splitScript(text, style);
      expect(statements.length).toBeGreaterThan(5);
      const problems = statements.flatMap((sql) => check(sql).map((p) => `${p}\n    in: ${sql.slice(0, 200)}`));
      expect(problems).toEqual([]);
    });
  }

  it("terminates statements as each database's command-line tool expects", async () => {
    const migration = {
      name: "Demo1795000000009",
      timestamp: 1795000000009,
      instance: {
        async up(qr: { query(sql: string): Promise<unknown> }) {
          await qr.query(`CREATE TABLE t (\n  a int NOT NULL,\n\n  b int\n)`);
          await qr.query(`BEGIN\n  EXECUTE IMMEDIATE 'CREATE INDEX i ON t (a)';\nEND;`);
          await qr.query("CREATE INDEX j ON t (b);");
        },
        async down() {},
      },
    };
    const render = (kind: string) => renderScript({ kind, migrations: [migration], ds: offlineDataSource(kind), createMigrationsTable: true, header: ["demo"] });
    const oracle = await render("oracle");
    expect(oracle).toContain("WHENEVER SQLERROR EXIT FAILURE ROLLBACK\nSET DEFINE OFF");
    expect(oracle).toContain("CREATE TABLE t (\n  a int NOT NULL,\n  b int\n);"); // no blank line: SQL*Plus would end the statement there
    expect(oracle).toContain("END;\n/\nCREATE INDEX j ON t (b);\n");
    expect(oracle).toMatch(/INSERT INTO "tlim_migrations" \("timestamp", "name"\) VALUES \(1795000000009, 'Demo1795000000009'\);\nCOMMIT;\n$/);
    expect(splitScript(oracle, "sqlplus")).toEqual([
      "CREATE TABLE t (\n  a int NOT NULL,\n  b int\n)",
      "BEGIN\n  EXECUTE IMMEDIATE 'CREATE INDEX i ON t (a)';\nEND;",
      "CREATE INDEX j ON t (b)",
      expect.stringMatching(/^CREATE TABLE "tlim_migrations" \("id" number GENERATED BY DEFAULT AS IDENTITY/),
      `INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000009, 'Demo1795000000009')`,
      "COMMIT",
    ]);
    const mssql = await render("mssql");
    expect(mssql).toContain("SET QUOTED_IDENTIFIER ON;\nGO");
    expect(mssql).toContain("CREATE INDEX j ON t (b);\nGO\n");
    expect(splitScript(mssql, "sqlcmd")).toHaveLength(6);
    const mysqlText = await render("mysql");
    expect(mysqlText).toContain("CREATE INDEX j ON t (b);\n");
    expect(mysqlText).not.toContain(";;");
  });

  it("refuses a migration that does more than queryRunner.query(sql)", async () => {
    const sneaky = { name: "Sneaky1795000000009", timestamp: 1795000000009, instance: { async up(qr: any) { await qr.createTable({}); }, async down() {} } };
    await expect(renderScript({ kind: "sqlite", migrations: [sneaky], ds: offlineDataSource("sqlite"), createMigrationsTable: true, header: [] })).rejects.toThrow(/Sneaky1795000000009: uses queryRunner.createTable/);
    const bound = { name: "Bound1795000000009", timestamp: 1795000000009, instance: { async up(qr: any) { await qr.query("UPDATE t SET a = ?", [1]); }, async down() {} } };
    await expect(renderScript({ kind: "sqlite", migrations: [bound], ds: offlineDataSource("sqlite"), createMigrationsTable: true, header: [] })).rejects.toThrow(/bind parameters/);
  });
});
