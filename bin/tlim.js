#!/usr/bin/env node
// Loads the TypeScript sources through tsx (a runtime dependency), so `npx tlim` works from a
// clone without a build step, in this one process (signals reach it directly).
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
