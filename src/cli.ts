// `tlim start | migrate` — reads tlim.config.json then TLIM_* (environment wins).
import "reflect-metadata";
import { Command } from "commander";
import { ConfigError, describeOptions, loadConfig, readConfigFile } from "./config.js";
import { createLogger } from "./log.js";
import { startTlim } from "./main.js";
import { gracefulShutdown } from "./shutdown.js";
import { runMigrations } from "./store/open.js";
import { parseDbUrl } from "./store/sql/datasource.js";
import { pendingScript, schemaScript } from "./store/sql/migrations/script.js";
import { VERSION } from "./version.js";

const program = new Command()
  .name("tlim")
  .description("tlim: an enterprise IM layer for any XMPP server (XEP-0114 component + HTTP API)")
  .version(VERSION)
  .option("-c, --config <file>", "configuration file (JSON, camelCase keys)", process.env.TLIM_CONFIG ?? "tlim.config.json")
  .addHelpText("after", `\nConfiguration (environment variables win over the config file):\n  ${describeOptions().join("\n  ")}\n`);

function config() {
  const file = readConfigFile(program.opts<{ config: string }>().config);
  return loadConfig({ file });
}

program
  .command("start")
  .description("connect to the XMPP server and serve the HTTP API (SQLite ./data/tlim.sqlite by default)")
  .action(async () => {
    const cfg = config();
    const log = createLogger(cfg.logLevel, { format: cfg.logFormat });
    const tlim = await startTlim(cfg, log);
    const shutdown = gracefulShutdown(
      { stop: () => tlim.stop(), get stage() { return tlim.stage; }, unsettled: () => tlim.core.unsettled },
      { timeoutMs: cfg.shutdownTimeoutS * 1000, log, exit: (code) => process.exit(code) },
    );
    process.on("SIGINT", () => shutdown("SIGINT"));
    process.on("SIGTERM", () => shutdown("SIGTERM"));
  });

program
  .command("migrate")
  .description("create or update the database schema (TLIM_DB_URL: sqlite:… or mysql://…)")
  .option("--print", "print the SQL of the pending migrations for the configured database instead of running them")
  .option("--all", "with --print: the whole schema script of the configured database's kind (as in sql/), without connecting")
  .action(async (opts: { print?: boolean; all?: boolean }) => {
    // Only the database matters here: the XMPP secret is not required to migrate.
    const file = readConfigFile(program.opts<{ config: string }>().config);
    const cfg = loadConfig({ file, overrides: { xmppSecret: "unused-for-migrate", apiAuth: "none" } });
    if (opts.all && !opts.print) throw new ConfigError(["--all only goes with --print"]);
    if (opts.print) {
      try {
        process.stdout.write(opts.all ? (await schemaScript(parseDbUrl(cfg.dbUrl).kind)).text : await pendingScript(cfg.dbUrl));
      } catch (err) {
        console.error(`tlim migrate --print: ${(err as Error).message}`);
        process.exit(1);
      }
      return;
    }
    const applied = await runMigrations(cfg.dbUrl);
    console.log(applied.length === 0 ? "schema is up to date" : `applied: ${applied.join(", ")}`);
  });

program
  .command("demo")
  .description("try tlim: a throwaway Prosody (the machine's), tlim on SQLite, users alice and bob, and a web client at /web/ (docs/demo.md)")
  .option("-p, --port <port>", "tlim's HTTP port, serving the web client (0 = a free port)", "0")
  .option("-d, --data-dir <dir>", "keep Prosody's and tlim's data here (default: a temporary directory removed at the end)")
  .action(async (opts: { port: string; dataDir?: string }) => {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError([`--port must be a port number from 0 to 65535 (got ${opts.port})`]);
    const { runDemo } = await import("./demo/run.js");
    await runDemo({ port, ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}) });
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
