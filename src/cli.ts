// `tlim start | migrate` — reads tlim.config.json then TLIM_* (environment wins).
import "reflect-metadata";
import { Command } from "commander";
import { ConfigError, describeOptions, loadConfig, readConfigFile } from "./config.js";
import { createLogger } from "./log.js";
import { startTlim } from "./main.js";
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
    const log = createLogger(cfg.logLevel);
    const tlim = await startTlim(cfg, log);
    const shutdown = async (signal: string) => {
      log.info({ signal }, "shutting down");
      await tlim.stop();
      process.exit(0);
    };
    process.once("SIGINT", () => void shutdown("SIGINT"));
    process.once("SIGTERM", () => void shutdown("SIGTERM"));
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

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
