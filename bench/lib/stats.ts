// Latency samples and their percentiles; small number formatting helpers.

export class Latencies {
  private buf = new Float64Array(1 << 16);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    if (this.n === 0) return { n: 0, p50: null, p90: null, p99: null, max: null };
    const s = this.buf.slice(0, this.n).sort();
    const at = (q: number) => s[Math.min(this.n - 1, Math.max(0, Math.ceil(q * this.n) - 1))]!;
    return { n: this.n, p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(s[this.n - 1]!) };
  }
}

export interface LatencySummary {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** 12345.6 → "12,346" */
export function fmtInt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return Math.round(v).toLocaleString("en-US");
}

/** Milliseconds with sensible precision. */
export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (v >= 100) return `${Math.round(v)}`;
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
