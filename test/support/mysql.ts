// Throwaway MySQL/MariaDB databases for tests. The server comes from TLIM_TEST_MYSQL_URL (default:
// the local MariaDB). An unreachable server is an error, never a skip
// (docs/architecture.md "One store contract; a missing server fails the tests").
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";

export function testMysqlUrl(): string {
  return process.env.TLIM_TEST_MYSQL_URL || "mysql://root@127.0.0.1:3306/test";
}

export interface TestDatabase {
  /** URL of the new database, same server and credentials as testMysqlUrl(). */
  url: string;
  drop(): Promise<void>;
}

/** Creates `tlim_t_<prefix>_<pid>_<random>` (utf8mb4, binary collation) and returns its URL. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const server = new URL(testMysqlUrl());
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 20);
  const name = `tlim_t_${clean}_${process.pid}_${randomBytes(4).toString("hex")}`;
  await admin(server, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const url = new URL(server.href);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.href,
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin(server, `DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
}

async function admin(server: URL, sql: string): Promise<void> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({
      host: server.hostname || "127.0.0.1",
      port: server.port ? Number(server.port) : 3306,
      user: decodeURIComponent(server.username),
      password: decodeURIComponent(server.password),
      connectTimeout: 5_000,
    });
  } catch (err) {
    const where = `${server.hostname}:${server.port || 3306}`;
    throw new Error(`MySQL/MariaDB test server at ${where} unreachable (set TLIM_TEST_MYSQL_URL): ${(err as Error).message}`, { cause: err });
  }
  try {
    await conn.query(sql);
  } finally {
    await conn.end();
  }
}
