import { defineConfig } from "vitest/config";

// `npm run test:package`: packs tlim, installs the tarball into a throwaway global prefix and runs
// the installed `tlim` (test/package/package.test.ts). Not part of `npm test`: the install
// compiles better-sqlite3 and takes minutes.
export default defineConfig({
  test: {
    include: ["test/package/**/*.test.ts"],
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
    pool: "forks",
    maxWorkers: 1,
  },
});
