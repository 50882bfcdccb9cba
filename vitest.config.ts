import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20000,
    hookTimeout: 30000,
    pool: "forks",
    // Integration files each start their own Prosody on free ports; two at a time fits 2 cores.
    maxWorkers: 2,
    globalSetup: ["test/support/global-setup.ts"],
  },
});
