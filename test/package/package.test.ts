// The package as a user gets it: `npm pack` (which builds dist/ first), then
// `npm i -g --prefix <tmp> ./tlim-<version>.tgz` in a folder outside the repository, then the
// installed `tlim`: --help, --version, `migrate` on SQLite (the native better-sqlite3 module and
// the compiled migrations), and `start` against a real Prosody until /healthz says the component
// link is up. Run with `npm run test:package` (minutes: npm installs the dependencies and
// compiles better-sqlite3).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../support/tlim-stanzas.js";
import { startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { freePort } from "../support/processes.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TLIM_") && !k.startsWith("npm_")));

describe("the npm package", () => {
  let dir: string;
  let files: string[] = [];
  let tarball: string;
  let tlim: string;
  let installedAt: string;
  const timings: Record<string, number> = {};

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tlim-package-"));
    let t = Date.now();
    const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8", env: cleanEnv() })) as [
      { filename: string; files: { path: string }[]; entryCount: number; size: number },
    ];
    timings.pack = Date.now() - t;
    files = packed[0].files.map((f) => f.path);
    tarball = join(dir, packed[0].filename);
    console.log(`tarball ${packed[0].filename}: ${packed[0].entryCount} files, ${packed[0].size} bytes`);

    t = Date.now();
    const prefix = join(dir, "prefix");
    // better-sqlite3's install script builds its native module: allowed by name (npm 11 runs only
    // the install scripts it is told to, for global installs). oracledb's only checks (thin mode
    // needs no binary).
    const r = spawnSync("npm", ["i", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", "--allow-scripts=better-sqlite3", tarball], {
      cwd: dir, encoding: "utf8", env: cleanEnv(),
    });
    timings.install = Date.now() - t;
    if (r.status !== 0) throw new Error(`npm i -g failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    tlim = join(prefix, "bin", "tlim");
    installedAt = join(prefix, "lib", "node_modules", PKG.name);
    console.log(`npm pack ${timings.pack} ms, npm i -g ${timings.install} ms`);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ships the compiled program, the SQL scripts, the server modules and the docs, and nothing for development", () => {
    for (const f of ["bin/tlim.js", "dist/cli.js", "dist/main.js", "package.json", "README.md", "sql/sqlite.sql", "sql/mysql.sql", "server/prosody/mod_tlim.lua", "server/ejabberd/mod_tlim.erl", "docs/configuration.md"]) {
      expect(files).toContain(f);
    }
    const dev = files.filter((f) => /^(src|test|bench|scripts|node_modules|data)\//.test(f) || /\.ts$|\.map$|^tsconfig|^vitest|^\.ci\//.test(f));
    expect(dev).toEqual([]);
  });

  it("installs without the development tool chain", () => {
    expect(existsSync(join(installedAt, "dist", "cli.js"))).toBe(true);
    for (const dep of ["tsx", "esbuild", "typescript", "vitest"]) expect(existsSync(join(installedAt, "node_modules", dep))).toBe(false);
  });

  it("tlim --help and --version run from the installed package", () => {
    const help = spawnSync(tlim, ["--help"], { cwd: dir, encoding: "utf8", env: cleanEnv() });
    expect(help.stderr).toBe("");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Usage: tlim");
    for (const s of ["start", "migrate", "TLIM_XMPP_SECRET", "TLIM_DB_URL"]) expect(help.stdout).toContain(s);
    const version = spawnSync(tlim, ["--version"], { cwd: dir, encoding: "utf8", env: cleanEnv() });
    expect(version.stdout.trim()).toBe(PKG.version);
  });

  it("tlim migrate creates a SQLite database with the compiled migrations, and --print --all matches the shipped sql/sqlite.sql", () => {
    const env = { ...cleanEnv(), TLIM_DB_URL: `sqlite:${join(dir, "db", "tlim.sqlite")}` };
    const first = spawnSync(tlim, ["migrate"], { cwd: dir, encoding: "utf8", env });
    expect(first.stderr).toBe("");
    expect(first.stdout).toMatch(/^applied: Init\d+/);
    const again = spawnSync(tlim, ["migrate"], { cwd: dir, encoding: "utf8", env });
    expect(again.stdout.trim()).toBe("schema is up to date");
    const script = spawnSync(tlim, ["migrate", "--print", "--all"], { cwd: dir, encoding: "utf8", env });
    expect(script.status).toBe(0);
    expect(script.stdout).toBe(readFileSync(join(installedAt, "sql", "sqlite.sql"), "utf8"));
  });

  describe("tlim start", () => {
    let server: XmppServerHandle;
    beforeAll(async () => {
      server = await startXmppServer({}, "prosody");
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    it("connects to Prosody, serves /healthz, and exits 0 on SIGTERM", async () => {
      const port = await freePort();
      const proc = spawn(tlim, ["start"], {
        cwd: dir,
        env: {
          ...cleanEnv(), TLIM_XMPP_SERVICE: server.componentService, TLIM_XMPP_DOMAIN: server.componentDomain,
          TLIM_XMPP_SECRET: server.componentSecret, TLIM_USER_DOMAIN: server.userDomain, TLIM_HTTP_PORT: String(port),
          TLIM_JIM_PORT: "0", TLIM_API_SECRET: "s",
        },
      });
      let output = "";
      proc.stdout!.on("data", (d) => (output += d));
      proc.stderr!.on("data", (d) => (output += d));
      const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
      try {
        let health: { xmpp?: string; database?: string } = {};
        const until = Date.now() + 30_000;
        while (health.xmpp !== "online") {
          if (Date.now() > until || proc.exitCode !== null) throw new Error(`tlim did not come up: ${JSON.stringify(health)}\n${output.slice(-3000)}`);
          const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
          if (res) health = (await res.json()) as typeof health;
          await sleep(200);
        }
        expect(health.database).toBe("up");
        // The default database, created in the working directory.
        expect(existsSync(join(dir, "data", "tlim.sqlite"))).toBe(true);
      } finally {
        proc.kill("SIGTERM");
      }
      expect(await exited).toBe(0);
    });
  });
});
