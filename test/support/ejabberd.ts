// Throwaway ejabberd (Debian's 23.01) for integration tests: the same options and the same handle
// shape as startProsody() (test/support/prosody.ts), so a test can run against either server
// (test/support/xmpp-server.ts picks one with TLIM_TEST_XMPP_SERVER).
//
// Each startEjabberd() call gets its own temp dir (etc/, spool/ = Mnesia, logs/), its own free
// loopback ports and its own Erlang node name (two vitest workers run side by side). No TLS (but
// a STARTTLS listener on request: starttlsCertfile), no s2s, PLAIN allowed, passwords stored in
// plain (`auth_password_format: plain`).
//
// How it runs (ejabberdctl is a shell script around `erl`):
//  - ejabberdctl refuses any user but root and `ejabberd`, and as root re-executes itself through
//    `su ejabberd`. We spawn it directly as the ejabberd user instead (uid/gid of that account),
//    so the child is `ejabberdctl foreground` -> beam.smp in one process group that we own.
//  - `--config` alone is overridden by the system-wide ejabberdctl.cfg, so every call passes
//    `--config-dir <dir>/etc`, which holds our own ejabberdctl.cfg (node name, pid file, cookie)
//    and a copy of the stock inetrc.
//  - The distribution interface is pinned to loopback with `-kernel inet_dist_use_interface`
//    in ERL_OPTIONS rather than INET_DIST_INTERFACE, which would cost an extra Erlang VM per
//    ejabberdctl call just to parse the address.
//  - Ready = both listeners logged "Start accepting TCP connections" and accept a connection;
//    `ejabberdctl started` polls every 2 s and would make each start ~2.4 s.
//  - Accounts are created by in-band registration (XEP-0077) over the c2s port, many at once
//    (~1 ms each); ejabberdctl register costs a whole Erlang VM (~0.4 s) per account.
//
// No process may outlive the test worker (as in prosody.ts):
//  - stop()/kill() are the normal path;
//  - a process "exit" hook SIGKILLs every live process group and removes its dir;
//  - each server gets a tiny watchdog shell whose stdin is a pipe from this process: when this
//    process dies for any reason (even SIGKILL) the pipe closes, `read` returns, and the watchdog
//    SIGKILLs the process group (beam.smp included) and removes the temp dir.
// epmd (started by the first Erlang node, shared by all nodes of the machine) is left running.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import type { ProsodyHandle } from "./prosody.js";
import { canConnect, freePort, respawnOnSamePorts, sleep, spawnWatchdog } from "./processes.js";

export interface EjabberdOptions {
  /** Accounts to create once the server runs: [username, password]. */
  users?: Array<[string, string]>;
  /** Default "tlim.localhost". */
  componentDomain?: string;
  /** Default "s3cret". */
  componentSecret?: string;
  /** Default "localhost". */
  userDomain?: string;
  /** mod_stream_mgmt (XEP-0198) resume_timeout in seconds; ejabberd's own default (300) if not given. */
  resumeTimeoutS?: number;
  /** Merged into `acl:` (by ACL name). */
  acl?: Record<string, unknown>;
  /** Merged into `access_rules:` (by rule name). */
  accessRules?: Record<string, unknown>;
  /** Merged into `modules:` (by module name); `false` removes a default module. */
  modules?: Record<string, Record<string, unknown> | false>;
  /** Any other ejabberd.yml; parsed and merged last: maps one level deep (modules, acl, ...), the rest replaced. */
  extraYaml?: string;
  /**
   * Directories put on the Erlang code path (`-pa` in ERL_OPTIONS), e.g. the ebin/ of a module
   * built outside ejabberd (server/ejabberd/build.sh) to name in `modules`. Each is copied into the
   * server's dir, which the ejabberd account owns: a checkout under a private temp dir (a fresh
   * `mktemp -d` clone, as CI makes) is not readable by that account.
   */
  codePaths?: string[];
  /**
   * A second c2s listener that requires STARTTLS (`starttls_required`) with this certificate: one PEM
   * file holding the certificate and its key (as Debian's own ejabberd does with its self-signed
   * one). The file is copied into the server's dir; its port is the handle's `starttlsPort`.
   */
  starttlsCertfile?: string;
}

export interface EjabberdHandle extends ProsodyHandle {
  readonly kind: "ejabberd";
  /** The running beam.smp writes its pid here (<dir>/spool/ejabberd.pid). */
  readonly pidFile: string;
  /** The Erlang node name, e.g. "tlim_1234_1_ab12cd@localhost". */
  readonly node: string;
  /** Runs `ejabberdctl <args>` against this node (each call starts an Erlang VM: ~0.4 s). */
  ctl(...args: string[]): Promise<string>;
  /** The STARTTLS c2s listener's port (options.starttlsCertfile), else 0. */
  readonly starttlsPort: number;
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

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const l of live) {
      killGroup(l.proc.pid, "SIGKILL");
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

/** The command, on PATH or where Debian puts it (its sbin directory is not on every PATH). */
export function ejabberdctlPath(): string | null {
  for (const d of [...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/sbin", "/usr/local/sbin"]) {
    const p = join(d, "ejabberdctl");
    if (existsSync(p)) return p;
  }
  return null;
}

/** uid/gid of the `ejabberd` account when we are root (ejabberdctl insists on that account). */
function ejabberdAccount(): { uid: number; gid: number } | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("ejabberd:"));
  if (!line) throw new Error("running as root but there is no `ejabberd` account (is the ejabberd package installed?)");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}

const escXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");

/**
 * XEP-0077 in-band registration of one account on a plain c2s stream (RFC 6120 §4, no TLS, no
 * auth). Resolves "created" or "exists" (<conflict/>); rejects on any other answer.
 */
function registerInBand(port: number, domain: string, user: string, password: string, timeoutMs = 10000): Promise<"created" | "exists"> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let buf = "";
    let asked = false;
    const finish = (err: Error | null, r?: "created" | "exists") => {
      clearTimeout(timer);
      s.removeAllListeners("data");
      s.on("error", () => {});
      s.end("</stream:stream>");
      s.destroy();
      err ? reject(err) : resolve(r!);
    };
    const timer = setTimeout(() => finish(new Error(`in-band registration of ${user}@${domain}: no answer within ${timeoutMs} ms (got ${JSON.stringify(buf.slice(0, 500))})`)), timeoutMs);
    s.once("connect", () =>
      s.write(`<?xml version='1.0'?><stream:stream to='${escXml(domain)}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`),
    );
    s.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      if (!asked && /<\/stream:features>|<stream:features\/>/.test(buf)) {
        asked = true;
        s.write(
          `<iq type='set' id='tlim-reg'><query xmlns='jabber:iq:register'><username>${escXml(user)}</username><password>${escXml(password)}</password></query></iq>`,
        );
      }
      const m = /<iq\b[^>]*\bid=['"]tlim-reg['"][^>]*(?:\/>|>[\s\S]*?<\/iq>)/.exec(buf);
      if (m) {
        if (/\btype=['"]result['"]/.test(m[0])) finish(null, "created");
        else if (m[0].includes("<conflict")) finish(null, "exists");
        else finish(new Error(`in-band registration of ${user}@${domain} refused: ${m[0]}`));
      } else if (buf.includes("</stream:stream>") || buf.includes("<stream:error")) {
        finish(new Error(`in-band registration of ${user}@${domain}: stream closed: ${buf.slice(-500)}`));
      }
    });
    s.on("error", (e) => finish(new Error(`in-band registration of ${user}@${domain}: ${e.message}`)));
  });
}

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === "object" && v !== null && !Array.isArray(v);

/** Top-level keys replaced, maps (modules, acl, access_rules, ...) merged by key; a `false` module removes it. */
function mergeConfig(base: Yaml, extra: Yaml): Yaml {
  const out: Yaml = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const cur = out[k];
    out[k] = isMap(cur) && isMap(v) ? { ...cur, ...v } : v;
  }
  if (isMap(out.modules)) for (const [m, v] of Object.entries(out.modules)) if (v === false) delete out.modules[m];
  return out;
}

function renderConfig(o: {
  c2sPort: number;
  componentPort: number;
  /** 0: no STARTTLS listener. */
  starttlsPort: number;
  /** The certificate as copied into the server's dir. */
  certfile: string | null;
  userDomain: string;
  componentDomain: string;
  componentSecret: string;
  opts: EjabberdOptions;
}): { text: string; loglevel: string } {
  const { opts } = o;
  const streamMgmt: Yaml = {};
  if (opts.resumeTimeoutS !== undefined) {
    streamMgmt.resume_timeout = opts.resumeTimeoutS;
    streamMgmt.max_resume_timeout = opts.resumeTimeoutS;
  }
  let cfg: Yaml = {
    hosts: [o.userDomain],
    loglevel: process.env.TLIM_EJABBERD_LOG_LEVEL || "info",
    log_rotate_count: 0,
    certfiles: o.certfile ? [o.certfile] : [],
    acme: { auto: false },
    // In-band registration from 127.0.0.1 many times in a row (see registerInBand).
    registration_timeout: "infinity",
    listen: [
      {
        port: o.c2sPort,
        ip: "127.0.0.1",
        module: "ejabberd_c2s",
        starttls: false,
        shaper: "none",
        access: "c2s",
        max_stanza_size: 262144,
        // The default accept backlog is small: 60 parallel registrations saw SYN retries (1-3 s).
        backlog: 1024,
      },
      ...(o.starttlsPort && o.certfile
        ? [
            {
              port: o.starttlsPort,
              ip: "127.0.0.1",
              module: "ejabberd_c2s",
              starttls: true,
              // Nothing but TLS: a password check that succeeds there did STARTTLS.
              starttls_required: true,
              shaper: "none",
              access: "c2s",
              max_stanza_size: 262144,
            },
          ]
        : []),
      {
        port: o.componentPort,
        ip: "127.0.0.1",
        module: "ejabberd_service",
        access: "all",
        shaper: "none",
        backlog: 1024,
        hosts: { [o.componentDomain]: { password: o.componentSecret } },
      },
    ],
    auth_method: "internal",
    auth_password_format: "plain",
    acl: { local: { user_regexp: "" } },
    access_rules: { c2s: { allow: "all" }, register: { allow: "all" } },
    shaper_rules: { max_user_offline_messages: 5000 },
    modules: {
      // Commands only (change_password for addUser of an existing account); no stanza handling.
      mod_admin_extra: {},
      mod_disco: {},
      mod_offline: { access_max_user_messages: "max_user_offline_messages" },
      mod_ping: {},
      mod_register: { ip_access: "all", access: "register" },
      mod_roster: {},
      mod_stream_mgmt: streamMgmt,
    },
  };
  cfg = mergeConfig(cfg, { acl: opts.acl ?? {}, access_rules: opts.accessRules ?? {}, modules: opts.modules ?? {} });
  if (opts.extraYaml?.trim()) {
    const extra: unknown = parseYaml(opts.extraYaml);
    if (!isMap(extra)) throw new Error("extraYaml must be a YAML map");
    cfg = mergeConfig(cfg, extra);
  }
  return { text: "# generated by test/support/ejabberd.ts\n" + toYaml(cfg), loglevel: String(cfg.loglevel) };
}

let instanceCounter = 0;

// ---------------------------------------------------------------------------------------------

export async function startEjabberd(opts: EjabberdOptions = {}): Promise<EjabberdHandle> {
  installExitHook();
  const ctlPath = ejabberdctlPath();
  if (!ctlPath) throw new Error("ejabberd is not installed (no `ejabberdctl`); install it with `apt-get install ejabberd`");
  const account = ejabberdAccount();
  const userDomain = opts.userDomain ?? "localhost";
  const componentDomain = opts.componentDomain ?? "tlim.localhost";
  const componentSecret = opts.componentSecret ?? "s3cret";
  for (const d of opts.codePaths ?? []) if (!existsSync(d)) throw new Error(`codePaths: ${d} does not exist`);

  const dir = mkdtempSync(join(tmpdir(), "tlim-ejabberd-"));
  const etc = join(dir, "etc");
  const spool = join(dir, "spool");
  const logs = join(dir, "logs");
  for (const d of [etc, spool, logs]) mkdirSync(d);
  // Readable by the ejabberd account (writeConfig() chowns the whole dir).
  const codeCopies = (opts.codePaths ?? []).map((d, i) => {
    const copy = join(dir, "code", String(i));
    cpSync(d, copy, { recursive: true });
    return copy;
  });
  const pathArgs = codePathArgs(codeCopies);
  const cfgPath = join(etc, "ejabberd.yml");
  const logPath = join(logs, "ejabberd.log");
  const pidFile = join(spool, "ejabberd.pid");
  // Unique per instance: Mnesia ties its data to the node name, which therefore stays the same
  // across restart(); epmd is shared by every node on the machine.
  const node = `tlim_${process.pid}_${++instanceCounter}_${randomBytes(3).toString("hex")}@localhost`;
  const cookie = randomBytes(12).toString("hex");
  writeFileSync(
    join(etc, "ejabberdctl.cfg"),
    [
      "# generated by test/support/ejabberd.ts",
      `ERLANG_NODE=${node}`,
      "ERL_EPMD_ADDRESS=127.0.0.1",
      `EJABBERD_PID_PATH=${pidFile}`,
      `ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -setcookie ${cookie} -kernel inet_dist_use_interface {127,0,0,1}${pathArgs}"`,
      "EJABBERD_BYPASS_WARNINGS=true",
      "",
    ].join("\n"),
  );
  copyFileSync("/etc/ejabberd/inetrc", join(etc, "inetrc"));
  // Readable by the ejabberd account (writeConfig() chowns the whole dir).
  const certfile = opts.starttlsCertfile ? join(etc, "starttls.pem") : null;
  if (certfile) copyFileSync(opts.starttlsCertfile!, certfile);
  const baseArgs = ["--config-dir", etc, "--config", cfgPath, "--spool", spool, "--logs", logs];
  const env = { ...process.env, HOME: dir, LANG: "C.UTF-8", LC_ALL: "C.UTF-8" };
  const asEjabberd = account ? { uid: account.uid, gid: account.gid } : {};

  let c2sPort = 0;
  let componentPort = 0;
  let starttlsPort = 0;
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
    // `foreground` also prints every log line to stdout: keep only what the log file lacks.
    const extra = output
      .split("\n")
      .filter((l) => l.trim() && !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\S* \[/.test(l))
      .join("\n");
    return `--- ${logPath} (tail) ---\n${log}` + (extra ? `\n--- ejabberdctl stdout/stderr ---\n${extra.slice(-4000)}` : "");
  };

  let listenersLogged = true; // loglevel info or debug: "Start accepting TCP connections" is logged
  const writeConfig = () => {
    const { text, loglevel } = renderConfig({ c2sPort, componentPort, starttlsPort, certfile, userDomain, componentDomain, componentSecret, opts });
    listenersLogged = loglevel === "info" || loglevel === "debug";
    writeFileSync(cfgPath, text);
    if (account) chownTree(dir, account.uid, account.gid);
  };

  const ctl = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const p = spawn(ctlPath, [...baseArgs, ...args], { cwd: spool, env, ...asEjabberd, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout?.on("data", (d: Buffer) => (out += d.toString()));
      p.stderr?.on("data", (d: Buffer) => (out += d.toString()));
      p.on("error", reject);
      p.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`ejabberdctl ${args.join(" ")} failed (${code}): ${out.trim()}`))));
    });

  const isRunning = () => current !== null && current.proc.exitCode === null && current.proc.signalCode === null;

  const addUser = async (name: string, password: string): Promise<void> => {
    if (!isRunning()) throw new Error(`addUser(${name}): ejabberd is not running (accounts live in its Mnesia database)`);
    let r: "created" | "exists";
    try {
      r = await registerInBand(c2sPort, userDomain, name, password);
    } catch (e) {
      // mod_register removed or restricted through the options: the slow, sure way.
      if (!/refused/.test((e as Error).message)) throw e;
      await ctl("register", name, userDomain, password);
      return;
    }
    // Like prosody.ts, which overwrites the account file: an existing account gets the new password.
    if (r === "exists") await ctl("change_password", name, userDomain, password);
  };

  const waitExit = (proc: ChildProcess, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve(true);
      const t = setTimeout(() => resolve(false), ms);
      proc.once("exit", () => {
        clearTimeout(t);
        resolve(true);
      });
    });

  /** Spawn `ejabberdctl foreground` on the current ports and wait until both listeners accept. */
  const spawnAndWait = async (timeoutMs = 30000): Promise<void> => {
    const logOffset = existsSync(logPath) ? statSync(logPath).size : 0;
    rmSync(pidFile, { force: true });
    const proc = spawn(ctlPath, [...baseArgs, "foreground"], {
      cwd: spool,
      env,
      ...asEjabberd,
      detached: true, // its own process group: beam.smp and its helpers die with one kill(-pgid)
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout?.on("data", appendOutput);
    proc.stderr?.on("data", appendOutput);
    let spawnError: Error | null = null;
    proc.on("error", (e) => (spawnError = e));
    const entry: Live = { proc, watchdog: null, dir };
    live.add(entry);
    proc.once("exit", () => {
      // Whatever is left of the group (normally nothing) goes with it; the watchdog is done.
      killGroup(proc.pid, "SIGKILL");
      try {
        entry.watchdog?.kill("SIGKILL");
      } catch {
        /* ignore */
      }
      live.delete(entry);
    });
    if (proc.pid) // $1 = process group of ejabberdctl + beam.smp (dash's kill takes "-PGID" but not "--"),
    // $2 = dir, $3 = beam.smp's pid file.
    entry.watchdog = spawnWatchdog("tlim-ejabberd-watchdog", `kill -9 "-$1" 2>/dev/null; p=$(cat "$3" 2>/dev/null); [ -n "$p" ] && kill -9 "$p" 2>/dev/null; sleep 0.3; rm -rf "$2"`, [String(proc.pid), dir, pidFile]);
    current = entry;

    const deadline = Date.now() + timeoutMs;
    const c2sLine = `Start accepting TCP connections at 127.0.0.1:${c2sPort} for ejabberd_c2s`;
    const compLine = `Start accepting TCP connections at 127.0.0.1:${componentPort} for ejabberd_service`;
    const fail = async (message: string, extra: object = {}): Promise<never> => {
      killGroup(proc.pid, "SIGKILL");
      await waitExit(proc, 3000);
      current = null;
      throw Object.assign(new Error(`${message}\n${logTail()}`), extra);
    };
    for (;;) {
      if (spawnError) await fail(`cannot spawn ejabberdctl: ${(spawnError as Error).message}`);
      if (proc.exitCode !== null || proc.signalCode !== null)
        await fail(`ejabberd exited during startup (code ${proc.exitCode}, signal ${proc.signalCode})`, {
          portInUse: /eaddrinuse|address already in use/i.test(readLog().slice(logOffset) + output),
        });
      const log = readLog().slice(logOffset);
      if (/eaddrinuse|address already in use/i.test(log)) await fail("ejabberd could not bind its ports", { portInUse: true });
      // Without those info lines (a quieter loglevel) only the ports tell.
      const tlsLine = `Start accepting TCP connections at 127.0.0.1:${starttlsPort} for ejabberd_c2s`;
      if (!listenersLogged || (log.includes(c2sLine) && log.includes(compLine) && (!starttlsPort || log.includes(tlsLine)))) {
        if ((await canConnect(c2sPort)) && (await canConnect(componentPort)) && (!starttlsPort || (await canConnect(starttlsPort)))) return;
      }
      if (Date.now() > deadline) await fail(`ejabberd did not come up within ${timeoutMs} ms`);
      await sleep(25);
    }
  };

  const stopProcess = async (mode: "graceful" | "hard"): Promise<void> => {
    const entry = current;
    current = null;
    if (!entry) return;
    const { proc } = entry;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    if (mode === "hard") {
      // The VM itself (the pid it wrote), so that ejabberdctl, its parent, reaps it and exits;
      // the group (erl_child_setup, inet_gethost) goes when ejabberdctl exits (see spawnAndWait).
      const pid = Number(readFileSafe(pidFile).trim());
      let signalled = false;
      if (pid > 0) {
        try {
          process.kill(pid, "SIGKILL");
          signalled = true;
        } catch {
          /* gone */
        }
      }
      if (!signalled) killGroup(proc.pid, "SIGKILL");
    } else {
      // SIGTERM to beam.smp = init:stop(): ejabberd stops its listeners, Mnesia closes its files.
      const pid = Number(readFileSafe(pidFile).trim());
      if (pid > 0) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          /* gone */
        }
      } else killGroup(proc.pid, "SIGTERM");
    }
    if (!(await waitExit(proc, 10000))) {
      killGroup(proc.pid, "SIGKILL");
      await waitExit(proc, 5000);
    }
  };

  const handle: EjabberdHandle = {
    kind: "ejabberd",
    get c2sPort() {
      return c2sPort;
    },
    get starttlsPort() {
      return starttlsPort;
    },
    get componentPort() {
      return componentPort;
    },
    userDomain,
    componentDomain,
    componentSecret,
    dir,
    pidFile,
    node,
    get service() {
      return `xmpp://127.0.0.1:${c2sPort}`;
    },
    get componentService() {
      return `xmpp://127.0.0.1:${componentPort}`;
    },
    addUser,
    logTail,
    ctl,
    async stop() {
      // The data goes with the dir, so there is nothing to shut down cleanly.
      await stopProcess("hard");
      if (!removed) {
        removed = true;
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async kill() {
      // Like a crash, this loses what Mnesia's disc_only tables (dets files: accounts, rosters,
      // offline messages) wrote in the last ~3 s: dets delays writes that long. restart() and
      // stop() are graceful enough (restart() sends SIGTERM: Mnesia closes its files).
      await stopProcess("hard");
    },
    async restart() {
      if (removed) throw new Error("restart() after stop(): the data dir is gone");
      await stopProcess("graceful");
      await respawnOnSamePorts(spawnAndWait);
    },
  };

  try {
    // Free ports can be taken between listen(0) and ejabberd's bind; retry with fresh ones.
    for (let attempt = 1; ; attempt++) {
      c2sPort = await freePort();
      do componentPort = await freePort();
      while (componentPort === c2sPort);
      if (certfile) {
        do starttlsPort = await freePort();
        while (starttlsPort === c2sPort || starttlsPort === componentPort);
      }
      writeConfig();
      try {
        await spawnAndWait();
        break;
      } catch (e) {
        if (!(e as { portInUse?: boolean }).portInUse || attempt >= 3) throw e;
      }
    }
    const users = opts.users ?? [];
    for (let i = 0; i < users.length; i += 32) {
      await Promise.all(users.slice(i, i + 32).map(([u, p]) => addUser(u, p)));
    }
  } catch (e) {
    await handle.stop().catch(() => {});
    throw e;
  }
  return handle;
}

/** ` -pa <dir>` for each directory, checked: ejabberdctl splits ERL_OPTIONS on whitespace. */
function codePathArgs(dirs: readonly string[] = []): string {
  return dirs
    .map((d) => {
      if (!/^[^\s"'`$\\]+$/.test(d)) throw new Error(`codePaths: ${JSON.stringify(d)} cannot be passed through ejabberdctl.cfg's ERL_OPTIONS`);
      if (!existsSync(d)) throw new Error(`codePaths: ${d} does not exist`);
      return ` -pa ${d}`;
    })
    .join("");
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
