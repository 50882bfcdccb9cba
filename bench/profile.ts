// npx tsx bench/profile.ts <file.cpuprofile> [n]: where the time went (see bench/lib/profile.ts).
import { formatSummary, summariseProfile } from "./lib/profile.js";

const [file, n] = process.argv.slice(2);
if (!file) {
  console.error("usage: tsx bench/profile.ts <file.cpuprofile> [top-n]");
  process.exit(2);
}
console.log(formatSummary(summariseProfile(file, undefined, Number(n ?? 30)), Number(n ?? 30)));
