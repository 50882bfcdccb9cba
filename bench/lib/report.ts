// What each scenario hands back, progress output, and the final table.
import { fmtInt, fmtMs } from "./stats.js";

export interface ResultRow {
  /** "1 ceiling", "2 component", … */
  scenario: string;
  variant: string;
  /** Throughput in `unit` per second, over the measured window. */
  rate: number | null;
  unit: string;
  p50: number | null;
  p99: number | null;
  max: number | null;
  /** % of one core, over the measured window. */
  tlimCpu: number | null;
  tlimRssMiB: number | null;
  notes: string;
  extra: Record<string, unknown>;
}

export function row(partial: Partial<ResultRow> & Pick<ResultRow, "scenario" | "variant">): ResultRow {
  return { rate: null, unit: "msg/s", p50: null, p99: null, max: null, tlimCpu: null, tlimRssMiB: null, notes: "", extra: {}, ...partial };
}

const t0 = Date.now();
export function progress(msg: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

/** One markdown table; fits a terminal and docs/performance.md alike. */
export function table(rows: ResultRow[]): string {
  const head = ["scenario", "variant", "rate", "p50 ms", "p99 ms", "max ms", "tlim CPU", "tlim RSS", "notes"];
  const lines = rows.map((r) => [
    r.scenario,
    r.variant,
    r.rate === null ? "—" : `${fmtInt(r.rate)} ${r.unit}`,
    fmtMs(r.p50),
    fmtMs(r.p99),
    fmtMs(r.max),
    r.tlimCpu === null ? "—" : `${Math.round(r.tlimCpu)} %`,
    r.tlimRssMiB === null ? "—" : `${Math.round(r.tlimRssMiB)} MiB`,
    r.notes,
  ]);
  const out = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i >= 2 && i <= 7 ? "---:" : "---")).join("|")}|`];
  for (const l of lines) out.push(`| ${l.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`);
  return out.join("\n");
}
