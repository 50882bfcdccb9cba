// What one hot-path metric update costs (docs/operations.md "Cost"): tlim's typed-array slots
// against prom-client's labelled counter and histogram, in the same run.
//
//   npx tsx bench/metrics.ts [iterations]
//
// One JSON line: ns per update of each. A micro-benchmark: compare the figures of one run only.
import { Counter, Histogram, Registry } from "prom-client";
import { FastCounter, FastHistogram } from "../src/metrics.js";

const n = Number(process.argv[2] ?? "5000000");
const buckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
const registry = new Registry();
const promCounter = new Counter({ name: "c", help: "c", labelNames: ["kind"], registers: [registry] });
const promHistogram = new Histogram({ name: "h", help: "h", labelNames: ["path"], buckets, registers: [registry] });
const fastCounter = new FastCounter("fc", "fc", [{ kind: "a" }, { kind: "b" }]);
const fastHistogram = new FastHistogram("fh", "fh", buckets, [{ path: "a" }, { path: "b" }]);

function time(f: (i: number) => void): number {
  for (let i = 0; i < n / 10; i++) f(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  return Math.round((Number(process.hrtime.bigint() - t0) / n) * 10) / 10;
}

console.log(JSON.stringify({
  iterations: n,
  nsPerUpdate: {
    fastCounter: time((i) => fastCounter.inc(i & 1)),
    promCounter: time((i) => promCounter.inc({ kind: i & 1 ? "b" : "a" })),
    fastHistogram: time((i) => fastHistogram.observe((i % 100) / 1000, i & 1)),
    promHistogram: time((i) => promHistogram.observe({ path: i & 1 ? "b" : "a" }, (i % 100) / 1000)),
  },
}));
