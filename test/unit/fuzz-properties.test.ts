// CI-sized run of the fuzz properties (docs/reliability.md "Fuzzing"): a fixed seed and a few
// hundred cases per target; `npm run fuzz` runs the same properties a million times each.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runTarget } from "../fuzz/assert.js";
import { httpSocketTarget } from "../fuzz/socket.js";
import { TARGETS } from "../fuzz/targets.js";

const SEED = 20261206;

// Nothing a client sends may write to the process's stderr behind the logger's back (json5 warns
// on U+2028/U+2029 in a string unless the envelope parser silences it).
const warn = console.warn;
let json5Warnings = 0;
vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
  if (typeof args[0] === "string" && args[0].startsWith("JSON5:")) json5Warnings++;
  else warn(...args);
});

describe("fuzz (CI size)", () => {
  afterAll(() => expect(json5Warnings, "console warnings printed by json5").toBe(0));
  for (const t of TARGETS) {
    it(`${t.name}: ${t.states}`, () => runTarget(t, { numRuns: t.ciRuns, seed: SEED }), 60_000);
  }
});

describe("fuzz over a real socket (CI size)", () => {
  beforeAll(() => httpSocketTarget.setup!());
  afterAll(() => httpSocketTarget.teardown!());
  it(`${httpSocketTarget.name}: ${httpSocketTarget.states}`, () => runTarget(httpSocketTarget, { numRuns: httpSocketTarget.ciRuns, seed: SEED }), 60_000);
});
