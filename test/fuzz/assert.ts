// Runs one fuzz target with fast-check (shared by the CI tests and the fuzz script).
import fc from "fast-check";
import type { FuzzTarget } from "./targets.js";

export interface RunOptions {
  numRuns: number;
  seed: number;
  /** Called after every case (the fuzz script samples the heap here). */
  afterCase?: (n: number) => void;
}

export async function runTarget(t: FuzzTarget, opts: RunOptions): Promise<void> {
  let n = 0;
  const after = () => opts.afterCase?.(++n);
  const params = { numRuns: opts.numRuns, seed: opts.seed, endOnFailure: false };
  if (t.async) {
    await fc.assert(fc.asyncProperty(t.arbitrary, async (v) => {
      try {
        await t.check(v);
      } finally {
        after();
      }
    }), params);
  } else {
    fc.assert(fc.property(t.arbitrary, (v) => {
      try {
        t.check(v);
      } finally {
        after();
      }
    }), params);
  }
}
