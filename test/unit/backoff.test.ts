import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../src/transports/xmpp/link.js";

describe("backoffDelay", () => {
  it("grows exponentially from the minimum and is capped", () => {
    const top = (attempt: number) => backoffDelay(attempt, 500, 30000, () => 1);
    expect([0, 1, 2, 3].map(top)).toEqual([500, 1000, 2000, 4000]);
    expect(top(10)).toBe(30000);
    expect(top(1000)).toBe(30000);
  });

  it("jitters between the minimum and the current ceiling", () => {
    expect(backoffDelay(3, 500, 30000, () => 0)).toBe(500);
    expect(backoffDelay(3, 500, 30000, () => 0.5)).toBe(2250);
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(5, 100, 60000)));
    expect(seen.size).toBeGreaterThan(1);
    for (const d of seen) expect(d).toBeGreaterThanOrEqual(100);
  });
});
