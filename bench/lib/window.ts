// The measured window of a throughput run: one count per second, progress every 5 s.
import { progress } from "./report.js";
import { sleep } from "./stats.js";

export class PerSecond {
  /** Deliveries in the current second; the scenario increments it while measuring. */
  count = 0;
  readonly values: number[] = [];

  /** Runs the window; resolves with its real length in seconds. */
  async measure(seconds: number, unit = "msg/s"): Promise<number> {
    this.count = 0;
    const t0 = performance.now();
    for (let s = 1; s <= seconds; s++) {
      await sleep(t0 + s * 1000 - performance.now());
      this.values.push(this.count);
      this.count = 0;
      if (s % 5 === 0 || s === seconds) progress(`  ${s}/${seconds} s: ${this.values[this.values.length - 1]} ${unit} in the last second`);
    }
    return (performance.now() - t0) / 1000;
  }

  get min(): number {
    return Math.min(...this.values);
  }

  get max(): number {
    return Math.max(...this.values);
  }
}
