// vitest globalSetup, once per project (vitest.config.ts: "prosody", "ejabberd"): check that the
// real servers the project's tests need are there.
// Project rule: tests FAIL (not skip) when Prosody, MariaDB or ejabberd cannot run. Set
// TLIM_TEST_ALLOW_MISSING=1 to turn the failure into a warning (tests that need the missing
// server will then fail on their own). The "prosody" project needs ejabberd too:
// test/integration/harness.test.ts proves both harnesses.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import mysql from "mysql2/promise";
import type { TestProject } from "vitest/node";
import { ejabberdctlPath } from "./ejabberd.js";
import { ensureBuilt } from "./build.js";
import { xmppServerFromEnv } from "./xmpp-server.js";

const DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test";

function checkProsody(): string | null {
  // Never run `prosody --version`: it starts a server with the system config (it is not a version flag).
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

function checkEjabberd(): string | null {
  // Only look: any ejabberdctl command but start/foreground needs a running node.
  const install = "Install it with `apt-get install ejabberd` (Debian 12 ships 23.01; the package starts a system ejabberd you may stop with `systemctl disable --now ejabberd`), or `bash .ci/run`. `npm test` runs the integration tests on Prosody and on ejabberd.";
  if (!ejabberdctlPath()) return `ejabberd is not installed (\`ejabberdctl\` is neither on PATH nor in /usr/sbin). ${install}`;
  if (!existsSync("/etc/ejabberd/inetrc")) return `/etc/ejabberd/inetrc is missing (test/support/ejabberd.ts copies it). ${install}`;
  const erl = spawnSync("sh", ["-c", "command -v erl"], { encoding: "utf8" });
  if (erl.status !== 0) return `\`ejabberdctl\` exists but \`erl\` (Erlang) is not on PATH. ${install}`;
  // ejabberdctl runs only as root (it switches to the ejabberd account) or as that account.
  const uid = process.getuid?.();
  if (uid === 0 && !/^ejabberd:/m.test(readFileSync("/etc/passwd", "utf8"))) return `there is no \`ejabberd\` account to run the server as. ${install}`;
  if (uid !== undefined && uid !== 0) {
    const me = spawnSync("id", ["-un"], { encoding: "utf8" }).stdout.trim();
    if (me !== "ejabberd") return `ejabberdctl runs only as root or as the \`ejabberd\` user (the tests run as \`${me}\`).`;
  }
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
      "\n  Start one, or run `bash .ci/run`, which installs and starts MariaDB with root/empty password on 127.0.0.1:3306." +
      (err.code === "ER_ACCESS_DENIED_ERROR" || /1698/.test(String(err.message))
        ? "\n  Debian's root is unix_socket-only by default; fix with: mariadb -e \"ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket\""
        : "")
    );
  } finally {
    await conn?.end().catch(() => {});
  }
}

export default async function globalSetup(project?: TestProject): Promise<void> {
  // Synchronous, before any await: the two projects' set-ups never build at the same time.
  ensureBuilt();
  const url = process.env.TLIM_TEST_MYSQL_URL || DEFAULT_MYSQL_URL;
  // The project's env is what its test workers get (vitest.config.ts); throws on a value that is
  // neither prosody nor ejabberd.
  const server = xmppServerFromEnv({ ...process.env, ...project?.config.env });
  const problems = [
    server === "prosody" ? checkProsody() : null,
    // harness.test.ts (in the "prosody" project) starts an ejabberd of its own.
    checkEjabberd(),
    await checkMysql(url),
  ].filter((p): p is string => p !== null);
  if (problems.length === 0) return;
  const text = `tlim test environment is incomplete:\n- ${problems.join("\n- ")}`;
  if (process.env.TLIM_TEST_ALLOW_MISSING === "1") {
    console.warn(`WARNING (TLIM_TEST_ALLOW_MISSING=1): ${text}\nTests that need these servers will fail.`);
    return;
  }
  throw new Error(`${text}\n(Tests fail rather than skip when Prosody, ejabberd or MariaDB is missing; set TLIM_TEST_ALLOW_MISSING=1 to only warn.)`);
}
