// Migrations as a SQL script, for DBAs who must create the objects themselves: `sql/<db>.sql`
// (written by scripts/gen-sql.ts, `npm run sql:generate`) and `tlim migrate --print`.
//
// Each migration's `up()` runs against a recording QueryRunner: the migrations only ever call
// `queryRunner.query(sql)` with a complete statement and no parameters, so what they would run is
// exactly the list of those strings. Anything else a migration touches on the QueryRunner throws,
// naming the migration, rather than producing a script that differs from what `tlim migrate` does.
//
// A script ends with TypeORM's migrations table (created with the DDL TypeORM itself would emit
// for that database, rendered by TypeORM's own query runner in SQL-memory mode) and one row per
// migration, so that `tlim migrate` on a database created from the script finds nothing pending.
// The rows come last: a script stopped half-way records nothing as applied.
import { DataSource, MigrationExecutor, Table, type MigrationInterface, type QueryRunner } from "typeorm";
import { MIGRATIONS_TABLE, createDataSource, parseDbUrl, redact } from "../datasource.js";
import type { DbKind } from "../dialect.js";
import { migrationsFor } from "./index.js";

/** How statements are terminated: what the database's command-line tool expects. */
export type ScriptStyle =
  /** `;` after each statement (mysql client, sqlite3 shell). */
  | "semicolon"
  /** SQL*Plus / SQLcl: `;` after a SQL statement, `/` on its own line after a PL/SQL block. */
  | "sqlplus"
  /** sqlcmd / SSMS: each statement in its own batch, `GO` on its own line after it. */
  | "sqlcmd";

export interface ScriptFormat {
  /** File name under sql/. */
  file: string;
  /** Database name for the header. */
  title: string;
  style: ScriptStyle;
  /** TypeORM driver type, for rendering the migrations table offline. */
  typeormType: "better-sqlite3" | "mysql" | "oracle" | "mssql";
  /** How a DBA runs the file (header). */
  run: string;
}

/** The sql/ file of a database kind. Throws for a kind nobody has described yet. */
export function scriptFormat(kind: string): ScriptFormat {
  switch (kind) {
    case "sqlite":
      return { file: "sqlite.sql", title: "SQLite", style: "semicolon", typeormType: "better-sqlite3", run: "sqlite3 -bail tlim.sqlite < sql/sqlite.sql" };
    case "mysql":
    case "mariadb":
      return { file: "mysql.sql", title: "MySQL / MariaDB", style: "semicolon", typeormType: "mysql", run: "mysql --default-character-set=utf8mb4 <database> < sql/mysql.sql (a database created with CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)" };
    case "oracle":
      return { file: "oracle.sql", title: "Oracle", style: "sqlplus", typeormType: "oracle", run: "sqlplus <user>@<service> @sql/oracle.sql (or SQLcl); it stops at the first error" };
    case "mssql":
    case "sqlserver":
      return { file: "sqlserver.sql", title: "SQL Server", style: "sqlcmd", typeormType: "mssql", run: "sqlcmd -b -I -d <database> -i sql/sqlserver.sql (-b: stop at the first error)" };
    default:
      throw new Error(`no SQL script format for database kind '${kind}': add it to scriptFormat() in src/store/sql/migrations/script.ts`);
  }
}

/** A migration as TypeORM's MigrationExecutor sees it. */
export interface ScriptMigration {
  name: string;
  timestamp: number;
  instance: MigrationInterface;
}

/** The migration set of `kind` in the order TypeORM runs it (name and timestamp as TypeORM derives them). */
export function migrationList(kind: DbKind): ScriptMigration[] {
  return migrationsFor(kind)
    .map((Class) => {
      const instance = new Class();
      const name = instance.name ?? Class.name;
      const timestamp = Number.parseInt(name.slice(-13), 10);
      if (!Number.isFinite(timestamp)) throw new Error(`migration ${name}: its name must end with a 13-digit timestamp`);
      return { name, timestamp, instance };
    })
    .sort((a, b) => a.timestamp - b.timestamp);
}

/** The statements `up()` of a migration would run, in order. */
export async function recordUp(migration: ScriptMigration): Promise<string[]> {
  const statements: string[] = [];
  const recorder = {
    query(sql: unknown, params?: unknown) {
      if (typeof sql !== "string") throw new Error(`migration ${migration.name}: query() with a non-string statement`);
      if (Array.isArray(params) ? params.length > 0 : params !== undefined)
        throw new Error(`migration ${migration.name}: query() with bind parameters cannot be written to a SQL script; inline the values`);
      statements.push(sql);
      return Promise.resolve([]);
    },
  };
  const qr = new Proxy(recorder, {
    get(target, prop) {
      if (prop === "query") return target.query;
      if (prop === "then") return undefined; // not a thenable
      throw new Error(`migration ${migration.name}: uses queryRunner.${String(prop)}, which the SQL script recorder (src/store/sql/migrations/script.ts) does not support`);
    },
  }) as unknown as QueryRunner;
  await migration.instance.up(qr);
  return statements;
}

/** A DataSource that is never connected: only its driver is used, to render DDL and quote names. */
export function offlineDataSource(kind: string): DataSource {
  const type = scriptFormat(kind).typeormType;
  const options =
    type === "better-sqlite3"
      ? { type, database: ":memory:" }
      : type === "mysql"
        ? { type, database: "tlim" }
        : type === "oracle"
          ? { type, serviceName: "tlim", username: "tlim" }
          : { type, host: "localhost", database: "tlim", username: "tlim" };
  return new DataSource({ ...options, migrationsTableName: MIGRATIONS_TABLE } as ConstructorParameters<typeof DataSource>[0]);
}

/**
 * The DDL TypeORM's MigrationExecutor uses to create the migrations table (the same Table as its
 * createMigrationsTableIfNotExist), rendered by the driver's query runner without running it.
 */
export async function migrationsTableDdl(ds: DataSource): Promise<string[]> {
  const d = ds.driver;
  const table = new Table({
    name: MIGRATIONS_TABLE,
    columns: [
      { name: "id", type: d.normalizeType({ type: d.mappedDataTypes.migrationId }), isGenerated: true, generationStrategy: "increment", isPrimary: true, isNullable: false },
      { name: "timestamp", type: d.normalizeType({ type: d.mappedDataTypes.migrationTimestamp }), isPrimary: false, isNullable: false },
      { name: "name", type: d.normalizeType({ type: d.mappedDataTypes.migrationName }), isNullable: false },
    ],
  });
  const qr = ds.createQueryRunner();
  try {
    qr.enableSqlMemory();
    await qr.createTable(table);
    return qr.getMemorySql().upQueries.map((q) => q.query);
  } finally {
    qr.disableSqlMemory();
    await qr.release();
  }
}

/** The row TypeORM inserts after running a migration (id is generated). */
export function migrationRowSql(ds: DataSource, m: ScriptMigration): string {
  const q = (name: string) => ds.driver.escape(name);
  return `INSERT INTO ${q(MIGRATIONS_TABLE)} (${q("timestamp")}, ${q("name")}) VALUES (${m.timestamp}, '${m.name.replace(/'/g, "''")}')`;
}

export interface RenderOptions {
  kind: string;
  migrations: readonly ScriptMigration[];
  /** Renders the migrations table and quotes names: offlineDataSource(kind) or a connected one. */
  ds: DataSource;
  /** Create the migrations table (it does not exist yet). */
  createMigrationsTable: boolean;
  /** Comment lines at the top (without the comment marker). */
  header: readonly string[];
}

/** The script: header, each migration's statements under a comment naming it, then the migrations table and its rows. */
export async function renderScript(opts: RenderOptions): Promise<string> {
  const fmt = scriptFormat(opts.kind);
  const out: string[] = opts.header.map((l) => (l === "" ? "--" : `-- ${l}`));
  if (fmt.style === "sqlplus") {
    // SQL*Plus: stop at the first error; `&` in the text is not a substitution variable.
    out.push("", "WHENEVER SQLERROR EXIT FAILURE ROLLBACK", "SET DEFINE OFF");
  }
  if (fmt.style === "sqlcmd") {
    // sqlcmd connects with QUOTED_IDENTIFIER OFF unless given -I; the names are "quoted".
    out.push("", "SET QUOTED_IDENTIFIER ON;", "GO");
  }
  for (const m of opts.migrations) {
    out.push("", `-- Migration ${m.name}`);
    for (const sql of await recordUp(m)) out.push(terminate(sql, fmt.style, opts.kind, m.name));
  }
  if (opts.migrations.length > 0) {
    out.push("", `-- TypeORM's migrations table (${MIGRATIONS_TABLE}): every migration above recorded as applied, so \`tlim migrate\` finds nothing pending.`);
    if (opts.createMigrationsTable) for (const sql of await migrationsTableDdl(opts.ds)) out.push(terminate(sql, fmt.style, opts.kind, MIGRATIONS_TABLE));
    for (const m of opts.migrations) out.push(terminate(migrationRowSql(opts.ds, m), fmt.style, opts.kind, m.name));
    if (fmt.style === "sqlplus") out.push("COMMIT;");
  }
  return `${out.join("\n")}\n`;
}

/** The whole sql/ file of a kind, from its migration set. */
export async function schemaScript(kind: DbKind): Promise<{ file: string; text: string }> {
  const fmt = scriptFormat(kind);
  const text = await renderScript({
    kind,
    migrations: migrationList(kind),
    ds: offlineDataSource(kind),
    createMigrationsTable: true,
    header: [
      `tlim schema for ${fmt.title}.`,
      `GENERATED from the migrations in src/store/sql/migrations/ by scripts/gen-sql.ts: do not edit.`,
      "Regenerate with `npm run sql:generate`; a test fails when this file and the migrations drift.",
      "",
      "For DBAs who create the objects themselves instead of running `tlim migrate`. Run it once, on an",
      `empty database: ${fmt.run}.`,
      "It ends by recording every migration in TypeORM's migrations table, so that `tlim migrate` and",
      "`tlim start` then find nothing pending. `tlim migrate --print` shows what a database still needs.",
    ],
  });
  return { file: fmt.file, text };
}

/**
 * `tlim migrate --print`: the SQL `tlim migrate` would run on the database at `url` (its pending
 * migrations, and the migrations table if it is missing), without running it.
 */
export async function pendingScript(url: string): Promise<string> {
  const kind = parseDbUrl(url).kind;
  const ds = createDataSource(url);
  try {
    await ds.initialize();
  } catch (err) {
    throw new Error(`cannot open database ${redact(url)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const pending = await new MigrationExecutor(ds).getPendingMigrations();
    if (pending.length === 0) return `-- ${redact(url)}: the schema is up to date, no pending migrations.\n`;
    const qr = ds.createQueryRunner();
    let exists: boolean;
    try {
      exists = await qr.hasTable(MIGRATIONS_TABLE);
    } finally {
      await qr.release();
    }
    return await renderScript({
      kind,
      migrations: pending.map((m) => ({ name: m.name, timestamp: m.timestamp, instance: m.instance! })),
      ds,
      createMigrationsTable: !exists,
      header: [
        `Pending migrations of ${redact(url)} (${pending.map((m) => m.name).join(", ")}):`,
        "what `tlim migrate` would run, printed by `tlim migrate --print`, not run.",
      ],
    });
  } finally {
    await ds.destroy();
  }
}

const PLSQL_BLOCK = /^\s*(?:BEGIN|DECLARE|CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:EDITIONABLE|NONEDITIONABLE)\s+)?(?:TRIGGER|PROCEDURE|FUNCTION|PACKAGE|TYPE\s+BODY))\b/i;
const MYSQL_COMPOUND = /^\s*CREATE\s+(?:DEFINER\s*=\s*\S+\s+)?(?:TRIGGER|PROCEDURE|FUNCTION|EVENT)\b[\s\S]*\bBEGIN\b/i;

/** One statement, terminated for the kind's command-line tool. */
function terminate(sql: string, style: ScriptStyle, kind: string, where: string): string {
  let text = sql.trim();
  if (style === "sqlplus" && PLSQL_BLOCK.test(text)) {
    // The block's own `END;` stays; `/` runs it.
    text = withoutBlankLines(text, where);
    return `${text.endsWith(";") ? text : `${text};`}\n/`;
  }
  text = text.replace(/;\s*$/, "");
  if (style === "semicolon" && kind !== "sqlite" && MYSQL_COMPOUND.test(text))
    throw new Error(`${where}: compound statements (BEGIN … END) need DELIMITER handling, which scripts/gen-sql.ts does not write yet`);
  if (style === "sqlplus") return `${withoutBlankLines(text, where)};`;
  if (style === "sqlcmd") return `${text};\nGO`;
  return `${text};`;
}

/** SQL*Plus ends a statement at a blank line: drop them (refusing one inside a string literal). */
function withoutBlankLines(sql: string, where: string): string {
  let inString = false;
  const lines = sql.split("\n");
  const kept: string[] = [];
  for (const line of lines) {
    if (line.trim() === "") {
      if (inString) throw new Error(`${where}: a blank line inside a string literal cannot be written for SQL*Plus`);
      continue;
    }
    for (const ch of line) if (ch === "'") inString = !inString;
    kept.push(line);
  }
  return kept.join("\n");
}
