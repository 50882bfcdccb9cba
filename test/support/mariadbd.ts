// A MariaDB server of the test's own (a throwaway datadir on a free loopback port), for tests that
// stop the database under load (SIGSTOP) or kill it; the shared test server is never touched.
// As root, mariadbd runs as root (`--user=root`), as .ci/run starts its own.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { freePort } from "./processes.js";

export interface MariadbHandle {
  /** mysql://root@127.0.0.1:<port>/tlim */
  url: string;
  pid: number;
  /** SIGSTOP: the server hangs, its sockets stay open. */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  stop(): Promise<void>;
}

function which(cmd: string): string {
  const r = spawnSync("sh", ["-c", `command -v ${cmd} || ls /usr/sbin/${cmd} 2>/dev/null`], { encoding: "utf8" });
  const path = r.stdout.trim().split("\n")[0];
  if (!path) throw new Error(`${cmd} is not installed (apt-get install mariadb-server)`);
  return path;
}

export async function startMariadbd(): Promise<MariadbHandle> {
  const dir = mkdtempSync(join(tmpdir(), "tlim-mariadbd-"));
  const user = userInfo().username;
  const install = spawnSync(which("mariadb-install-db"), [
    "--no-defaults", `--user=${user}`, `--datadir=${join(dir, "data")}`, "--auth-root-authentication-method=normal", "--skip-test-db",
  ], { encoding: "utf8", timeout: 60_000 });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`);
  const port = await freePort();
  const proc: ChildProcess = spawn(which("mariadbd"), [
    "--no-defaults", `--user=${user}`, `--datadir=${join(dir, "data")}`, `--socket=${join(dir, "mysqld.sock")}`,
    `--pid-file=${join(dir, "mysqld.pid")}`, `--port=${port}`, "--bind-address=127.0.0.1", "--skip-name-resolve",
    `--log-error=${join(dir, "error.log")}`, "--innodb-buffer-pool-size=32M",
  ], { stdio: "ignore" });
  const killNow = () => {
    try {
      process.kill(proc.pid!, "SIGCONT");
      proc.kill("SIGKILL");
    } catch {
      // gone
    }
  };
  process.once("exit", killNow);
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      const c = await mysql.createConnection({ host: "127.0.0.1", port, user: "root", password: "" });
      await c.query("CREATE DATABASE IF NOT EXISTS tlim CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
      await c.end();
      break;
    } catch (err) {
      if (Date.now() > until || proc.exitCode !== null) {
        killNow();
        throw new Error(`mariadbd did not come up on ${port}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url: `mysql://root@127.0.0.1:${port}/tlim`,
    pid: proc.pid!,
    freeze: () => process.kill(proc.pid!, "SIGSTOP"),
    thaw: () => process.kill(proc.pid!, "SIGCONT"),
    async stop() {
      process.off("exit", killNow);
      killNow();
      await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
