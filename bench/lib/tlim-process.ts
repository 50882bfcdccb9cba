// Starts bench/tlim-child.ts as a separate Node process (tsx loader), optionally under
// --cpu-prof, and stops it cleanly (so the profile is written).
import { fork, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { raiseFdLimit, type FdLimit } from "./fd-limit.js";

const here = dirname(fileURLToPath(import.meta.url));
export const BENCH_DIR = join(here, "..");
export const REPO_DIR = join(BENCH_DIR, "..");

export interface TlimChild {
  pid: number;
  httpUrl: string;
  /** The J-IM gateway's port, or null (disabled or not built). */
  jimPort: number | null;
  /** What the experiments said when applied (e.g. not applicable). */
  notes: string[];
  proc: ChildProcess;
  /** Its open-files limit when `nofile` was asked (raised for this process only). */
  fdLimit: FdLimit | null;
  stats(): Promise<ChildStats>;
  /** Clean stop; resolves with the written .cpuprofile path when profiling. */
  stop(): Promise<string | null>;
}

export interface ChildStats {
  writer: { batches: number; messages: number; failures: number };
  /** Wall time inside Store.commitBatch (instrumented in the child). */
  commit: { calls: number; ms: number };
  /** BENCH_SQL_TIMING=1: per statement kind, count and wall ms (cumulative). */
  sql: Record<string, { n: number; ms: number }> | null;
  /** performance.eventLoopUtilization() of the child, cumulative. */
  elu: { idle: number; active: number; utilization: number };
  memory: NodeJS.MemoryUsage;
  link: string;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export async function startTlimChild(
  overrides: Record<string, unknown>,
  opts: { profileDir?: string; experiments?: string[]; name?: string; compiled?: boolean; nofile?: number; execArgv?: string[] } = {},
): Promise<TlimChild> {
  // `compiled`: run the tsc output in bench/.build (see buildForProfile) without tsx, so that a
  // profile has real line numbers (tsx's output puts a module on one line).
  const execArgv = opts.compiled ? [] : ["--import", "tsx"];
  const entry = opts.compiled ? join(BENCH_DIR, ".build", "bench", "tlim-child.js") : join(BENCH_DIR, "tlim-child.ts");
  if (opts.profileDir) {
    mkdirSync(opts.profileDir, { recursive: true });
    // No --cpu-prof-name: tsx's loader runs in a worker thread that writes its own profile, and
    // one fixed name would let it overwrite the main thread's. Default names end .<pid>.<tid>.
    execArgv.push("--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`);
  }
  execArgv.push(...(opts.execArgv ?? []));
  // BENCH_TLIM_NODE_ARGS: extra node flags for tlim only (e.g. GC sizing), to compare settings.
  execArgv.push(...(process.env.BENCH_TLIM_NODE_ARGS ?? "").split(" ").filter(Boolean));
  const proc = fork(entry, [], {
    cwd: REPO_DIR,
    execArgv,
    env: { ...process.env, BENCH_TLIM_CONFIG: JSON.stringify(overrides), BENCH_EXPERIMENTS: (opts.experiments ?? []).join(",") },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  // `nofile`: this child's open-files limit (scenario 6 holds a socket per J-IM connection), set
  // while it is still booting; never the bench's own limit nor the system's.
  const fdLimit = opts.nofile ? raiseFdLimit(proc.pid!, opts.nofile) : null;

  const ready = await new Promise<{ httpUrl: string; jimPort?: number | null; notes?: string[] }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("tlim child did not start within 30 s")), 30_000);
    proc.on("message", (m: any) => {
      if (m?.type === "ready") {
        clearTimeout(t);
        resolve(m);
      } else if (m?.type === "failed") {
        clearTimeout(t);
        reject(new Error(`tlim child failed: ${m.error}`));
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`tlim child exited early (${code})`));
    });
  });

  return {
    pid: proc.pid!,
    httpUrl: ready.httpUrl,
    jimPort: ready.jimPort ?? null,
    notes: ready.notes ?? [],
    proc,
    fdLimit,
    stats: () =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no stats from tlim child")), 5000);
        const on = (m: any) => {
          if (m?.type !== "stats") return;
          clearTimeout(t);
          proc.off("message", on);
          resolve(m as ChildStats);
        };
        proc.on("message", on);
        proc.send("stats");
      }),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return null;
      const before = opts.profileDir ? new Set(readdirSync(opts.profileDir)) : new Set<string>();
      const exited = new Promise<void>((r) => proc.once("exit", () => r()));
      proc.send("stop");
      const t = setTimeout(() => proc.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(t);
      if (!opts.profileDir) return null;
      // CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile; the main thread is tid 0.
      const added = readdirSync(opts.profileDir).filter((f) => !before.has(f) && f.endsWith(".cpuprofile"));
      const main = added.find((f) => f.includes(`.${proc.pid}.0.`));
      if (!main) return null;
      const named = join(opts.profileDir, `${opts.name ?? "tlim"}-${proc.pid}.cpuprofile`);
      renameSync(join(opts.profileDir, main), named);
      for (const f of added) if (f !== main) rmSync(join(opts.profileDir, f), { force: true });
      return named;
    },
  };
}

/** Compiles the project with tsc into bench/.build (about 2 s), for profiling runs. */
export function buildForProfile(): void {
  const tsc = join(REPO_DIR, "node_modules", ".bin", "tsc");
  const r = spawnSync(tsc, ["-p", ".", "--outDir", join(BENCH_DIR, ".build"), "--sourceMap", "false"], { cwd: REPO_DIR, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tsc build for profiling failed:\n${r.stdout}${r.stderr}`);
  copyFileSync(join(REPO_DIR, "package.json"), join(BENCH_DIR, ".build", "package.json")); // src/version.ts reads it
}
