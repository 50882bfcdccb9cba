// bin/tlim.js runs the compiled dist/ (npm run build). Tests that start tlim as a process
// (cli, crash, shutdown) must not run a dist/ older than the sources: ensureBuilt() rebuilds it
// when a file in src/ (or the build's tsconfig) is newer than the last build. `npm ci` builds it
// (the `prepare` script), so in CI this finds dist/ fresh and does nothing.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;
const STAMP = join(ROOT, "dist", "cli.js");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (synchronously) unless it is newer than every source; returns what it did. */
export function ensureBuilt(): "fresh" | "built" {
  const sources = Math.max(
    newestMtime(join(ROOT, "src")),
    ...["tsconfig.json", "tsconfig.build.json", "package.json"].map((f) => statSync(join(ROOT, f)).mtimeMs),
  );
  if (existsSync(STAMP) && statSync(STAMP).mtimeMs >= sources) return "fresh";
  const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) {
    // tsc still emits when there are type errors (npm run typecheck reports them): only a build
    // that produced nothing stops the run.
    if (!existsSync(STAMP)) throw new Error(`npm run build failed (tests that start bin/tlim.js need dist/):\n${r.stdout}${r.stderr}`);
    console.warn(`npm run build reported errors; dist/ was emitted anyway:\n${(r.stdout + r.stderr).split("\n").slice(0, 20).join("\n")}`);
  }
  return "built";
}
