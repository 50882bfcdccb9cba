// Databases for the bench: a throwaway MariaDB database per run (test/support/mysql.ts), or a
// fresh SQLite file; row counts after a run; server versions.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import mysql from "mysql2/promise";
import { createTestDatabase } from "../../test/support/mysql.js";

export type DbKind = "mariadb" | "sqlite";

export function benchMysqlUrl(): string {
  return process.env.TLIM_BENCH_MYSQL_URL || "mysql://root@127.0.0.1:3306/test";
}

export interface BenchDb {
  kind: DbKind;
  url: string;
  drop(): Promise<void>;
}

export async function createBenchDb(kind: DbKind, prefix: string): Promise<BenchDb> {
  if (kind === "mariadb") {
    process.env.TLIM_TEST_MYSQL_URL = benchMysqlUrl(); // the helper reads the server from here
    const db = await createTestDatabase(`bench_${prefix}`);
    return { kind, url: db.url, drop: () => db.drop() };
  }
  const dir = mkdtempSync(join(tmpdir(), `tlim-bench-${prefix}-`));
  return { kind, url: `sqlite:${join(dir, "tlim.sqlite")}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export function mysqlOptions(url: string, database?: string): mysql.ConnectionOptions {
  const u = new URL(url);
  const db = database ?? decodeURIComponent(u.pathname.replace(/^\//, ""));
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || "root"),
    password: decodeURIComponent(u.password),
    ...(db ? { database: db } : {}),
    connectTimeout: 5000,
  };
}

/** Runs queries against a bench database (either kind); returns the rows of each. */
export async function query(url: string, sqls: string[]): Promise<Array<Array<Record<string, unknown>>>> {
  if (url.startsWith("sqlite:")) {
    const db = new Database(url.slice("sqlite:".length), { readonly: true });
    try {
      return sqls.map((s) => db.prepare(s).all() as Array<Record<string, unknown>>);
    } finally {
      db.close();
    }
  }
  const conn = await mysql.createConnection(mysqlOptions(url));
  try {
    const out: Array<Array<Record<string, unknown>>> = [];
    for (const s of sqls) out.push((await conn.query(s))[0] as Array<Record<string, unknown>>);
    return out;
  } finally {
    await conn.end();
  }
}

/** Row counts of tlim's main tables. */
export async function tlimRowCounts(url: string): Promise<{ messages: number; inbox: number; bodyBytes: number }> {
  const [m, i, b] = await query(url, [
    "SELECT COUNT(*) AS n FROM messages",
    "SELECT COUNT(*) AS n FROM inbox",
    "SELECT COALESCE(SUM(LENGTH(body)), 0) AS n FROM messages",
  ]);
  return { messages: Number(m![0]!.n), inbox: Number(i![0]!.n), bodyBytes: Number(b![0]!.n) };
}

export async function mariadbVersion(): Promise<string> {
  try {
    const conn = await mysql.createConnection(mysqlOptions(benchMysqlUrl(), ""));
    try {
      const [rows] = await conn.query("SELECT VERSION() AS v, @@innodb_flush_log_at_trx_commit AS f, @@innodb_buffer_pool_size AS b");
      const r = (rows as Array<Record<string, unknown>>)[0]!;
      return `${String(r.v)} (flush_log_at_trx_commit=${String(r.f)}, buffer_pool=${Math.round(Number(r.b) / 2 ** 20)} MiB)`;
    } finally {
      await conn.end();
    }
  } catch (err) {
    return `unreachable: ${(err as Error).message}`;
  }
}

export function sqliteVersion(): string {
  const db = new Database(":memory:");
  try {
    return String((db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v);
  } finally {
    db.close();
  }
}
