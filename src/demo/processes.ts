// Child-process helpers of `tlim demo` (and of the test harness, test/support/processes.ts, which
// re-exports them): free loopback ports, a readiness probe, and a watchdog that cleans up after a
// parent that died.
import { spawn, type ChildProcess } from "node:child_process";
import { connect, createServer } from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("no port from listen(0)"))));
    });
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port (1 s timeout). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      s.removeAllListeners();
      s.on("error", () => {});
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A tiny shell that runs `cleanup` (with `args` as $1, $2, …) once this process is gone, however
 * it went (even SIGKILL): its stdin is a pipe from this process, and `read` returns when the pipe
 * closes. INT/HUP are ignored so a terminal ^C cannot kill it before it has done its job; the
 * caller ends it with SIGKILL when it cleaned up itself.
 */
export function spawnWatchdog(name: string, cleanup: string, args: string[]): ChildProcess | null {
  try {
    const w = spawn("sh", ["-c", `trap '' INT HUP; read _ ; ${cleanup}`, name, ...args], { stdio: ["pipe", "ignore", "ignore"] });
    w.on("error", () => {});
    w.stdin?.on("error", () => {});
    w.unref();
    // The pipe must not keep the event loop alive.
    (w.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return w;
  } catch {
    return null;
  }
}
