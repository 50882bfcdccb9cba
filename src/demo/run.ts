// `tlim demo` (docs/demo.md): a throwaway Prosody, tlim on SQLite, two users and a session, and
// the web client at /web/: something two people can chat in within a minute. Ctrl-C stops both
// servers and removes the temporary directory.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig, OPTIONS } from "../config.js";
import { createLogger } from "../log.js";
import { startTlim, type Tlim } from "../main.js";
import { gracefulShutdown } from "../shutdown.js";
import { spawnWatchdog } from "./processes.js";
import { PROSODY_STOP_GRACE_MS, prosodyInstalled, startDemoProsody, type DemoProsody } from "./prosody.js";

export const INSTALL_HINT = "Prosody is not installed: apt-get install -y prosody";

export interface DemoOptions {
  /** The HTTP port of tlim (API and /web/); 0 = a free port. */
  port: number;
  /** Where Prosody's and tlim's data go; absent = a temporary directory removed at the end. */
  dataDir?: string;
}

const USERS = [
  { id: "alice", name: "Alice" },
  { id: "bob", name: "Bob" },
] as const;
const DEMO_SESSION = { id: "demo-team", name: "Demo team" };

/**
 * The bound of the demo's stop: tlim's (TLIM_SHUTDOWN_TIMEOUT_S at its default, as the demo reads
 * no TLIM_* but the log settings), then Prosody's SIGTERM and, if need be, SIGKILL.
 */
const STOP_TIMEOUT_MS = OPTIONS.shutdownTimeoutS.schema.parse(undefined) * 1000 + 2 * PROSODY_STOP_GRACE_MS;

export async function runDemo(opts: DemoOptions): Promise<void> {
  if (!prosodyInstalled()) {
    console.error(INSTALL_HINT);
    process.exit(1);
  }
  const temporary = opts.dataDir === undefined;
  const dir = temporary ? mkdtempSync(join(tmpdir(), "tlim-demo-")) : resolve(opts.dataDir!);
  mkdirSync(dir, { recursive: true });
  // A demo killed outright (SIGKILL) leaves no temporary directory behind either.
  const watchdog = temporary ? spawnWatchdog("tlim-demo-watchdog", `sleep 1; rm -rf "$1"`, [dir]) : null;
  const passwords = new Map(USERS.map((u) => [u.id, randomBytes(4).toString("hex")]));

  // tlim's log settings for the demo: warn unless TLIM_LOG_LEVEL says otherwise. The logger exists
  // from the start, for a signal that comes before tlim runs; loadConfig below reports a bad value.
  const logSettings = { logLevel: process.env.TLIM_LOG_LEVEL || "warn", ...(process.env.TLIM_LOG_FORMAT ? { logFormat: process.env.TLIM_LOG_FORMAT } : {}) };
  const level = OPTIONS.logLevel.schema.safeParse(logSettings.logLevel);
  const format = OPTIONS.logFormat.schema.safeParse(logSettings.logFormat);
  const log = createLogger(level.success ? level.data : "warn", { format: format.success ? format.data : "auto" });

  let prosody: DemoProsody | null = null;
  let tlim: Tlim | null = null;
  let stopping: Promise<void> | null = null;
  let stage = "running";
  const stop = () =>
    (stopping ??= (async () => {
      stage = "stopping tlim";
      await tlim?.stop().catch((err: unknown) => console.error("tlim did not stop cleanly:", err));
      stage = "stopping prosody";
      await prosody?.stop().catch(() => {});
      stage = "removing the demo directory";
      if (temporary) rmSync(dir, { recursive: true, force: true });
      watchdog?.kill("SIGKILL");
      stage = "stopped";
    })());
  // Ctrl-C or SIGTERM: the graceful stop of `tlim start` (docs/configuration.md "Stopping"), bounded,
  // and a second signal exits 1 at once. Cut short, Prosody and the temporary directory still go:
  // Prosody's watchdog and the exit hook kill it, the demo's watchdog removes the directory.
  const shutdown = gracefulShutdown(
    {
      stop,
      get stage() {
        return stage === "stopping tlim" && tlim ? `stopping tlim: ${tlim.stage}` : stage;
      },
      unsettled: () => tlim?.core.unsettled ?? 0,
    },
    { timeoutMs: STOP_TIMEOUT_MS, log, exit: (code) => process.exit(code) },
  );
  const onSignal = (signal: string) => {
    if (stopping === null) console.log("\nstopping the demo…");
    shutdown(signal);
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  try {
    prosody = await startDemoProsody({ dir, users: USERS.map((u) => [u.id, passwords.get(u.id)!]), componentSecret: randomBytes(16).toString("hex") });
    // The demo's own settings only: no tlim.config.json, no TLIM_* from the environment except
    // the log level and format.
    const config = loadConfig({
      env: {},
      overrides: {
        xmppService: prosody.component,
        xmppDomain: prosody.componentDomain,
        xmppSecret: prosody.componentSecret,
        userDomain: prosody.userDomain,
        xmppC2s: prosody.c2s,
        dbUrl: `sqlite:${join(dir, "tlim.sqlite")}`,
        fileDir: join(dir, "files"),
        httpHost: "127.0.0.1",
        httpPort: opts.port,
        apiSecret: randomBytes(16).toString("hex"),
        jimHost: "127.0.0.1",
        jimPort: 0,
        web: true,
        webXmppWebsocket: prosody.websocket,
        ...logSettings,
      },
    });
    tlim = await startTlim(config, log); // the logger of config.logLevel and config.logFormat
    await tlim.core.directory.put(USERS.map((u) => ({ userId: u.id, userName: u.name })));
    // A kept --data-dir has it already.
    if ((await tlim.core.sessions.get(DEMO_SESSION.id)) === null) await tlim.core.sessions.create({ sessionId: DEMO_SESSION.id, sessionName: DEMO_SESSION.name, sessionType: 0, owner: USERS[0].id, members: USERS.map((u) => ({ userId: u.id, userName: u.name })) });
  } catch (err) {
    console.error(`tlim demo could not start: ${(err as Error).message}`);
    await stop();
    process.exit(1);
  }

  const lines = [
    "tlim demo is running.",
    "",
    `  web client   ${tlim.httpUrl}/web/`,
    ...USERS.map((u) => `  user         ${u.id}  password ${passwords.get(u.id)}`),
    `  session      ${DEMO_SESSION.name} (${DEMO_SESSION.id}): ${USERS.map((u) => u.id).join(", ")}`,
    "",
    `  XMPP         ${prosody.c2s.replace("xmpp://", "")} (users @${prosody.userDomain}), WebSocket ${prosody.websocket}`,
    ...(tlim.jim ? [`  J-IM         127.0.0.1:${tlim.jim.port} (TCP, WebSocket)`] : []),
    `  data         ${dir}${temporary ? " (removed when the demo stops)" : ""}`,
    "",
    "Open the web client in two browser windows (one private), log in as alice and as bob.",
    "Press Ctrl-C to stop.",
  ];
  console.log(lines.join("\n"));
}
