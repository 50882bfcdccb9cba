// Oracle Database 19c and later, node-oracledb in thin mode (no Instant Client), connections from
// TypeORM's pool. Not run against a live server on the machines this was written on:
// docs/databases.md says what was verified how, and how to run the live suite.
//
// What differs from the other databases, and how this adapter answers it:
// - Bind variables are `:1, :2, …`; the store's `?` are numbered in order.
// - One statement per call (no multi-statement text): a step's statements run in turn; the last
//   statement of a committing step carries `autoCommit`, so the commit costs no round trip.
// - Multi-row inserts and upserts are one single-row statement run with array binding
//   (executeMany: one round trip for the whole chunk) — Oracle's fastest bulk DML.
// - Upserts are MERGE … USING (SELECT :1 c1, … FROM dual); insert-if-missing is MERGE without
//   WHEN MATCHED. Two sessions inserting the same new key: one gets ORA-00001 and the batch is
//   run again, as on MySQL.
// - COMPRESS, SIZE and RESOURCE are reserved words: those columns are created and used as
//   quoted upper-case identifiers ("COMPRESS"); every other name is unquoted (upper case in the
//   dictionary, any case in SQL). Result column names come back in upper case and are lowered.
// - Oracle stores '' as NULL: the Oracle schema declares every non-key text column nullable and
//   the row readers turn NULL back into '' where the contract has a string (rows.ts).
// - LIMIT/OFFSET is `OFFSET :n ROWS FETCH NEXT :m ROWS ONLY` (12c on); SELECT of constants needs
//   FROM dual.
import type { DataSource, QueryRunner } from "typeorm";
import {
  chunkRows, driveAsync, driverError, mergeInsert, INSERT_CHUNK, insertSql, lowerKeys, placeholders, numberPlaceholders, offsetFetch, SqlCache,
  type Dialect, type Program, type Row, type SetRule, type Stmt,
} from "../dialect.js";

/** Columns of the schema whose names Oracle reserves (Oracle SQL Reserved Words). */
export const ORACLE_QUOTED = ["compress", "size", "resource"] as const;
/** Columns stored as CLOB: bound as CLOB in bulk DML. */
const CLOB_COLUMNS = new Set(["body", "content"]);

const ORA_UNIQUE = 1;
const ORA_DEADLOCK = 60;
const ORA_RESOURCE_BUSY = 54;
const ORA_CANNOT_SERIALIZE = 8177;
const ORA_WAIT_TIMEOUT = 30006;

const QUOTE_RE = new RegExp(`\\b(${ORACLE_QUOTED.join("|")})\\b`, "g");

/** The store's SQL as Oracle reads it: `:n` binds and the reserved column names quoted. */
export function oracleSql(sql: string): string {
  return numberPlaceholders(sql, (i) => `:${i + 1}`).replace(QUOTE_RE, (w) => `"${w.toUpperCase()}"`);
}

/** The parts of node-oracledb this adapter uses (the module TypeORM loaded). */
interface OracleDb {
  OUT_FORMAT_OBJECT: number;
  DB_TYPE_CLOB: unknown;
  DB_TYPE_NUMBER: unknown;
  DB_TYPE_VARCHAR: unknown;
}
interface OracleConnection {
  execute(sql: string, binds: unknown[], opts: Record<string, unknown>): Promise<{ rows?: Row[] }>;
  executeMany(sql: string, binds: unknown[][], opts: Record<string, unknown>): Promise<unknown>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export class OracleDialect implements Dialect {
  readonly kind = "oracle" as const;
  readonly maxParams = 65535;
  // Binds travel apart from the statement text: only memory bounds a chunk.
  readonly maxStatementBytes = 16 * 1024 * 1024;
  readonly concurrentCommits = true;
  readonly joinInOrder = "JOIN";
  readonly fromDual = " FROM dual";
  private readonly sqlText = new SqlCache(oracleSql);

  constructor(private readonly ds: DataSource) {}

  limitOffset = offsetFetch;

  lockedSelect(cols: string, table: string, where: string, orderBy: string): string {
    return `SELECT ${cols} FROM ${table} WHERE ${where} ORDER BY ${orderBy} FOR UPDATE`;
  }

  insertRows(table: string, cols: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[] {
    return bulk(insertSql(table, cols, 1), rows, this.maxStatementBytes);
  }

  insertIgnoreRows(table: string, cols: readonly string[], key: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[] {
    return bulk(`${mergeHead(table, cols, key)} ${mergeInsert(cols)}`, rows, this.maxStatementBytes);
  }

  upsertRows(table: string, cols: readonly string[], key: readonly string[], rows: readonly (readonly unknown[])[], set: Readonly<Record<string, SetRule>>): Stmt[] {
    const sets = Object.entries(set).map(([c, rule]) => (rule === "max" ? `t.${c} = GREATEST(t.${c}, s.${c})` : `t.${c} = s.${c}`));
    return bulk(`${mergeHead(table, cols, key)} WHEN MATCHED THEN UPDATE SET ${sets.join(", ")} ${mergeInsert(cols)}`, rows, this.maxStatementBytes);
  }

  pairIn(a: string, b: string, n: number): string {
    return `(${a}, ${b}) IN (${placeholders(2, n)})`;
  }

  async run<T>(program: () => Program<T>, opts: { tx: boolean }): Promise<T> {
    const qr = this.ds.createQueryRunner("master");
    let conn: OracleConnection | null = null;
    try {
      conn = (await qr.connect()) as OracleConnection;
      const c = conn;
      const { value, committed } = await driveAsync(program(), async (stmts, { commit }) => {
        const out: Row[][] = [];
        // The commit rides on the step's last statement (autoCommit: no extra round trip); when
        // there is none, or it sends nothing (an empty array bind), an explicit commit.
        const last = stmts[stmts.length - 1];
        const rides = commit && opts.tx && last !== undefined && !(last.rows && last.rows.length === 0);
        for (let k = 0; k < stmts.length; k++) {
          const autoCommit = !opts.tx || (rides && k === stmts.length - 1);
          out.push(await this.exec(c, stmts[k]!, autoCommit));
        }
        if (commit && opts.tx && !rides) await c.commit();
        return out;
      });
      if (opts.tx && !committed) await conn.commit();
      return value;
    } catch (err) {
      if (opts.tx && conn) await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      await release(qr);
    }
  }

  isDuplicateKey(err: unknown): boolean {
    return driverError(err).errorNum === ORA_UNIQUE;
  }

  isTransient(err: unknown): boolean {
    const n = driverError(err).errorNum;
    return n === ORA_DEADLOCK || n === ORA_CANNOT_SERIALIZE || n === ORA_RESOURCE_BUSY || n === ORA_WAIT_TIMEOUT;
  }

  private get oracledb(): OracleDb {
    return (this.ds.driver as unknown as { oracle: OracleDb }).oracle;
  }

  private async exec(conn: OracleConnection, s: Stmt, autoCommit: boolean): Promise<Row[]> {
    const sql = this.sqlText.get(s.sql);
    if (s.rows) {
      if (s.rows.length === 0) return [];
      await conn.executeMany(sql, s.rows as unknown[][], { autoCommit, bindDefs: bindDefs(this.oracledb, s) });
      return [];
    }
    const binds = s.params.map((v) => (typeof v === "string" && v.length > LONG_STRING ? { val: v, type: this.oracledb.DB_TYPE_CLOB } : v));
    const res = await conn.execute(sql, binds, { autoCommit, outFormat: this.oracledb.OUT_FORMAT_OBJECT });
    return res.rows ? res.rows.map(lowerKeys) : [];
  }
}

/** A string this long may pass 32,767 bytes (a VARCHAR bind's limit) in UTF-8: bound as CLOB. */
const LONG_STRING = 8191;

async function release(qr: QueryRunner): Promise<void> {
  await qr.release().catch(() => undefined);
}

/** `MERGE INTO t USING (SELECT ? c1, … FROM dual) s ON (t.k = s.k …)`. */
function mergeHead(table: string, cols: readonly string[], key: readonly string[]): string {
  const src = cols.map((c) => `? ${c}`).join(", ");
  const on = key.map((k) => `t.${k} = s.${k}`).join(" AND ");
  return `MERGE INTO ${table} t USING (SELECT ${src} FROM dual) s ON (${on})`;
}


/** One single-row statement per chunk of rows, run with array binding. */
function bulk(sql: string, rows: readonly (readonly unknown[])[], byteLimit: number): Stmt[] {
  return chunkRows(rows, INSERT_CHUNK, byteLimit).map((chunk) => ({ sql, params: [], rows: chunk }));
}

/**
 * Bind types for executeMany, fixed up front (node-oracledb otherwise infers them from the rows):
 * CLOB for the CLOB columns, NUMBER for numeric columns, VARCHAR sized to the longest value.
 * Numbers and strings in one column (never in the store's rows) bind as VARCHAR.
 */
function bindDefs(db: OracleDb, s: Stmt): Array<Record<string, unknown>> {
  const rows = s.rows!;
  const cols = insertColumns(s.sql);
  return rows[0]!.map((_, j) => {
    if (cols && CLOB_COLUMNS.has(cols[j] ?? "")) return { type: db.DB_TYPE_CLOB };
    let maxSize = 1;
    let numbers = false;
    let strings = false;
    for (const row of rows) {
      const v = row[j];
      if (v === null || v === undefined) continue;
      if (typeof v === "number") {
        numbers = true;
        continue;
      }
      strings = true;
      maxSize = Math.max(maxSize, Buffer.byteLength(String(v), "utf8"));
    }
    // A column of NULLs only (session_id of 1:1 messages) binds as VARCHAR: every nullable column
    // of the schema is text.
    return numbers && !strings ? { type: db.DB_TYPE_NUMBER } : { type: db.DB_TYPE_VARCHAR, maxSize };
  });
}

/** The column list of an INSERT or of a MERGE source (`? c1, ? c2`), in bind order. */
function insertColumns(sql: string): string[] | null {
  const ins = /^INSERT INTO \S+ \(([^)]*)\)/.exec(sql);
  if (ins) return ins[1]!.split(",").map((c) => c.trim());
  const merge = /USING \(SELECT (.*?) FROM dual\)/.exec(sql);
  if (merge) return merge[1]!.split(",").map((c) => c.trim().replace(/^\?\s+/, ""));
  return null;
}
