// The bench's side of the J-IM load drivers (bench/lib/jim-driver.ts): starts `drivers` Node
// processes, raises each one's open-files limit (that process only), hands each its slice of the
// users and of the source addresses, and gathers what they report.
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { raiseFdLimit, type FdLimit } from "./fd-limit.js";
import type { DriverCounters, DriverDone, DriverStart } from "./jim-driver.js";
import { BENCH_DIR, REPO_DIR } from "./tlim-process.js";

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export interface FleetPlan extends Omit<DriverStart, "from" | "count" | "addresses" | "inflight"> {
  drivers: number;
  /** Connections in all. */
  total: number;
  /** Source addresses in all (each driver takes every `drivers`-th one, or shares when fewer). */
  addresses: string[];
  /** Logins in flight in all. */
  inflight: number;
}

export class JimFleet {
  private constructor(
    private readonly procs: ChildProcess[],
    readonly fdLimits: FdLimit[],
    readonly pids: number[],
  ) {}

  /** Starts the driver processes, each with an open-files limit for `perDriverFds`. */
  static async start(drivers: number, perDriverFds: number): Promise<JimFleet> {
    const procs: ChildProcess[] = [];
    const limits: FdLimit[] = [];
    for (let d = 0; d < drivers; d++) {
      const proc = fork(join(BENCH_DIR, "lib", "jim-driver.ts"), [], {
        cwd: REPO_DIR,
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      live.add(proc);
      proc.once("exit", () => live.delete(proc));
      limits.push(raiseFdLimit(proc.pid!, perDriverFds));
      procs.push(proc);
    }
    await Promise.all(procs.map((p) => once(p, (m) => m.type === "ready", 30_000, "J-IM driver did not start")));
    return new JimFleet(procs, limits, procs.map((p) => p.pid!));
  }

  /** Opens and logs in every connection; `onProgress` every 2 s with the total so far. */
  async connect(plan: FleetPlan, onProgress: (connected: number, failed: number) => void): Promise<DriverDone[]> {
    const n = this.procs.length;
    const progress = new Array<{ connected: number; failed: number }>(n).fill({ connected: 0, failed: 0 });
    const done = this.procs.map((p, d) => {
      const on = (m: { type: string; connected: number; failed: number }) => {
        if (m.type !== "progress") return;
        progress[d] = m;
        if (d === 0) onProgress(progress.reduce((a, b) => a + b.connected, 0), progress.reduce((a, b) => a + b.failed, 0));
      };
      p.on("message", on);
      return once<DriverDone>(p, (m) => m.type === "done", 0, "").finally(() => p.off("message", on));
    });
    let from = 0;
    for (let d = 0; d < n; d++) {
      const count = Math.floor(plan.total / n) + (d < plan.total % n ? 1 : 0);
      const addresses = plan.addresses.length >= n ? plan.addresses.filter((_, k) => k % n === d) : plan.addresses;
      const start: DriverStart = {
        host: plan.host,
        port: plan.port,
        tokenSecret: plan.tokenSecret,
        prefix: plan.prefix,
        from,
        count,
        addresses,
        inflight: Math.max(1, Math.round(plan.inflight / n)),
        heartbeatS: plan.heartbeatS,
        loginTimeoutMs: plan.loginTimeoutMs,
        maxFailures: plan.maxFailures,
      };
      this.procs[d]!.send({ type: "start", ...start });
      from += count;
    }
    return Promise.all(done);
  }

  async heartbeats(on: boolean): Promise<void> {
    await Promise.all(
      this.procs.map((p) => {
        const acked = once(p, (m) => m.type === "ack", 10_000, "J-IM driver did not answer");
        p.send({ type: "heartbeats", on });
        return acked;
      }),
    );
  }

  /** The drivers' counters, summed. */
  async counters(): Promise<Omit<DriverCounters, "type" | "memory"> & { driverRssMiB: number }> {
    const all = await Promise.all(
      this.procs.map((p) => {
        const got = once<DriverCounters>(p, (m) => m.type === "counters", 10_000, "J-IM driver did not answer");
        p.send({ type: "counters" });
        return got;
      }),
    );
    const sum = (k: "open" | "heartbeatsSent" | "heartbeatReplies" | "closedByServer") => all.reduce((a, c) => a + c[k], 0);
    return {
      open: sum("open"),
      heartbeatsSent: sum("heartbeatsSent"),
      heartbeatReplies: sum("heartbeatReplies"),
      closedByServer: sum("closedByServer"),
      driverRssMiB: all.reduce((a, c) => a + c.memory.rss, 0) / 2 ** 20,
    };
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map((p) => {
        if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
        const exited = new Promise<void>((r) => p.once("exit", () => r()));
        const t = setTimeout(() => p.kill("SIGKILL"), 20_000);
        p.send({ type: "stop" });
        return exited.finally(() => clearTimeout(t));
      }),
    );
  }
}

function once<T = { type: string }>(p: ChildProcess, match: (m: { type: string }) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = timeoutMs > 0 ? setTimeout(() => finish(new Error(`${what} within ${timeoutMs / 1000} s`)), timeoutMs) : null;
    const on = (m: { type: string }) => {
      if (m && typeof m === "object" && match(m)) finish(null, m as T);
    };
    const exit = (code: number | null) => finish(new Error(`J-IM driver exited (${code})`));
    const finish = (err: Error | null, value?: T) => {
      if (t) clearTimeout(t);
      p.off("message", on);
      p.off("exit", exit);
      if (err) reject(err);
      else resolve(value!);
    };
    p.on("message", on);
    p.once("exit", exit);
  });
}
