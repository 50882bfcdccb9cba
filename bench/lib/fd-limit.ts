// The open-files limit of one process the bench started (never the bench's own, never the
// system's): raised with `prlimit --pid` (util-linux; needs root, or CAP_SYS_RESOURCE, to go
// above the hard limit), and read back from /proc/<pid>/limits so a scenario knows what it got.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface FdLimit {
  /** The soft limit now in force (what the process can open). */
  soft: number;
  hard: number;
  /** Set when the limit could not be raised to what was asked: why. */
  note: string;
  /** The same, short: "not root", "root without CAP_SYS_RESOURCE", … */
  why: string;
}

/** Soft and hard RLIMIT_NOFILE of a process, from /proc (Linux). */
export function fdLimitOf(pid: number): { soft: number; hard: number } | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    if (!m) return null;
    const n = (s: string) => (s === "unlimited" ? Infinity : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return null;
  }
}

/** Highest limit the kernel allows a process (fs.nr_open). */
export function nrOpen(): number {
  try {
    return Number(readFileSync("/proc/sys/fs/nr_open", "utf8").trim()) || 1_048_576;
  } catch {
    return 1_048_576;
  }
}

/** Why raising a hard limit is refused here: not root, or root without CAP_SYS_RESOURCE (a container). */
function whyRefused(): string {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? "0"}`);
    const sysResource = (capEff >> 24n) & 1n; // CAP_SYS_RESOURCE
    if (uid !== "0") return "not root";
    if (sysResource === 0n) return "root, but without CAP_SYS_RESOURCE (dropped from this container's capability set)";
  } catch {
    /* not Linux */
  }
  return "";
}

/** Open file descriptors of a process now (/proc/<pid>/fd). */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** Raises a child's soft and hard open-files limit to `want` (capped at fs.nr_open). */
export function raiseFdLimit(pid: number, want: number): FdLimit {
  const target = Math.min(want, nrOpen());
  const before = fdLimitOf(pid);
  if (before && before.soft >= target) return { ...before, note: "", why: "" };
  const r = spawnSync("prlimit", [`--pid=${pid}`, `--nofile=${target}:${target}`], { encoding: "utf8" });
  const after = fdLimitOf(pid) ?? before ?? { soft: 0, hard: 0 };
  if (after.soft >= target) return { ...after, note: "", why: "" };
  // Not root: at least the soft limit can go up to the hard one.
  if (after.soft < after.hard) spawnSync("prlimit", [`--pid=${pid}`, `--nofile=${after.hard}:${after.hard}`], { encoding: "utf8" });
  const last = fdLimitOf(pid) ?? after;
  const why = r.error ? `prlimit not runnable (${(r.error as NodeJS.ErrnoException).code})` : (r.stderr || `prlimit exited ${r.status}`).trim().split("\n")[0];
  const who = whyRefused();
  return {
    ...last,
    note: `open-files limit stays ${last.soft} (hard ${last.hard}; asked ${target}: ${why}${who ? `; ${who}` : ""})`,
    why: who.startsWith("root, but without") ? "root without CAP_SYS_RESOURCE" : who || why,
  };
}
