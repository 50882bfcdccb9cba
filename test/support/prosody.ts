// Throwaway Prosody 0.12 for integration tests.
//
// Each startProsody() call gets its own temp dir, its own free loopback ports and its own
// `prosody -F` child. No TLS, no s2s, PLAIN allowed, run_as_root = true. The config, `prosodyctl
// register` and the SIGTERM-then-SIGKILL stop are those of `tlim demo` (src/demo/prosody.ts); what
// differs here: mod_offline on, Nagle off, TLIM_PROSODY_LOG_LEVEL, no HTTP, extra Lua per test.
//
// No process may outlive the test worker, even when a test fails or the worker is killed:
//  - stop()/kill() are the normal path;
//  - a process "exit" hook SIGKILLs every live child and removes its dir;
//  - each Prosody child gets a tiny watchdog shell whose stdin is a pipe from this process:
//    when this process dies for any reason (even SIGKILL) the pipe closes, `read` returns,
//    and the watchdog SIGKILLs Prosody and removes the temp dir.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, createHmac, pbkdf2, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { canConnect, freePort, respawnOnSamePorts, sleep, spawnWatchdog } from "./processes.js";
import { registerProsodyUser, renderProsodyConfig, stopProsodyProcess, waitExit } from "../../src/demo/prosody.js";

const pbkdf2Async = promisify(pbkdf2);

export interface ProsodyOptions {
  /** Accounts to create before the server starts: [username, password]. */
  users?: Array<[string, string]>;
  /** Default "tlim.localhost". */
  componentDomain?: string;
  /** Default "s3cret". */
  componentSecret?: string;
  /** Default "localhost". */
  userDomain?: string;
  /** Extra Lua inserted in the GLOBAL section (before the VirtualHost line). */
  extraConfig?: string;
  /** Extra Lua for the users' VirtualHost (e.g. modules_enabled = { "tlim" }: added to the global list). */
  hostConfig?: string;
}

export interface ProsodyHandle {
  c2sPort: number;
  componentPort: number;
  userDomain: string;
  componentDomain: string;
  componentSecret: string;
  /** The throwaway directory (config, data/, prosody.log). Removed by stop(). */
  dir: string;
  /** "xmpp://127.0.0.1:<c2sPort>" */
  service: string;
  /** "xmpp://127.0.0.1:<componentPort>" */
  componentService: string;
  /** Create an account on userDomain; works before and while the server runs. */
  addUser(name: string, password: string): Promise<void>;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove dir. Idempotent. */
  stop(): Promise<void>;
  /** Stop the process (if running) and start it again on the same ports and data dir. */
  restart(): Promise<void>;
  /** Hard SIGKILL, no cleanup of the dir (call stop() or restart() afterwards). */
  kill(): Promise<void>;
  /** Last lines of prosody.log plus anything the process printed. */
  logTail(lines?: number): string;
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping shared by all instances in this worker.

interface Live {
  proc: ChildProcess;
  watchdog: ChildProcess | null;
  dir: string;
}
const live = new Set<Live>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const l of live) {
      try {
        l.proc.kill("SIGKILL");
      } catch {
        /* already gone */
      }
      try {
        l.watchdog?.kill("SIGKILL");
      } catch {
        /* already gone */
      }
      try {
        rmSync(l.dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
    live.clear();
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Prosody's util.datamanager path encoding: every non-alphanumeric char becomes %xx. */
function dmEncode(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"));
}

/** Names for which nodeprep is the identity, so the account file can be written directly. */
const SIMPLE_NODE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const ITERATIONS = 10000; // Prosody 0.12 default_iteration_count

/**
 * Write data/<host>/accounts/<user>.dat exactly as mod_auth_internal_hashed's create_user does
 * (SCRAM-SHA-1: salt = uuid, stored_key = H(HMAC(salted,"Client Key")), server_key =
 * HMAC(salted,"Server Key"), hex). Atomic rename so a running server never reads a half file.
 */
async function writeAccountFile(dataDir: string, host: string, user: string, password: string): Promise<void> {
  const salt = randomUUID();
  const salted = await pbkdf2Async(Buffer.from(password, "utf8"), Buffer.from(salt, "utf8"), ITERATIONS, 20, "sha1");
  const clientKey = createHmac("sha1", salted).update("Client Key").digest();
  const storedKey = createHash("sha1").update(clientKey).digest("hex");
  const serverKey = createHmac("sha1", salted).update("Server Key").digest("hex");
  const dir = join(dataDir, dmEncode(host), "accounts");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, dmEncode(user) + ".dat");
  const body =
    "return {\n" +
    `\t["iteration_count"] = ${ITERATIONS};\n` +
    `\t["stored_key"] = "${storedKey}";\n` +
    `\t["salt"] = "${salt}";\n` +
    `\t["server_key"] = "${serverKey}";\n` +
    "};\n";
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, body);
  renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------

export async function startProsody(opts: ProsodyOptions = {}): Promise<ProsodyHandle> {
  installExitHook();
  const userDomain = opts.userDomain ?? "localhost";
  const componentDomain = opts.componentDomain ?? "tlim.localhost";
  const componentSecret = opts.componentSecret ?? "s3cret";

  const dir = mkdtempSync(join(tmpdir(), "tlim-prosody-"));
  const dataDir = join(dir, "data");
  const cfgPath = join(dir, "prosody.cfg.lua");
  const logPath = join(dir, "prosody.log");
  mkdirSync(dataDir);
  mkdirSync(join(dir, "certs")); // an empty certs dir avoids "cannot open certs" noise

  let c2sPort = 0;
  let componentPort = 0;
  let current: Live | null = null;
  let output = ""; // stdout/stderr of the current and previous processes (bounded)
  let removed = false;

  const appendOutput = (d: Buffer) => {
    output += d.toString();
    if (output.length > 20000) output = output.slice(-20000);
  };

  const readLog = (): string => {
    try {
      return readFileSync(logPath, "utf8");
    } catch {
      return "";
    }
  };

  const logTail = (lines = 60): string => {
    const log = readLog().split("\n").slice(-lines).join("\n");
    return `--- ${logPath} (tail) ---\n${log}` + (output.trim() ? `\n--- prosody stdout/stderr ---\n${output.slice(-4000)}` : "");
  };

  const writeConfig = () =>
    writeFileSync(
      cfgPath,
      renderProsodyConfig(dir, { c2s: c2sPort, component: componentPort }, {
        comment: "generated by test/support/prosody.ts",
        userDomain,
        componentDomain,
        componentSecret,
        logLevel: process.env.TLIM_PROSODY_LOG_LEVEL || "info",
        offline: true,
        nagle: false,
        globalConfig: opts.extraConfig ?? "",
        hostConfig: opts.hostConfig ?? "",
      }),
    );

  const addUserRaw = async (name: string, password: string): Promise<void> => {
    if (SIMPLE_NODE.test(name)) await writeAccountFile(dataDir, userDomain, name, password);
    else await registerProsodyUser(cfgPath, name, userDomain, password);
  };

  /** Spawn prosody on the current ports and wait until both services are active and accept. */
  const spawnAndWait = async (timeoutMs = 15000): Promise<void> => {
    const logOffset = existsSync(logPath) ? statSync(logPath).size : 0;
    const proc = spawn("prosody", ["-F", "--config", cfgPath], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LANG: "C.UTF-8" },
    });
    proc.stdout?.on("data", appendOutput);
    proc.stderr?.on("data", appendOutput);
    let spawnError: Error | null = null;
    proc.on("error", (e) => (spawnError = e));
    const entry: Live = { proc, watchdog: null, dir };
    live.add(entry);
    proc.once("exit", () => {
      // The process is gone; its watchdog has nothing left to do.
      try {
        entry.watchdog?.kill("SIGKILL");
      } catch {
        /* ignore */
      }
      live.delete(entry);
    });
    if (proc.pid) entry.watchdog = spawnWatchdog("tlim-prosody-watchdog", `kill -9 "$1" 2>/dev/null; sleep 0.3; rm -rf "$2"`, [String(proc.pid), dir]);
    current = entry;

    const deadline = Date.now() + timeoutMs;
    const c2sLine = `Activated service 'c2s' on [127.0.0.1]:${c2sPort}`;
    const compLine = `Activated service 'component' on [127.0.0.1]:${componentPort}`;
    for (;;) {
      if (spawnError) throw new Error(`cannot spawn prosody: ${(spawnError as Error).message}`);
      if (proc.exitCode !== null || proc.signalCode !== null)
        throw new Error(`prosody exited during startup (code ${proc.exitCode}, signal ${proc.signalCode})\n${logTail()}`);
      const log = readLog().slice(logOffset);
      if (log.includes("Failed to open server port")) {
        proc.kill("SIGKILL");
        await waitExit(proc, 2000);
        throw Object.assign(new Error(`prosody could not bind its ports\n${logTail()}`), { portInUse: true });
      }
      if (log.includes(c2sLine) && log.includes(compLine)) {
        if ((await canConnect(c2sPort)) && (await canConnect(componentPort))) return;
      }
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        await waitExit(proc, 2000);
        throw new Error(`prosody did not come up within ${timeoutMs} ms\n${logTail()}`);
      }
      await sleep(25);
    }
  };

  const stopProcess = async (signal: "SIGTERM" | "SIGKILL"): Promise<void> => {
    const entry = current;
    current = null;
    if (!entry) return;
    await stopProsodyProcess(entry.proc, signal);
  };

  const handle: ProsodyHandle = {
    get c2sPort() {
      return c2sPort;
    },
    get componentPort() {
      return componentPort;
    },
    userDomain,
    componentDomain,
    componentSecret,
    dir,
    get service() {
      return `xmpp://127.0.0.1:${c2sPort}`;
    },
    get componentService() {
      return `xmpp://127.0.0.1:${componentPort}`;
    },
    addUser: addUserRaw,
    logTail,
    async stop() {
      await stopProcess("SIGTERM");
      if (!removed) {
        removed = true;
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async kill() {
      await stopProcess("SIGKILL");
    },
    async restart() {
      if (removed) throw new Error("restart() after stop(): the data dir is gone");
      await stopProcess("SIGTERM");
      await respawnOnSamePorts(spawnAndWait);
    },
  };

  try {
    // Accounts first (written while nothing runs); PBKDF2 runs on libuv's pool, a few at a time.
    const users = opts.users ?? [];
    for (let i = 0; i < users.length; i += 8) {
      await Promise.all(users.slice(i, i + 8).map(([u, p]) => addUserRaw(u, p)));
    }
    // Free ports can be taken between listen(0) and Prosody's bind; retry with fresh ones.
    for (let attempt = 1; ; attempt++) {
      c2sPort = await freePort();
      do componentPort = await freePort();
      while (componentPort === c2sPort);
      writeConfig();
      try {
        await spawnAndWait();
        break;
      } catch (e) {
        if (!(e as { portInUse?: boolean }).portInUse || attempt >= 3) throw e;
      }
    }
  } catch (e) {
    await handle.stop().catch(() => {});
    throw e;
  }
  return handle;
}
