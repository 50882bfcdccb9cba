// Every difference between SQLite and MySQL/MariaDB lives in this file: statement syntax
// (insert-ignore, upsert, row locks, row-value IN, limits), bind-parameter limits, how a
// transaction begins and ends, per-connection settings and how errors are classified.
// sqlStore.ts is written once against the `Dialect` interface.
//
// Store operations are written as *programs*: generators that yield statements and receive their
// rows. The SQLite dialect drives a program synchronously on the single better-sqlite3 connection
// inside `db.transaction(...).immediate()`, so nothing else can run on that connection while a
// transaction is open and no event-loop turn passes inside it. The MySQL dialect drives the same
// program with awaits on one pooled connection (one TypeORM QueryRunner per call).
//
// A program may also yield several statements at once (`many`): the MySQL dialect sends them as
// one multi-statement query, i.e. one round trip, and folds `START TRANSACTION` into the first
// step and `COMMIT` into a step marked `commit` (docs/performance.md: the round trips, each
// waiting behind the event loop, were what bounded the group-commit writer).
import type { DataSource, QueryRunner } from "typeorm";
import type BetterSqlite3 from "better-sqlite3";

export type DbKind = "sqlite" | "mysql";

export type Row = Record<string, unknown>;

export interface Stmt {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** Statements sent together; the step receives the rows of each, in order. */
export interface Many {
  readonly many: readonly Stmt[];
  /** The transaction commits right after these statements; the program yields nothing after. */
  readonly commit: boolean;
}

/** Waits, inside the transaction, until `until` settles; its rejection aborts the program. */
export interface Gate {
  readonly gate: Promise<void>;
}

/**
 * A unit of database work: yields statements, receives each statement's rows ([] for writes).
 * A `Many` step receives `Row[][]` (typed through `many()`); a `Gate` step receives [].
 */
export type Program<T> = Generator<Stmt | Many | Gate, T, Row[]>;

/** Holds the transaction open until `until` resolves (the commit order of pipelined batches). */
export function* gate(until: Promise<void>): Program<void> {
  yield { gate: until };
}

export function stmt(sql: string, ...params: unknown[]): Stmt {
  return { sql, params };
}

/**
 * Runs statements as one step: one round trip on MySQL. With `commit`, the transaction commits
 * with them (on success of every one); a failing statement stops the rest and rolls back.
 */
export function* many(stmts: readonly Stmt[], opts: { commit?: boolean } = {}): Program<Row[][]> {
  if (stmts.length === 0 && !opts.commit) return [];
  return (yield { many: stmts, commit: opts.commit ?? false }) as unknown as Row[][];
}

const isMany = (s: Stmt | Many | Gate): s is Many => (s as Many).many !== undefined;
const isGate = (s: Stmt | Many | Gate): s is Gate => (s as Gate).gate !== undefined;

/** How an upsert sets a column on conflict: the new value, or the larger of old and new. */
export type SetRule = "new" | "max";

export interface Dialect {
  readonly kind: DbKind;
  /** Most bind parameters in one statement. */
  readonly maxParams: number;
  /** Soft bound on the size of one statement's data, in bytes (MySQL max_allowed_packet). */
  readonly maxStatementBytes: number;
  /** Appended to a SELECT that must lock the rows it reads until commit. */
  readonly forUpdate: string;
  /** A join keyword that makes the planner take the left table as the outer loop. */
  readonly joinInOrder: string;

  insert(table: string, cols: readonly string[], rows: number): string;
  /**
   * Inserts rows whose `key` is not taken yet and leaves existing rows alone; other errors
   * (too long, NOT NULL) still fail. Rows should come sorted by key (lock order on MySQL).
   */
  insertIgnore(table: string, cols: readonly string[], key: readonly string[], rows: number): string;
  /** Multi-row insert-or-update on `key`; `set` says how each updated column changes. */
  upsert(table: string, cols: readonly string[], key: readonly string[], rows: number, set: Readonly<Record<string, SetRule>>): string;
  /** `(a, b) IN (…n pairs…)`, 2n parameters. */
  pairIn(a: string, b: string, n: number): string;
  limitOffset(limit: number, offset: number): Stmt;

  /**
   * Runs a program. With `tx`, inside one transaction: committed when the program returns,
   * rolled back (and the error rethrown) when anything throws.
   */
  run<T>(program: () => Program<T>, opts: { tx: boolean }): Promise<T>;
  /** A unique or primary key violation. */
  isDuplicateKey(err: unknown): boolean;
  /** The database gave up on the transaction for lock reasons; running it again may succeed. */
  isTransient(err: unknown): boolean;
}

export function dialectFor(ds: DataSource): Dialect {
  const type = ds.options.type;
  if (type === "better-sqlite3") return new SqliteDialect(ds);
  if (type === "mysql" || type === "mariadb") return new MysqlDialect(ds);
  throw new Error(`unsupported database type '${type}'`);
}

// ---------------------------------------------------------------------------------------------

const placeholders = (cols: number, rows: number): string => {
  const one = `(${new Array(cols).fill("?").join(", ")})`;
  return new Array(rows).fill(one).join(", ");
};

const insertSql = (table: string, cols: readonly string[], rows: number): string =>
  `INSERT INTO ${table} (${cols.join(", ")}) VALUES ${placeholders(cols.length, rows)}`;

function limitOffset(limit: number, offset: number): Stmt {
  const int = (n: number) => Math.max(0, Math.floor(n));
  return stmt("LIMIT ? OFFSET ?", int(limit), int(offset));
}

function driveSync<T>(program: Program<T>, exec: (s: Stmt) => Row[]): T {
  let step = program.next();
  while (!step.done) {
    const s = step.value;
    // SQLite commits one batch at a time (no concurrent commits): nothing to wait for.
    if (isGate(s)) throw new Error("a store program waited on a gate on a synchronous connection");
    step = program.next(isMany(s) ? (s.many.map(exec) as unknown as Row[]) : exec(s));
  }
  return step.value;
}

/** The driver's own error (TypeORM wraps it in QueryFailedError.driverError). */
function driverError(err: unknown): { code?: unknown; errno?: unknown } {
  const e = err as { driverError?: unknown } | null;
  return ((e && typeof e === "object" && e.driverError) || err || {}) as { code?: unknown; errno?: unknown };
}

// ---------------------------------------------------------------------------------------------

class SqliteDialect implements Dialect {
  readonly kind = "sqlite" as const;
  readonly maxParams = 32766; // SQLITE_MAX_VARIABLE_NUMBER since 3.32 (bundled: 3.53)
  readonly maxStatementBytes = 64 * 1024 * 1024;
  // BEGIN IMMEDIATE takes the database write lock up front: the whole transaction is serial.
  readonly forUpdate = "";
  readonly joinInOrder = "CROSS JOIN"; // SQLite's documented way to fix the join order
  private readonly cache = new Map<string, BetterSqlite3.Statement<unknown[]>>();

  constructor(private readonly ds: DataSource) {}

  insert = insertSql;
  limitOffset = limitOffset;

  insertIgnore(table: string, cols: readonly string[], key: readonly string[], rows: number): string {
    // Not `INSERT OR IGNORE`: that also swallows CHECK and NOT NULL violations.
    return `${insertSql(table, cols, rows)} ON CONFLICT (${key.join(", ")}) DO NOTHING`;
  }

  upsert(table: string, cols: readonly string[], key: readonly string[], rows: number, set: Readonly<Record<string, SetRule>>): string {
    const sets = Object.entries(set).map(([c, rule]) => (rule === "max" ? `${c} = MAX(${c}, excluded.${c})` : `${c} = excluded.${c}`));
    return `${insertSql(table, cols, rows)} ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${sets.join(", ")}`;
  }

  pairIn(a: string, b: string, n: number): string {
    // SQLite accepts a row value on the left of IN only with a subquery on the right.
    return `(${a}, ${b}) IN (VALUES ${placeholders(2, n)})`;
  }

  async run<T>(program: () => Program<T>, opts: { tx: boolean }): Promise<T> {
    const db = this.db();
    // A `commit` step needs nothing here: the transaction commits when the program returns.
    const body = () => driveSync(program(), (s) => this.exec(db, s));
    // Everything below is synchronous: no other store call can interleave on the connection.
    return opts.tx ? db.transaction(body).immediate() : body();
  }

  isDuplicateKey(err: unknown): boolean {
    const code = driverError(err).code;
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  }

  isTransient(_err: unknown): boolean {
    // SQLITE_BUSY comes only after busy_timeout expired; waiting again would block the loop again.
    return false;
  }

  private db(): BetterSqlite3.Database {
    // TypeORM's better-sqlite3 driver keeps its one connection here (not in its typings).
    const db = (this.ds.driver as unknown as { databaseConnection?: BetterSqlite3.Database }).databaseConnection;
    if (!db || !db.open) throw new Error("SQLite database is not open");
    return db;
  }

  private exec(db: BetterSqlite3.Database, s: Stmt): Row[] {
    let st = this.cache.get(s.sql);
    if (st) {
      this.cache.delete(s.sql); // LRU: re-insert as newest
    } else {
      st = db.prepare<unknown[]>(s.sql);
      if (this.cache.size >= 256) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(s.sql, st);
    const params = s.params as unknown[];
    if (st.reader) return st.all(params) as Row[];
    st.run(params);
    return [];
  }
}

// ---------------------------------------------------------------------------------------------

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

class MysqlDialect implements Dialect {
  readonly kind = "mysql" as const;
  readonly maxParams = 65535;
  // MariaDB's default max_allowed_packet is 16 MiB; mysql2 inlines parameters into the text.
  readonly maxStatementBytes = 4 * 1024 * 1024;
  readonly forUpdate = " FOR UPDATE";
  readonly joinInOrder = "STRAIGHT_JOIN";
  private readonly prepared = new WeakSet<object>();

  constructor(private readonly ds: DataSource) {}

  insert = insertSql;
  limitOffset = limitOffset;

  insertIgnore(table: string, cols: readonly string[], key: readonly string[], rows: number): string {
    // Not `INSERT IGNORE`: it takes a *shared* lock on an existing row, and two instances that
    // then upgrade to FOR UPDATE deadlock; it also turns data errors into warnings. A no-op
    // ON DUPLICATE KEY UPDATE takes the exclusive lock at once.
    const k = key[0]!;
    return `${insertSql(table, cols, rows)} ON DUPLICATE KEY UPDATE ${k} = ${k}`;
  }

  upsert(table: string, cols: readonly string[], _key: readonly string[], rows: number, set: Readonly<Record<string, SetRule>>): string {
    // VALUES(col) is what MariaDB understands (MySQL 8.0.20+ still accepts it, with a warning).
    const sets = Object.entries(set).map(([c, rule]) => (rule === "max" ? `${c} = GREATEST(${c}, VALUES(${c}))` : `${c} = VALUES(${c})`));
    return `${insertSql(table, cols, rows)} ON DUPLICATE KEY UPDATE ${sets.join(", ")}`;
  }

  pairIn(a: string, b: string, n: number): string {
    return `(${a}, ${b}) IN (${placeholders(2, n)})`;
  }

  async run<T>(program: () => Program<T>, opts: { tx: boolean }): Promise<T> {
    const qr = this.ds.createQueryRunner("master");
    try {
      await this.prepare(qr);
      if (!opts.tx) return await drive(qr, program(), { begin: false, inTx: false });
      // The transaction is begun and committed by plain statements folded into the program's
      // first and last steps (isolation level set per session, see MYSQL_SESSION_SETUP).
      const state = { begin: true, inTx: true, committed: false };
      try {
        const out = await drive(qr, program(), state);
        if (!state.committed && !state.begin) await qr.query("COMMIT");
        return out;
      } catch (err) {
        // Harmless when nothing was begun; a failed statement stops the rest of its step.
        if (!state.begin) await qr.query("ROLLBACK").catch(() => undefined);
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

/**
 * Drives a program on one MySQL connection. `state.begin`: `START TRANSACTION` still has to be
 * sent (it goes with the first step); cleared once sent. A `commit` step ends the transaction.
 */
async function drive<T>(qr: QueryRunner, program: Program<T>, state: { begin: boolean; inTx: boolean; committed?: boolean }): Promise<T> {
  let step = program.next();
  while (!step.done) {
    const s = step.value;
    if (state.committed) throw new Error("store program yielded a statement after its commit step");
    if (isGate(s)) {
      await s.gate;
      step = program.next([]);
      continue;
    }
    const stmts = isMany(s) ? [...s.many] : [s];
    const head = state.begin ? 1 : 0;
    const tail = isMany(s) && s.commit && state.inTx ? 1 : 0;
    if (head) stmts.unshift({ sql: "START TRANSACTION", params: [] });
    if (tail) stmts.push({ sql: "COMMIT", params: [] });
    state.begin = false;
    const results = await queryAll(qr, stmts);
    if (tail) state.committed = true;
    const rows = results.slice(head, results.length - tail);
    step = program.next(isMany(s) ? (rows as unknown as Row[]) : rows[0]!);
  }
  return step.value;
}

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
