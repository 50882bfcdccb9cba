// Interleaved A/B runs of the component path with and without not-yet-applied optimisations
// (bench/experiments.ts), each repeated, quiet-gated, and re-run when other processes disturbed it:
//
//   npx tsx bench/ab.ts [--db mariadb|sqlite] [--seconds 10] [--rate N] [--reps 2] [--batch N] [--pipeline N] [--sql-timing] <config>…
//   config: "base", or experiments joined with "+", e.g.  base iqonly cork+rawstanza+iqonly
//
// One JSON line per run on stdout (docs/performance.md "What the experiments bought").
import { quietGate } from "./lib/proc.js";
import { runComponentPath } from "./scenarios/component.js";
import { EXPERIMENTS } from "./experiments.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args.splice(i, 2)[1]! : dflt;
};
const db = opt("db", "mariadb") as "mariadb" | "sqlite";
const seconds = Number(opt("seconds", "10"));
const rate = Number(opt("rate", "0"));
const reps = Number(opt("reps", "2"));
const batch = Number(opt("batch", "0"));
const pipeline = Number(opt("pipeline", "0"));
const sqlTiming = args.includes("--sql-timing");
if (sqlTiming) {
  args.splice(args.indexOf("--sql-timing"), 1);
  process.env.BENCH_SQL_TIMING = "1";
}
const configs = (args.length ? args : ["base"]).map((c) => (c === "base" ? [] : c.split("+")));
for (const c of configs) for (const e of c) if (!(EXPERIMENTS as readonly string[]).includes(e)) throw new Error(`unknown experiment '${e}'`);

for (let r = 0; r < reps; r++) {
  for (const experiments of configs) {
    let result: Awaited<ReturnType<typeof runComponentPath>> | null = null;
    for (let attempt = 0; attempt < 4; attempt++) {
      await quietGate(10, 30_000);
      result = await runComponentPath({ db, pairs: 100, window: 16, warmupS: 3, measureS: seconds, rate: rate || undefined, experiments, extraConfig: { ...(batch ? { writeBatchMax: batch } : {}), ...(pipeline ? { writePipeline: pipeline } : {}) } });
      if (Number((result.extra as { otherCpuPctOfCore?: number }).otherCpuPctOfCore ?? 0) <= 25) break;
    }
    const e = result!.extra as Record<string, any>;
    console.log(JSON.stringify({
      config: (experiments.join("+") || "base") + (batch ? ` batch=${batch}` : "") + (pipeline ? ` pipeline=${pipeline}` : ""), rate: Math.round(result!.rate ?? 0), p50: result!.p50, p99: result!.p99, max: result!.max,
      cpu: e.cpuPctOfCore, meanBatch: e.meanBatch, commitMsPerBatch: e.commitMsPerBatch, commitBusyPct: e.commitBusyPct,
      eventLoopPct: e.eventLoopUtilisationPct, otherLoad: e.otherCpuPctOfCore,
      lost: e.lost, dup: e.duplicates, disorder: e.outOfOrder, errors: e.errors, rows: e.rowsCheck, ...(sqlTiming ? { sql: e.sqlPerBatch } : {}),
    }));
  }
}
process.exit(0);
