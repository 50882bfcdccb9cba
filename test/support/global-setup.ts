// vitest globalSetup: check once that the real servers the tests need are there.
// Project rule: tests FAIL (not skip) when Prosody or MariaDB cannot run. Set
// TLIM_TEST_ALLOW_MISSING=1 to turn the failure into a warning (tests that need the missing
// server will then fail on their own).
import { spawnSync } from "node:child_process";
import mysql from "mysql2/promise";

const DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test";

function checkProsody(): string | null {
  // Never run `prosody --version`: it starts a server with the system config (toolchain §2.4).
  const r = spawnSync("prosodyctl", ["about"], { encoding: "utf8", timeout: 15000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? "Prosody is not installed (`prosodyctl` not on PATH). Install it with `apt-get install prosody`, or run `bash .ci/run`."
      : `\`prosodyctl about\` failed: ${r.error.message}`;
  }
  if (r.status !== 0 || !/Prosody\s+\d/.test(r.stdout ?? "")) {
    return `\`prosodyctl about\` exited ${r.status}: ${(r.stderr || r.stdout || "").trim().slice(0, 500)}`;
  }
  const p = spawnSync("sh", ["-c", "command -v prosody"], { encoding: "utf8" });
  if (p.status !== 0) return "`prosodyctl` exists but the `prosody` binary is not on PATH.";
  return null;
}

async function checkMysql(url: string): Promise<string | null> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `TLIM_TEST_MYSQL_URL is not a valid URL: ${url}`;
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  let conn: mysql.Connection | undefined;
  try {
    // Connect without the database first, so a missing `test` database can be created.
    conn = await mysql.createConnection({
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username || "root"),
      password: decodeURIComponent(u.password),
      connectTimeout: 5000,
    });
    await conn.query("SELECT 1");
    if (database) await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database.replace(/`/g, "``")}\``);
    return null;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { sqlMessage?: string };
    return (
      `MariaDB is not reachable at ${url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")}: ${err.code ?? ""} ${err.sqlMessage ?? err.message}`.trim() +
      "\n  Start one (see docs / toolchain notes §4.1) or run `bash .ci/run`, which installs and starts MariaDB with root/empty password on 127.0.0.1:3306." +
      (err.code === "ER_ACCESS_DENIED_ERROR" || /1698/.test(String(err.message))
        ? "\n  Debian's root is unix_socket-only by default; fix with: mariadb -e \"ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket\""
        : "")
    );
  } finally {
    await conn?.end().catch(() => {});
  }
}

export default async function globalSetup(): Promise<void> {
  const url = process.env.TLIM_TEST_MYSQL_URL || DEFAULT_MYSQL_URL;
  const problems = [checkProsody(), await checkMysql(url)].filter((p): p is string => p !== null);
  if (problems.length === 0) return;
  const text = `tlim test environment is incomplete:\n- ${problems.join("\n- ")}`;
  if (process.env.TLIM_TEST_ALLOW_MISSING === "1") {
    console.warn(`WARNING (TLIM_TEST_ALLOW_MISSING=1): ${text}\nTests that need these servers will fail.`);
    return;
  }
  throw new Error(`${text}\n(Tests fail rather than skip when Prosody or MariaDB is missing; set TLIM_TEST_ALLOW_MISSING=1 to only warn.)`);
}
