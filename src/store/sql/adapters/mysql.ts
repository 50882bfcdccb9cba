// MySQL / MariaDB (mysql2 through TypeORM's pool). A program runs with awaits on one pooled
// connection (one TypeORM QueryRunner per call). A step of several statements is sent as one
// multi-statement query, i.e. one round trip, with `START TRANSACTION` folded into the first step
// and `COMMIT` into a step marked `commit` (docs/performance.md: the round trips, each waiting
// behind the event loop, were what bounded the group-commit writer).
import type { DataSource, QueryRunner } from "typeorm";
import {
  driveAsync, driverError, insertSql, limitOffset, multiRow, placeholders,
  type Dialect, type Program, type Row, type SetRule, type Stmt,
} from "../dialect.js";

const MYSQL_ER_DUP_ENTRY = 1062;
const MYSQL_ER_LOCK_WAIT_TIMEOUT = 1205;
const MYSQL_ER_LOCK_DEADLOCK = 1213;

/**
 * Set once on every pooled connection the store uses. Strict mode makes an over-long value an
 * error rather than a silent truncation (and is explicit about NO_BACKSLASH_ESCAPES being off,
 * which mysql2's client-side escaping relies on). READ COMMITTED: the dedupe read sees rows other
 * instances committed while we waited for a row lock, and InnoDB takes no gap locks.
 */
const MYSQL_SESSION_SETUP = [
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
  "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
];

export class MysqlDialect implements Dialect {
  readonly kind = "mysql" as const;
  readonly maxParams = 65535;
  // MariaDB's default max_allowed_packet is 16 MiB; mysql2 inlines parameters into the text.
  readonly maxStatementBytes = 4 * 1024 * 1024;
  readonly concurrentCommits = true;
  readonly joinInOrder = "STRAIGHT_JOIN";
  readonly fromDual = "";
  private readonly prepared = new WeakSet<object>();

  constructor(private readonly ds: DataSource) {}

  limitOffset = limitOffset;

  lockedSelect(cols: string, table: string, where: string, orderBy: string): string {
    return `SELECT ${cols} FROM ${table} WHERE ${where} ORDER BY ${orderBy} FOR UPDATE`;
  }

  insertRows(table: string, cols: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[] {
    return multiRow(this, cols.length, rows, (n) => insertSql(table, cols, n));
  }

  insertIgnoreRows(table: string, cols: readonly string[], key: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[] {
    // Not `INSERT IGNORE`: it takes a *shared* lock on an existing row, and two instances that
    // then upgrade to FOR UPDATE deadlock; it also turns data errors into warnings. A no-op
    // ON DUPLICATE KEY UPDATE takes the exclusive lock at once.
    const k = key[0]!;
    return multiRow(this, cols.length, rows, (n) => `${insertSql(table, cols, n)} ON DUPLICATE KEY UPDATE ${k} = ${k}`);
  }

  upsertRows(table: string, cols: readonly string[], _key: readonly string[], rows: readonly (readonly unknown[])[], set: Readonly<Record<string, SetRule>>): Stmt[] {
    // VALUES(col) is what MariaDB understands (MySQL 8.0.20+ still accepts it, with a warning).
    const sets = Object.entries(set).map(([c, rule]) => (rule === "max" ? `${c} = GREATEST(${c}, VALUES(${c}))` : `${c} = VALUES(${c})`));
    return multiRow(this, cols.length, rows, (n) => `${insertSql(table, cols, n)} ON DUPLICATE KEY UPDATE ${sets.join(", ")}`);
  }

  pairIn(a: string, b: string, n: number): string {
    // MariaDB plans a DELETE or UPDATE whose WHERE is a one-row `(a, b) IN ((?, ?))` as a scan of
    // the whole table (EXPLAIN: type ALL, with two rows or more it takes the key range): one
    // pair is written as two equalities (test/store/mysql.test.ts, the purge's statements).
    return n === 1 ? `(${a} = ? AND ${b} = ?)` : `(${a}, ${b}) IN (${placeholders(2, n)})`;
  }

  async run<T>(program: () => Program<T>, opts: { tx: boolean }): Promise<T> {
    const qr = this.ds.createQueryRunner("master");
    try {
      await this.prepare(qr);
      if (!opts.tx) return (await driveAsync(program(), (stmts) => queryAll(qr, stmts))).value;
      // The transaction is begun and committed by plain statements folded into the program's
      // first and last steps (isolation level set per session, see MYSQL_SESSION_SETUP).
      let begin = true;
      try {
        const { value, committed } = await driveAsync(program(), (stmts, { commit }) => {
          const all = [...(begin ? [BEGIN] : []), ...stmts, ...(commit ? [COMMIT] : [])];
          const head = begin ? 1 : 0;
          begin = false;
          return queryAll(qr, all).then((rows) => rows.slice(head, head + stmts.length));
        });
        if (!committed && !begin) await qr.query("COMMIT");
        return value;
      } catch (err) {
        // Harmless when nothing was begun; a failed statement stops the rest of its step.
        if (!begin) await qr.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    } finally {
      await qr.release();
    }
  }

  isDuplicateKey(err: unknown): boolean {
    return driverError(err).errno === MYSQL_ER_DUP_ENTRY;
  }

  isTransient(err: unknown): boolean {
    const errno = driverError(err).errno;
    return errno === MYSQL_ER_LOCK_DEADLOCK || errno === MYSQL_ER_LOCK_WAIT_TIMEOUT;
  }

  private async prepare(qr: QueryRunner): Promise<void> {
    const conn = (await qr.connect()) as object;
    if (this.prepared.has(conn)) return;
    for (const sql of MYSQL_SESSION_SETUP) await qr.query(sql);
    this.prepared.add(conn);
  }
}

const BEGIN: Stmt = { sql: "START TRANSACTION", params: [] };
const COMMIT: Stmt = { sql: "COMMIT", params: [] };

/** One round trip: statements joined into one multi-statement query; the rows of each. */
async function queryAll(qr: QueryRunner, stmts: readonly Stmt[]): Promise<Row[][]> {
  if (stmts.length === 0) return [];
  if (stmts.length === 1) return [rowsOf(await qr.query(stmts[0]!.sql, stmts[0]!.params as unknown[]))];
  const params: unknown[] = [];
  for (const s of stmts) for (const p of s.params) params.push(p);
  const raw: unknown = await qr.query(stmts.map((s) => s.sql).join(";\n"), params);
  if (!Array.isArray(raw) || raw.length !== stmts.length) {
    throw new Error(`multi-statement query returned ${Array.isArray(raw) ? raw.length : "no"} results for ${stmts.length} statements`);
  }
  return raw.map(rowsOf);
}

function rowsOf(raw: unknown): Row[] {
  return Array.isArray(raw) ? (raw as Row[]) : [];
}
