// npm run bench: the benchmark suite (issue 6). Starts what it needs (a throwaway database per
// run on the MariaDB at TLIM_BENCH_MYSQL_URL, SQLite files, Prosody from the test harness, tlim
// as a child process), runs every scenario for a fixed time after a warm-up, prints one table and
// writes bench/results/latest.json (+ latest.md). docs/performance.md explains the method.
//
// Knobs (environment):
//   BENCH_ONLY=ceiling,component,e2e,fanout,offline,jim   scenarios to run (default: all)
//   BENCH_DURATION_S=15  measured seconds per throughput run      BENCH_WARMUP_S=3
//   BENCH_PAIRS=100 BENCH_WINDOW=16          component path: sender/receiver pairs, window each
//   BENCH_E2E_PAIRS=50 BENCH_E2E_WINDOW=8    end to end: K pairs, W in flight per pair
//   BENCH_FANOUT_MEMBERS=1000 BENCH_FANOUT_MESSAGES=20  BENCH_OFFLINE_PENDING=10000
//   BENCH_PROFILE=1      also profile tlim (node --cpu-prof) on the component path; summaries go
//                        into latest.json, raw .cpuprofile files into bench/results/profiles/
//   BENCH_EXPERIMENTS=nodelay          also run the component path with not-yet-applied
//                        optimisations (bench/experiments.ts), for before/after figures
//   BENCH_QUIET_GATE=0   do not wait for a quiet machine before each run
//   TLIM_BENCH_MYSQL_URL=mysql://root@127.0.0.1:3306/test
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchMysqlUrl, mariadbVersion, query, sqliteVersion } from "./lib/db.js";
import { formatSummary, type ProfileSummary } from "./lib/profile.js";
import { canaryMs, machine, quietGate } from "./lib/proc.js";
import { progress, row, table, type ResultRow } from "./lib/report.js";
import { fmtInt, fmtMs, round } from "./lib/stats.js";
import { BENCH_DIR, buildForProfile, REPO_DIR } from "./lib/tlim-process.js";
import { runMysqlCeiling, runSqliteCeiling } from "./scenarios/ceiling.js";
import { runComponentPath, runStoreOnly } from "./scenarios/component.js";
import { ensureLuaDbiMysql, prosodyVersion, runE2e } from "./scenarios/e2e.js";
import { runFanout } from "./scenarios/fanout.js";
import { runJim } from "./scenarios/jim.js";
import { runOffline } from "./scenarios/offline.js";

const env = process.env;
const num = (name: string, dflt: number) => (env[name] ? Number(env[name]) : dflt);
const SCENARIOS = ["ceiling", "component", "e2e", "fanout", "offline", "jim"] as const;
const only = new Set((env.BENCH_ONLY ?? SCENARIOS.join(",")).split(",").map((s) => s.trim()).filter(Boolean));
for (const s of only) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`BENCH_ONLY: unknown scenario '${s}' (known: ${SCENARIOS.join(", ")})`);
const settings = {
  measureS: num("BENCH_DURATION_S", 15),
  warmupS: num("BENCH_WARMUP_S", 3),
  pairs: num("BENCH_PAIRS", 100),
  window: num("BENCH_WINDOW", 16),
  e2ePairs: num("BENCH_E2E_PAIRS", 50),
  e2eWindow: num("BENCH_E2E_WINDOW", 8),
  fanoutMembers: num("BENCH_FANOUT_MEMBERS", 1000),
  fanoutMessages: num("BENCH_FANOUT_MESSAGES", 20),
  offlinePending: num("BENCH_OFFLINE_PENDING", 10_000),
  profile: env.BENCH_PROFILE === "1",
  experiments: (env.BENCH_EXPERIMENTS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
  quietGate: env.BENCH_QUIET_GATE !== "0",
  only: [...only],
};

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_DIR, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: REPO_DIR, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

const rows: ResultRow[] = [];
/** Outside load (% of a core) above which a throughput run is repeated (quiet: 2–10 %). */
const RETRY_ABOVE = num("BENCH_RETRY_ABOVE", 30);
const gates: Array<{ before: string; waitedMs: number; busyPct: number; canaryMs: number }> = [];
const profiles: Array<{ run: string; file: string | null; summary: ProfileSummary | null }> = [];

/** CPU of the machine outside the measured processes during a run, in % of one core. */
const otherLoad = (r: ResultRow) => Number((r.extra as { otherCpuPctOfCore?: number }).otherCpuPctOfCore ?? 0);

/**
 * Each run: wait for a quiet machine, time the host-speed canary, run, keep the row. With
 * `retryAbove`, a run during which other processes used more than that share of a core (the
 * outside-load check, docs/performance.md "Method") is repeated, up to twice; the least disturbed is kept
 * and a row still above it says so.
 */
async function measured(label: string, f: () => Promise<ResultRow | ResultRow[]>, retryAbove?: number): Promise<ResultRow[]> {
  let best: ResultRow[] | null = null;
  for (let attempt = 0; attempt < (retryAbove === undefined ? 1 : 3); attempt++) {
    if (settings.quietGate) {
      const g = await quietGate(15, 20_000);
      const c = canaryMs();
      gates.push({ before: label, waitedMs: g.waitedMs, busyPct: round(g.busyPct, 1), canaryMs: round(c, 1) });
      if (g.busyPct >= 15) progress(`machine still ${Math.round(g.busyPct)} % busy after ${g.waitedMs} ms (other work on this machine); running anyway`);
    }
    let list: ResultRow[];
    try {
      const out = await f();
      list = Array.isArray(out) ? out : [out];
    } catch (err) {
      const message = (err as Error).message.split("\n")[0]!.slice(0, 200);
      progress(`${label}: FAILED: ${message}`);
      list = [row({ scenario: label, variant: "failed", notes: `failed: ${message}` })];
      rows.push(...list);
      return list;
    }
    if (!best || otherLoad(list[0]!) < otherLoad(best[0]!)) best = list;
    if (retryAbove === undefined || otherLoad(list[0]!) <= retryAbove) break;
    progress(`${label}: other processes used ${Math.round(otherLoad(list[0]!))} % of a core during the run; repeating it`);
  }
  for (const r of best!) {
    if (retryAbove !== undefined && otherLoad(r) > retryAbove) r.notes += `; ⚠ other load ${Math.round(otherLoad(r))} % of a core`;
  }
  rows.push(...best!);
  return best!;
}

async function main(): Promise<void> {
  const started = new Date();
  progress(`tlim bench: scenarios ${[...only].join(", ")}; ${settings.warmupS} s warm-up + ${settings.measureS} s measured per throughput run`);
  const mysqlUrl = benchMysqlUrl();
  try {
    await query(mysqlUrl, ["SELECT 1"]);
  } catch (err) {
    throw new Error(`MariaDB at ${mysqlUrl.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")} is unreachable (set TLIM_BENCH_MYSQL_URL): ${(err as Error).message}`);
  }
  const lua = only.has("e2e") ? ensureLuaDbiMysql() : { ok: true, note: "not needed" };
  const m = machine();
  const versions = {
    tlim: (JSON.parse(readFileSync(join(REPO_DIR, "package.json"), "utf8")) as { version: string }).version,
    gitCommit: git(["rev-parse", "--short", "HEAD"]),
    uncommittedSrcFiles: git(["status", "--porcelain", "--", "src"]).split("\n").filter(Boolean).length,
    node: process.version,
    prosody: prosodyVersion(),
    mariadb: await mariadbVersion(),
    sqlite: sqliteVersion(),
    mysql2: pkgVersion("mysql2"),
    betterSqlite3: pkgVersion("better-sqlite3"),
    typeorm: pkgVersion("typeorm"),
    xmppComponent: pkgVersion("@xmpp/component"),
    luaDbiMysql: lua.note,
  };
  progress(`machine: ${m.cores} cores (${m.cpuModel}), ${m.ramGiB} GiB RAM, kernel ${m.kernel}`);
  progress(`versions: ${JSON.stringify(versions)}`);

  if (only.has("ceiling")) {
    await measured("1 ceiling", () => runMysqlCeiling(1, settings.warmupS, settings.measureS));
    await measured("1 ceiling", () => runMysqlCeiling(4, settings.warmupS, settings.measureS));
    await measured("1 ceiling", () => runSqliteCeiling(settings.warmupS, settings.measureS));
  }

  if (only.has("component")) {
    const base = { pairs: settings.pairs, window: settings.window, warmupS: settings.warmupS, measureS: settings.measureS };
    for (const db of ["mariadb", "sqlite"] as const) {
      const [closed] = await measured("2 component path", () => runComponentPath({ ...base, db }), RETRY_ABOVE);
      const rate = closed?.rate ? Math.round(closed.rate / 2) : 0;
      if (rate > 0) await measured("2 component path", () => runComponentPath({ ...base, db, rate }), RETRY_ABOVE);
    }
    for (const db of ["mariadb", "sqlite"] as const) {
      await measured("2 component path", () => runStoreOnly(db, 500, settings.warmupS, Math.min(settings.measureS, 10)), RETRY_ABOVE);
    }
    for (const exp of settings.experiments.length ? [settings.experiments] : []) {
      const [closed] = await measured("2 component path", () => runComponentPath({ ...base, db: "mariadb", experiments: exp }), RETRY_ABOVE);
      const rate = closed?.rate ? Math.round(closed.rate / 2) : 0;
      if (rate > 0) await measured("2 component path", () => runComponentPath({ ...base, db: "mariadb", rate, experiments: exp }), RETRY_ABOVE);
    }
  }

  if (only.has("e2e")) {
    const configs = lua.ok ? (["prosody", "mam", "tlim"] as const) : (["prosody", "tlim"] as const);
    if (!lua.ok) rows.push(row({ scenario: "3 end to end", variant: "Prosody + mod_mam → MariaDB", notes: `not measured: ${lua.note}` }));
    for (const config of configs) {
      // mod_mam's fsync per row shows as kernel time outside the processes: no retry for it.
      await measured("3 end to end", () => runE2e({ config, pairs: settings.e2ePairs, window: settings.e2eWindow, warmupS: settings.warmupS, measureS: settings.measureS }), config === "mam" ? undefined : RETRY_ABOVE);
    }
  }

  if (only.has("fanout")) {
    for (const db of ["mariadb", "sqlite"] as const) {
      await measured("4 fan-out", () => runFanout({ db, members: settings.fanoutMembers, messages: settings.fanoutMessages }));
    }
  }

  if (only.has("offline")) {
    for (const db of ["mariadb", "sqlite"] as const) {
      await measured("5 offline sync", () => runOffline({ db, pending: settings.offlinePending, httpUsers: 3 }));
    }
  }

  if (only.has("jim")) {
    await measured("6 J-IM connections", () => runJim({ warmupS: settings.warmupS, measureS: settings.measureS }));
  }

  if (settings.profile && only.has("component")) {
    progress("profiling: building with tsc for real line numbers (bench/.build)");
    let compiled = true;
    try {
      buildForProfile();
    } catch (err) {
      compiled = false; // the tree does not compile right now: profile through tsx (one line per module)
      progress(`profiling: tsc build failed, profiling through tsx instead: ${(err as Error).message.split("\n").slice(0, 3).join(" ")}`);
    }
    const dir = join(BENCH_DIR, "results", "profiles");
    for (const db of ["mariadb", "sqlite"] as const) {
      const [r] = await measured("2 component path (profiled)", () =>
        runComponentPath({ db, pairs: settings.pairs, window: settings.window, warmupS: settings.warmupS, measureS: settings.measureS, profileDir: dir, compiled, label: `component-${db}` }),
      );
      const extra = (r?.extra ?? {}) as { profile?: string | null; profileSummary?: ProfileSummary | null };
      // Profiled runs are slower (sampling); they stay out of the table.
      rows.splice(rows.indexOf(r!), 1);
      profiles.push({ run: `component path, ${db}, closed loop (profiled)`, file: extra.profile ?? null, summary: extra.profileSummary ?? null });
      if (extra.profileSummary) process.stderr.write(`\n--- profile: component path, ${db} (measured window only) ---\n${formatSummary(extra.profileSummary, 15)}\n\n`);
    }
  }

  const targets = evaluateTargets(rows);
  const out = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: m,
    versions,
    settings,
    gates,
    rows: rows.map((r) => ({ ...r, extra: { ...r.extra, profileSummary: undefined } })),
    targets,
    profiles,
  };
  const dir = join(BENCH_DIR, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), JSON.stringify(out, null, 2) + "\n");
  const md = [
    `Measured ${started.toISOString().slice(0, 16).replace("T", " ")} UTC on ${m.cores} cores (${m.cpuModel}), ${m.ramGiB} GiB RAM; ` +
      `tlim ${versions.tlim} (${versions.gitCommit}${versions.uncommittedSrcFiles ? `, ${versions.uncommittedSrcFiles} uncommitted src files` : ""}), ` +
      `Node ${versions.node}, Prosody ${versions.prosody}, MariaDB ${versions.mariadb}, SQLite ${versions.sqlite}, mysql2 ${versions.mysql2}. ` +
      `${settings.warmupS} s warm-up + ${settings.measureS} s measured per throughput run.`,
    "",
    table(rows),
    "",
    "Targets:",
    "",
    ...targets.map((t) => `- ${t.ok === null ? "–" : t.ok ? "MET" : "NOT MET"}: ${t.target}: ${t.measured}`),
    "",
  ].join("\n");
  writeFileSync(join(dir, "latest.md"), md);
  process.stdout.write(`\n${md}\nwritten: bench/results/latest.json, bench/results/latest.md\n`);
}

interface TargetCheck {
  target: string;
  measured: string;
  ok: boolean | null;
}

function evaluateTargets(all: ResultRow[]): TargetCheck[] {
  const find = (scenario: string, pred: (v: string) => boolean) => all.find((r) => r.scenario === scenario && pred(r.variant) && r.rate !== null);
  const out: TargetCheck[] = [];
  const comp = find("2 component path", (v) => v.startsWith("MariaDB, closed loop") && !v.includes("+"));
  const open = find("2 component path", (v) => v.startsWith("MariaDB, open loop") && !v.includes("+"));
  const ceil1 = find("1 ceiling", (v) => v.endsWith("1 conn"));
  const ceil4 = find("1 ceiling", (v) => v.endsWith("4 conn"));
  if (comp) {
    out.push({ target: "component path on MariaDB ≥ 20,000 msg/s sustained", measured: `${fmtInt(comp.rate)} msg/s (${round((comp.rate! / 20000) * 100, 0)} % of the target)`, ok: comp.rate! >= 20000 });
    if (ceil1) {
      const pct = (comp.rate! / ceil1.rate!) * 100;
      out.push({
        target: "component path ≥ 25 % of the ceiling's rows/s (same run)",
        measured: `${round(pct, 1)} % of the 1-connection ceiling (${fmtInt(ceil1.rate)} rows/s)${ceil4 ? `, ${round((comp.rate! / ceil4.rate!) * 100, 1)} % of the 4-connection one` : ""}; tlim writes 3 rows per 1:1 message (1 message + 2 inbox), so that is ${round(pct * 3, 0)} % of the ceiling in rows`,
        ok: pct >= 25,
      });
    }
  }
  if (open) {
    out.push({ target: "p99 ≤ 20 ms at half the rate (open loop, MariaDB)", measured: `p99 ${fmtMs(open.p99)} ms at ${fmtInt(open.rate)} msg/s`, ok: open.p99 !== null && open.p99 <= 20 });
  }
  const e2e = find("3 end to end", (v) => v.startsWith("clients → Prosody → tlim"));
  const mam = find("3 end to end", (v) => v.startsWith("Prosody + mod_mam"));
  if (e2e && mam) {
    out.push({ target: "end to end ≥ Prosody + mod_mam (MariaDB), same run", measured: `${fmtInt(e2e.rate)} vs ${fmtInt(mam.rate)} msg/s (${round(e2e.rate! / mam.rate!, 1)}×)`, ok: e2e.rate! >= mam.rate! });
  }
  const fan = find("4 fan-out", (v) => v.startsWith("MariaDB"));
  if (fan) {
    const x = fan.extra as { bodyStoredOnce?: boolean };
    out.push({ target: "fan-out to 1,000 online members ≤ 200 ms, body stored once (MariaDB)", measured: `last member after p50 ${fmtMs(fan.p50)} / max ${fmtMs(fan.max)} ms; body stored once: ${x.bodyStoredOnce ? "yes" : "no"}`, ok: fan.max !== null && fan.max <= 200 && !!x.bodyStoredOnce });
  }
  const off = find("5 offline sync", (v) => v.startsWith("MariaDB, HTTP"));
  if (off) {
    out.push({ target: "getOffline first page ≤ 50 ms with 10,000 pending (MariaDB)", measured: `p50 ${fmtMs(off.p50)} ms, worst ${fmtMs(off.max)} ms`, ok: off.max !== null && off.max <= 50 });
  }
  return out;
}

process.on("SIGINT", () => process.exit(130)); // exit hooks stop tlim children and Prosody
main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
