// SQL Server 2019 and later, the `mssql` package (tedious) through TypeORM's pool. Not run
// against a live server on the machines this was written on: docs/databases.md says what was
// verified how, and how to run the live suite.
//
// What differs from the other databases, and how this adapter answers it:
// - Parameters are `@p0, @p1, …`, numbered across a whole batch; a request carries at most 2,098.
// - A step's statements go as one batch (one round trip) as long as their parameters fit in one
//   request; SELECT results come back as the batch's record sets, in order.
// - Row locks are table hints: SELECT … FROM t WITH (UPDLOCK, ROWLOCK) holds the rows until the
//   transaction ends, as FOR UPDATE does elsewhere.
// - Upserts are MERGE … WITH (HOLDLOCK) USING (VALUES …) AS s (…): HOLDLOCK makes the
//   match-then-insert atomic against another session inserting the same key.
// - No row-value IN: pairs are `(a = @x AND b = @y) OR …`. No GREATEST before SQL Server 2022:
//   CASE. LIMIT/OFFSET is `OFFSET … ROWS FETCH NEXT … ROWS ONLY`.
// - SESSION_USER is a reserved word: the sessions.session_user column is written [session_user].
// - Identifiers compare with the columns' binary collation (Latin1_General_100_BIN2), as on the
//   other databases: 'A' and 'a' are different msg_ids.
import type { DataSource } from "typeorm";
import {
  driveAsync, driverError, mergeInsert, insertSql, multiRow, numberPlaceholders, offsetFetch, placeholders, SqlCache,
  type Dialect, type Program, type Row, type SetRule, type Stmt,
} from "../dialect.js";

const ERR_DUP_KEY = 2627; // violation of a PRIMARY KEY or UNIQUE constraint
const ERR_DUP_INDEX = 2601; // duplicate key row in a unique index
const ERR_DEADLOCK = 1205;
const ERR_LOCK_TIMEOUT = 1222;

/** Most parameters in one request: SQL Server allows 2,100, and sp_executesql, which carries a
 * parameterised batch, takes two of them for itself. */
export const MSSQL_MAX_PARAMS = 2098;

/** The parts of the mssql package this adapter uses (the module TypeORM loaded). */
interface MssqlRequest {
  input(name: string, value: unknown): void;
  query(sql: string): Promise<{ recordsets?: Row[][] | Record<string, Row[]> }>;
}
interface MssqlTransaction {
  begin(): Promise<unknown>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}
interface Mssql {
  Request: new (parent: unknown) => MssqlRequest;
}
interface MssqlPool {
  transaction(): MssqlTransaction;
}

/** Columns of the schema whose names T-SQL reserves (SESSION_USER is a function): bracketed. */
export const SQLSERVER_QUOTED = ["session_user"] as const;
const QUOTE_RE = new RegExp(`\\b(${SQLSERVER_QUOTED.join("|")})\\b`, "g");
const quoted = new SqlCache((sql) => sql.replace(QUOTE_RE, "[$1]"));

/** Statements as one T-SQL batch: `@pN` numbered across it; each statement ends with `;`. */
export function sqlServerBatch(stmts: readonly Stmt[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts: string[] = [];
  for (const s of stmts) {
    parts.push(`${numberPlaceholders(quoted.get(s.sql), (i) => `@p${i}`, params.length)};`);
    for (const p of s.params) params.push(p);
  }
  return { sql: parts.join("\n"), params };
}

export class SqlServerDialect implements Dialect {
  readonly kind = "mssql" as const;
  readonly maxParams = MSSQL_MAX_PARAMS;
  readonly maxStatementBytes = 16 * 1024 * 1024;
  readonly concurrentCommits = true;
  readonly joinInOrder = "JOIN";
  readonly fromDual = "";

  constructor(private readonly ds: DataSource) {}

  limitOffset = offsetFetch;

  lockedSelect(cols: string, table: string, where: string, orderBy: string): string {
    return `SELECT ${cols} FROM ${table} WITH (UPDLOCK, ROWLOCK) WHERE ${where} ORDER BY ${orderBy}`;
  }

  insertRows(table: string, cols: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[] {
    return multiRow(this, cols.length, rows, (n) => insertSql(table, cols, n));
  }

  insertIgnoreRows(table: string, cols: readonly string[], key: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[] {
    return multiRow(this, cols.length, rows, (n) => `${mergeHead(table, cols, key, n)} ${mergeInsert(cols)}`);
  }

  upsertRows(table: string, cols: readonly string[], key: readonly string[], rows: readonly (readonly unknown[])[], set: Readonly<Record<string, SetRule>>): Stmt[] {
    const sets = Object.entries(set).map(([c, rule]) =>
      rule === "max" ? `t.${c} = CASE WHEN s.${c} > t.${c} THEN s.${c} ELSE t.${c} END` : `t.${c} = s.${c}`);
    return multiRow(this, cols.length, rows, (n) => `${mergeHead(table, cols, key, n)} WHEN MATCHED THEN UPDATE SET ${sets.join(", ")} ${mergeInsert(cols)}`);
  }

  pairIn(a: string, b: string, n: number): string {
    return `(${new Array(n).fill(`(${a} = ? AND ${b} = ?)`).join(" OR ")})`;
  }

  async run<T>(program: () => Program<T>, opts: { tx: boolean }): Promise<T> {
    const driver = this.ds.driver as unknown as { mssql: Mssql; obtainMasterConnection(): Promise<MssqlPool> };
    const pool = await driver.obtainMasterConnection();
    const tx = opts.tx ? pool.transaction() : null;
    if (tx) {
      await tx.begin();
      // Without it a duplicate key or a constraint error ends only its own statement and the
      // rest of the batch runs on inside the transaction; with it the first error ends the batch
      // and the transaction, as `many()` promises ("a failing statement stops the rest").
      await new driver.mssql.Request(tx).query("SET XACT_ABORT ON");
    }
    const target = tx ?? pool;
    try {
      const { value } = await driveAsync(program(), (stmts) => this.execAll(driver.mssql, target, stmts));
      if (tx) await tx.commit();
      return value;
    } catch (err) {
      if (tx) await tx.rollback().catch(() => undefined);
      throw err;
    }
  }

  isDuplicateKey(err: unknown): boolean {
    const n = errorNumber(err);
    return n === ERR_DUP_KEY || n === ERR_DUP_INDEX;
  }

  isTransient(err: unknown): boolean {
    const n = errorNumber(err);
    return n === ERR_DEADLOCK || n === ERR_LOCK_TIMEOUT;
  }

  /** A step's statements in as few batches as the parameter limit allows; rows of each. */
  private async execAll(mssql: Mssql, target: unknown, stmts: readonly Stmt[]): Promise<Row[][]> {
    const out: Row[][] = [];
    let group: Stmt[] = [];
    let count = 0;
    const flush = async () => {
      if (group.length === 0) return;
      out.push(...(await this.batch(mssql, target, group)));
      group = [];
      count = 0;
    };
    for (const s of stmts) {
      if (s.params.length > MSSQL_MAX_PARAMS) throw new Error(`statement with ${s.params.length} parameters (SQL Server allows ${MSSQL_MAX_PARAMS})`);
      if (count + s.params.length > MSSQL_MAX_PARAMS) await flush();
      group.push(s);
      count += s.params.length;
    }
    await flush();
    return out;
  }

  private async batch(mssql: Mssql, target: unknown, stmts: readonly Stmt[]): Promise<Row[][]> {
    const { sql, params } = sqlServerBatch(stmts);
    const req = new mssql.Request(target);
    params.forEach((p, i) => req.input(`p${i}`, p));
    const res = await req.query(sql);
    const sets = Array.isArray(res.recordsets) ? res.recordsets : [];
    // Every SELECT yields one record set (empty or not); the other statements yield none.
    const selects = stmts.filter((s) => /^\s*SELECT\b/i.test(s.sql)).length;
    if (sets.length !== selects) throw new Error(`batch returned ${sets.length} record sets for ${selects} SELECT statements`);
    let k = 0;
    return stmts.map((s) => (/^\s*SELECT\b/i.test(s.sql) ? [...sets[k++]!] : []));
  }
}

function errorNumber(err: unknown): unknown {
  // mssql throws a batch's last error and keeps the earlier ones in precedingErrors: the first
  // one is what went wrong.
  const e = driverError(err) as { number?: unknown; originalError?: { info?: { number?: unknown } }; precedingErrors?: Array<{ number?: unknown }> };
  return e.precedingErrors?.[0]?.number ?? e.number ?? e.originalError?.info?.number;
}

/** `MERGE INTO t WITH (HOLDLOCK) AS t USING (VALUES (…), …) AS s (cols) ON t.k = s.k …`. */
function mergeHead(table: string, cols: readonly string[], key: readonly string[], n: number): string {
  const on = key.map((k) => `t.${k} = s.${k}`).join(" AND ");
  return `MERGE INTO ${table} WITH (HOLDLOCK) AS t USING (VALUES ${placeholders(cols.length, n)}) AS s (${cols.join(", ")}) ON ${on}`;
}

