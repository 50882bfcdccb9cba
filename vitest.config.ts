import { configDefaults, defineConfig } from "vitest/config";

// One run, one report, two XMPP servers: the project "prosody" runs every test (unit, store,
// fuzz, integration on Prosody); the project "ejabberd" runs the integration tests again on a
// throwaway ejabberd. Each project's `env` is the environment of its worker processes, so
// test/support/xmpp-server.ts (which reads TLIM_TEST_XMPP_SERVER when it is imported) starts the
// project's server. Test titles name the server too (onServer() in xmpp-server.ts), so a failure
// in the JSON report says where it happened.
//
// TLIM_TEST_XMPP_SERVER=prosody|ejabberd in the environment keeps only that server's project
// (`npm run test:ejabberd` = `vitest run --project ejabberd`).
const SERVERS = ["prosody", "ejabberd"] as const;
const only = process.env.TLIM_TEST_XMPP_SERVER?.trim() || "";
if (only !== "" && !(SERVERS as readonly string[]).includes(only))
  throw new Error(`TLIM_TEST_XMPP_SERVER must be one of ${SERVERS.join(", ")} (got ${JSON.stringify(only)})`);

// Files about one server in particular run once, in that server's project (add yours here):
// harness.test.ts and original-clients.test.ts start Prosody and ejabberd themselves (whatever
// the project); ejabberd-sm.test.ts is ejabberd's XEP-0198; jim-c2s-tls.test.ts needs ejabberd's
// STARTTLS listener.
const PROSODY_ONLY = ["test/integration/harness.test.ts", "test/integration/original-clients.test.ts"];
const EJABBERD_ONLY = ["test/integration/ejabberd-sm.test.ts", "test/integration/jim-c2s-tls.test.ts"];
// `npm run test:package` only (its own config: packs and installs tlim, minutes).
const PACKAGE = ["test/package/**"];
// `npm run test:browser` only (its own config: `tlim demo` in Debian Chromium, about 30 s).
const BROWSER = ["test/browser/**"];

export default defineConfig({
  test: {
    // No `include` here: `extends: true` would add it to each project's own (arrays are merged).
    testTimeout: 20000,
    hookTimeout: 30000,
    pool: "forks",
    // Integration files each start their own XMPP server on free ports; two at a time fits 2
    // cores (shared by both projects: one pool for the whole run).
    maxWorkers: 2,
    globalSetup: ["test/support/global-setup.ts"],
    projects: [
      {
        extends: true as const,
        test: {
          name: "prosody",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...EJABBERD_ONLY, ...PACKAGE, ...BROWSER],
          env: { TLIM_TEST_XMPP_SERVER: "prosody" },
        },
      },
      {
        extends: true as const,
        test: {
          name: "ejabberd",
          include: ["test/integration/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...PROSODY_ONLY],
          env: { TLIM_TEST_XMPP_SERVER: "ejabberd" },
        },
      },
    ].filter((p) => only === "" || p.test.name === only),
  },
});
