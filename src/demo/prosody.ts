// The throwaway Prosody of `tlim demo` (docs/demo.md): the machine's `prosody`, a generated
// config in the demo's directory, loopback only, free ports for client connections (c2s), the
// component (XEP-0114) and HTTP with the WebSocket endpoint (RFC 7395, mod_websocket) the web
// client logs in through. No TLS: everything stays on 127.0.0.1.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { canConnect, freePort, sleep, spawnWatchdog } from "./processes.js";

export interface DemoProsody {
  userDomain: string;
  componentDomain: string;
  componentSecret: string;
  /** xmpp://127.0.0.1:<c2s port> */
  c2s: string;
  /** xmpp://127.0.0.1:<component port> */
  component: string;
  /** ws://127.0.0.1:<http port>/xmpp-websocket */
  websocket: string;
  stop(): Promise<void>;
}

/** True when `prosody` and `prosodyctl` are executables on PATH. */
export function prosodyInstalled(path = process.env.PATH ?? ""): boolean {
  const onPath = (cmd: string) =>
    path.split(delimiter).some((dir) => {
      if (dir === "") return false;
      try {
        accessSync(join(dir, cmd), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  return onPath("prosody") && onPath("prosodyctl");
}

const lua = (s: string) => JSON.stringify(s); // a JSON string of printable text is a Lua string

/** The listening ports of a generated Prosody config (all on 127.0.0.1). */
export interface ProsodyPorts {
  c2s: number;
  /** XEP-0114 component connections. */
  component: number;
  /** HTTP with the WebSocket endpoint (RFC 7395, mod_websocket); absent = no HTTP listener. */
  http?: number;
}

/** What differs between the demo's Prosody and the test harness's (test/support/prosody.ts). */
export interface ProsodyConfigOptions {
  /** The config's first line, a Lua comment: who wrote it. */
  comment: string;
  userDomain: string;
  componentDomain: string;
  componentSecret: string;
  /** Prosody's minimum log level (prosody.log in the directory); default "info". */
  logLevel?: string;
  /** mod_offline enabled (messages to offline users are stored), or disabled (Prosody loads it by default). */
  offline: boolean;
  /** network_settings = { nagle = … }; absent = Prosody's default. */
  nagle?: boolean;
  /** Lua for the global section, before the VirtualHost line. */
  globalConfig?: string;
  /** Lua for the users' VirtualHost. */
  hostConfig?: string;
}

/**
 * A throwaway Prosody config for `dir` (pidfile, data/, certs/, prosody.log there): loopback
 * only, no s2s, no TLS, PLAIN allowed, run_as_root, internal_hashed accounts, a VirtualHost for
 * the users and a Component; with `ports.http`, mod_websocket on it (served for the users' domain).
 */
export function renderProsodyConfig(dir: string, ports: ProsodyPorts, o: ProsodyConfigOptions): string {
  const at = (f: string) => lua(join(dir, f));
  const http = ports.http !== undefined;
  const enabled = ["roster", "saslauth", "disco", "ping", ...(o.offline ? ["offline"] : []), "presence", ...(http ? ["http", "websocket"] : [])];
  const disabled = ["s2s", "tls", ...(o.offline ? [] : ["offline"])];
  const list = (names: string[]) => names.map(lua).join("; ");
  const lines = [
    `-- ${o.comment}`,
    `pidfile = ${at("prosody.pid")}`,
    `data_path = ${at("data")}`,
    `certificates = ${at("certs")}`,
    "run_as_root = true",
    `log = { { levels = { min = ${lua(o.logLevel ?? "info")} }, to = "file", filename = ${at("prosody.log")} } }`,
    `interfaces = { "127.0.0.1" }`,
    `c2s_ports = { ${ports.c2s} }`,
    "c2s_direct_tls_ports = { }",
    "s2s_ports = { }",
    `component_ports = { ${ports.component} }`,
    `component_interfaces = { "127.0.0.1" }`,
    ...(http ? [`http_ports = { ${ports.http} }`, `http_interfaces = { "127.0.0.1" }`] : ["http_ports = { }"]),
    "https_ports = { }",
    ...(http ? [`http_default_host = ${lua(o.userDomain)}`] : []),
    ...(o.nagle !== undefined ? [`network_settings = { nagle = ${o.nagle} }`] : []),
    `modules_enabled = { ${list(enabled)} }`,
    `modules_disabled = { ${list(disabled)} }`,
    `authentication = "internal_hashed"`,
    `storage = "internal"`,
    "c2s_require_encryption = false",
    "allow_unencrypted_plain_auth = true",
    ...(http ? ["consider_websocket_secure = true"] : []),
    ...(o.globalConfig !== undefined ? ["", o.globalConfig] : []),
    "",
    `VirtualHost ${lua(o.userDomain)}`,
    ...(o.hostConfig !== undefined ? [o.hostConfig] : []),
    "",
    `Component ${lua(o.componentDomain)}`,
    `  component_secret = ${lua(o.componentSecret)}`,
  ];
  return lines.join("\n") + "\n";
}

/** Creates user@host with `prosodyctl register` on the config at `cfg` (running server or not). */
export function registerProsodyUser(cfg: string, user: string, host: string, password: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn("prosodyctl", ["--config", cfg, "register", user, host, password], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LANG: "C.UTF-8" } });
    let out = "";
    p.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`prosodyctl register ${user}@${host} failed (${code}): ${out.trim()}`))));
  });
}

/** How long a Prosody that was sent SIGTERM gets before SIGKILL. */
export const PROSODY_STOP_GRACE_MS = 5000;

/** Resolves true once `proc` has exited, false if it has not within `ms`. */
export function waitExit(proc: ChildProcess, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    proc.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Sends `signal` (SIGTERM: Prosody's clean shutdown) and SIGKILL if it is still running after PROSODY_STOP_GRACE_MS. */
export async function stopProsodyProcess(proc: ChildProcess, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill(signal);
  if (!(await waitExit(proc, PROSODY_STOP_GRACE_MS))) {
    proc.kill("SIGKILL");
    await waitExit(proc, PROSODY_STOP_GRACE_MS);
  }
}

/**
 * Starts Prosody in `dir` (which the caller removes) with these accounts, registered with
 * `prosodyctl register` on the generated config before the server starts.
 */
export async function startDemoProsody(opts: { dir: string; users: Array<[string, string]>; userDomain?: string; componentDomain?: string; componentSecret: string }): Promise<DemoProsody> {
  const d = { user: opts.userDomain ?? "localhost", component: opts.componentDomain ?? "tlim.localhost", secret: opts.componentSecret };
  const dir = join(opts.dir, "prosody");
  mkdirSync(join(dir, "data"), { recursive: true });
  mkdirSync(join(dir, "certs"), { recursive: true });
  const cfg = join(dir, "prosody.cfg.lua");
  const ports = { c2s: 0, component: 0, http: 0 };
  const taken = new Set<number>();
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) {
    do ports[k] = await freePort();
    while (taken.has(ports[k]));
    taken.add(ports[k]);
  }
  writeFileSync(cfg, renderProsodyConfig(dir, ports, { comment: "generated by tlim demo (src/demo/prosody.ts); removed when the demo stops", userDomain: d.user, componentDomain: d.component, componentSecret: d.secret, offline: false }));
  for (const [user, password] of opts.users) await registerProsodyUser(cfg, user, d.user, password);

  // Its own process group: a Ctrl-C in the terminal reaches the demo, which stops tlim first and
  // Prosody after it, not both at once.
  const proc: ChildProcess = spawn("prosody", ["-F", "--config", cfg], { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LANG: "C.UTF-8" } });
  let output = "";
  proc.stdout?.on("data", (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
  proc.stderr?.on("data", (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
  // Prosody goes even if this process is killed outright (the watchdog's pipe closes).
  const watchdog = proc.pid ? spawnWatchdog("tlim-demo-prosody-watchdog", `kill -9 "$1" 2>/dev/null`, [String(proc.pid)]) : null;
  const killOnExit = () => proc.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    await stopProsodyProcess(proc);
    watchdog?.kill("SIGKILL");
  };

  const log = () => {
    try {
      return readFileSync(join(dir, "prosody.log"), "utf8").split("\n").slice(-30).join("\n");
    } catch {
      return "";
    }
  };
  const deadline = Date.now() + 20000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`prosody exited while starting:\n${log()}\n${output}`);
    if ((await canConnect(ports.c2s)) && (await canConnect(ports.component)) && (await canConnect(ports.http))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prosody did not open its ports within 20 s:\n${log()}\n${output}`);
    }
    await sleep(100);
  }
  return {
    userDomain: d.user,
    componentDomain: d.component,
    componentSecret: d.secret,
    c2s: `xmpp://127.0.0.1:${ports.c2s}`,
    component: `xmpp://127.0.0.1:${ports.component}`,
    websocket: `ws://127.0.0.1:${ports.http}/xmpp-websocket`,
    stop,
  };
}
