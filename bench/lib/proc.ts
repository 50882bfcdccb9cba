// Process and machine accounting from /proc (Linux only): CPU of one pid, its RSS, and how busy
// the whole machine is. Used at the edges of every measured window (docs/performance.md "Method").
import { readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";

let clkTck = 100;
try {
  clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  /* 100 on every Linux we care about */
}

/** utime + stime of a process in seconds, or null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clkTck; // fields 14 and 15 of stat(5)
  } catch {
    return null;
  }
}

/** Resident set size in MiB (VmRSS), or null. */
export function rssMiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Peak RSS in MiB (VmHWM), or null. */
export function peakRssMiB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine (all cores). */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
  return { busy: total - idle, total };
}

/** The first local process whose command name is one of `names` (e.g. the MariaDB server). */
export function findPid(names: readonly string[]): number | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      if (names.includes(comm)) return Number(entry);
    } catch {
      /* raced with exit */
    }
  }
  return null;
}

export interface Machine {
  cores: number;
  cpuModel: string;
  ramGiB: number;
  kernel: string;
}

export function machine(): Machine {
  let kernel = "";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    /* not Linux */
  }
  const c = cpus();
  return { cores: c.length, cpuModel: c[0]?.model ?? "?", ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, kernel };
}

/**
 * CPU meter over a window: call start() at the window's first edge and stop() at its last.
 * Reports each watched pid's CPU as a share of one core (100 = one full core) and the machine's
 * busy share of all cores, plus "other": machine busy minus the watched processes, in % of one
 * core (the outside-load check, docs/performance.md "Method").
 */
export class CpuMeter {
  private t0 = 0;
  private m0 = { busy: 0, total: 0 };
  private p0 = new Map<string, number>();

  constructor(private readonly pids: Record<string, number | null | undefined>) {}

  start(): void {
    this.t0 = performance.now();
    this.m0 = machineTicks();
    for (const [name, pid] of Object.entries(this.pids)) {
      const c = pid ? cpuSeconds(pid) : null;
      if (c !== null) this.p0.set(name, c);
    }
  }

  stop(): { cpu: Record<string, number>; machineBusyPct: number; otherPctOfCore: number } {
    const seconds = (performance.now() - this.t0) / 1000;
    const m1 = machineTicks();
    const cpu: Record<string, number> = {};
    let watched = 0;
    for (const [name, pid] of Object.entries(this.pids)) {
      const before = this.p0.get(name);
      const after = pid ? cpuSeconds(pid) : null;
      if (before === undefined || after === null) continue;
      cpu[name] = ((after - before) / seconds) * 100;
      watched += cpu[name]!;
    }
    const dt = m1.total - this.m0.total;
    const busyShare = dt > 0 ? (m1.busy - this.m0.busy) / dt : 0;
    const cores = cpus().length;
    return { cpu, machineBusyPct: busyShare * 100, otherPctOfCore: Math.max(0, busyShare * cores * 100 - watched) };
  }
}

/** Waits until the machine is under `maxBusyPct` busy over a 1 s window (at most `maxWaitMs`). */
export async function quietGate(maxBusyPct = 10, maxWaitMs = 20_000): Promise<{ waitedMs: number; busyPct: number }> {
  const t0 = Date.now();
  let busyPct = 100;
  while (Date.now() - t0 < maxWaitMs) {
    const a = machineTicks();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineTicks();
    busyPct = ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 100;
    if (busyPct < maxBusyPct) break;
  }
  return { waitedMs: Date.now() - t0, busyPct };
}

/** A fixed CPU-bound loop (host-speed canary, docs/performance.md "Method"): its time in ms. */
export function canaryMs(): number {
  const t0 = performance.now();
  let x = 0;
  let s = "";
  for (let i = 0; i < 20_000_000; i++) x += i & 7;
  for (let i = 0; i < 300_000; i++) s = (i % 97 === 0 ? "" : s) + String.fromCharCode(97 + (i % 26));
  if (x < 0 || s === "!") console.log(""); // keep the loops alive
  return performance.now() - t0;
}
