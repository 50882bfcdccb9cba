import { defineConfig } from "vitest/config";

// `npm run test:browser`: `tlim demo` as a process (a throwaway Prosody, tlim, the web client) and
// two people chatting in Debian's Chromium through playwright-core (test/browser/demo.test.ts).
// Not part of `npm test`: it needs `apt-get install -y chromium` and takes about 30 seconds.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 5 * 60_000,
    hookTimeout: 2 * 60_000,
    pool: "forks",
    maxWorkers: 1,
  },
});
