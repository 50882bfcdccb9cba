// `npm run fuzz` (docs/reliability.md "Fuzzing"): every fuzz target for FUZZ_RUNS cases
// (default 1,000,000; the socket target a share of it), with a printed seed to replay a failure:
//   FUZZ_SEED=<seed> FUZZ_TARGETS=<name,…> npm run fuzz
// Per target it prints cases, time, cases/s and the heap growth after global.gc(); it exits
// non-zero on a counterexample, on heap growth over FUZZ_MAX_HEAP_MB (default 64), or while a
// known bug (targets.ts KNOWN_BUGS) is still reproduced. Run with node --expose-gc.
import { runTarget } from "./assert.js";
import { httpSocketTarget } from "./socket.js";
import { KNOWN_BUGS, knownBugHits, TARGETS, type FuzzTarget } from "./targets.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("run with node --expose-gc (npm run fuzz does)");
  process.exit(2);
}
const runs = Number(process.env.FUZZ_RUNS ?? 1_000_000);
const seed = Number(process.env.FUZZ_SEED ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0);
const maxHeapMb = Number(process.env.FUZZ_MAX_HEAP_MB ?? 64);
const only = (process.env.FUZZ_TARGETS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
/** Heap samples (after a full gc) every this many cases. */
const SAMPLE_EVERY = 50_000;

// json5 writes a console.warn for U+2028/U+2029 in a string unless the envelope parser silences
// it: any such warning is a client writing to stderr behind the logger's back, and fails the run.
let json5Warnings = 0;
const warn = console.warn;
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === "string" && args[0].startsWith("JSON5:")) json5Warnings++;
  else warn(...args);
};

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const heap = () => {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
};

const targets: FuzzTarget[] = [...TARGETS, httpSocketTarget].filter((t) => only.length === 0 || only.includes(t.name));
console.log(`fuzz: seed ${seed}, ${runs} cases per target (node ${process.version}); replay with FUZZ_SEED=${seed}`);
let failed = 0;
for (const t of targets) {
  const n = Math.max(1, Math.round(runs * (t.fuzzShare ?? 1)));
  await t.setup?.();
  const before = heap();
  let peak = 0;
  const started = performance.now();
  let error: unknown = null;
  try {
    await runTarget(t, {
      numRuns: n,
      seed,
      afterCase: (i) => {
        if (i % SAMPLE_EVERY === 0) peak = Math.max(peak, heap() - before);
      },
    });
  } catch (err) {
    error = err;
  }
  const seconds = (performance.now() - started) / 1000;
  const growth = heap() - before;
  peak = Math.max(peak, growth);
  await t.teardown?.();
  const line = `${t.name.padEnd(18)} ${String(n).padStart(9)} cases ${seconds.toFixed(1).padStart(7)} s ${String(Math.round(n / seconds)).padStart(7)} cases/s  heap growth ${mb(growth)} MB (peak ${mb(peak)} MB)`;
  if (error) {
    failed++;
    console.log(`${line}  FAILED`);
    const text = error instanceof Error ? error.message : String(error);
    console.log(text.length > 6000 ? `${text.slice(0, 6000)}…` : text);
  } else if (peak > maxHeapMb * 1024 * 1024) {
    failed++;
    console.log(`${line}  FAILED: heap grew over ${maxHeapMb} MB`);
  } else {
    console.log(`${line}  ok`);
  }
}
for (const bug of Object.values(KNOWN_BUGS)) {
  const hits = knownBugHits.get(bug.id) ?? 0;
  if (hits > 0) {
    failed++;
    console.log(`KNOWN BUG ${bug.id} reproduced ${hits} times: ${bug.summary}`);
  }
}
if (json5Warnings > 0) {
  failed++;
  console.log(`FAILED: json5 console warnings (U+2028/U+2029 in lenient JSON) reached stderr: ${json5Warnings}`);
}
console.log(failed === 0 ? "fuzz: all targets passed" : `fuzz: ${failed} failure(s); seed ${seed}`);
process.exit(failed === 0 ? 0 : 1);
