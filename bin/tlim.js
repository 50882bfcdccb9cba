#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (`npm run build`; the published package ships it), in
// this one process, so signals reach tlim directly. `npm start` runs the TypeScript sources
// through tsx instead (a development dependency).
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  console.error(`tlim: ${cli.pathname} is missing: run \`npm run build\` first (a clone has no dist/; \`npm ci\` builds it too)`);
  process.exit(1);
}
await import(cli.href);
