// What the SQL store asks of a database, and the pieces every adapter shares.
//
// The store (sqlStore.ts, commit.ts, retention.ts) is written once against the `Dialect`
// interface in plain `?`-parameter SQL. Each database has one adapter under adapters/ that turns
// it into that database's statements: its bind-parameter syntax, row locks, row-value IN, limits,
// multi-row inserts and upserts, how a transaction begins and ends, and how errors are classified.
// docs/databases.md lists what each adapter does and what was run against which server.
//
// Store operations are written as *programs*: generators that yield statements and receive their
// rows. A program may yield several statements at once (`many`): an adapter that can send them
// in one round trip does (MySQL: one multi-statement query; SQL Server: one batch); the others run
// them in turn. docs/performance.md explains why round trips matter on the write path.

export type DbKind = "sqlite" | "mysql" | "oracle" | "mssql";

export type Row = Record<string, unknown>;

export interface Stmt {
  /** `?` placeholders; the adapter rewrites them into its own syntax. */
  readonly sql: string;
  readonly params: readonly unknown[];
  /**
   * Array binding: `sql` is a one-row statement run once per entry of `rows` in one round trip
   * (Oracle's executeMany); `params` is then empty. Only adapters that produce it consume it.
   */
  readonly rows?: readonly (readonly unknown[])[];
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
 * Runs statements as one step: one round trip where the database allows it. With `commit`, the
 * transaction commits with them (on success of every one); a failing statement stops the rest and
 * rolls back.
 */
export function* many(stmts: readonly Stmt[], opts: { commit?: boolean } = {}): Program<Row[][]> {
  if (stmts.length === 0 && !opts.commit) return [];
  return (yield { many: stmts, commit: opts.commit ?? false }) as unknown as Row[][];
}

export const isMany = (s: Stmt | Many | Gate): s is Many => (s as Many).many !== undefined;
export const isGate = (s: Stmt | Many | Gate): s is Gate => (s as Gate).gate !== undefined;

/** How an upsert sets a column on conflict: the new value, or the larger of old and new. */
export type SetRule = "new" | "max";

export interface Dialect {
  readonly kind: DbKind;
  /** Most bind parameters in one statement (and, on SQL Server, in one batch). */
  readonly maxParams: number;
  /** Soft bound on the size of one statement's data, in bytes (MySQL max_allowed_packet). */
  readonly maxStatementBytes: number;
  /** commitBatch calls may overlap on other pooled connections (the writer may pipeline). */
  readonly concurrentCommits: boolean;
  /** A join keyword that makes the planner take the left table as the outer loop, where one exists. */
  readonly joinInOrder: string;
  /** What a SELECT of constants needs after its select list (Oracle: ` FROM dual`). */
  readonly fromDual: string;

  /**
   * `SELECT cols FROM table WHERE where ORDER BY orderBy`, locking the rows it reads until the
   * transaction ends (FOR UPDATE, or SQL Server's UPDLOCK hint).
   */
  lockedSelect(cols: string, table: string, where: string, orderBy: string): string;
  /** Multi-row inserts, chunked by the parameter and size limits. */
  insertRows(table: string, cols: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[];
  /**
   * Inserts rows whose `key` is not taken yet and leaves existing rows alone; other errors
   * (too long, NOT NULL) still fail. Rows should come sorted by key (lock order).
   */
  insertIgnoreRows(table: string, cols: readonly string[], key: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[];
  /** Insert-or-update on `key`; `set` says how each updated column changes. Rows sorted by key,
   * each key once (SQL Server's MERGE refuses a source with a key twice). */
  upsertRows(table: string, cols: readonly string[], key: readonly string[], rows: readonly (readonly unknown[])[], set: Readonly<Record<string, SetRule>>): Stmt[];
  /** `(a, b) IN (…n pairs…)` or its equivalent, 2n parameters in pair order. */
  pairIn(a: string, b: string, n: number): string;
  /** Appended after an ORDER BY. */
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

// ---------------------------------------------------------------------------------------------
// Shared by the adapters.

/** `(?, ?, …)` repeated for `rows` rows of `cols` columns. */
export function placeholders(cols: number, rows: number): string {
  const one = `(${new Array(cols).fill("?").join(", ")})`;
  return new Array(rows).fill(one).join(", ");
}

export function insertSql(table: string, cols: readonly string[], rows: number): string {
  return `INSERT INTO ${table} (${cols.join(", ")}) VALUES ${placeholders(cols.length, rows)}`;
}

/** A MERGE's insert branch from its source alias `s` (Oracle, SQL Server). */
export function mergeInsert(cols: readonly string[]): string {
  return `WHEN NOT MATCHED THEN INSERT (${cols.join(", ")}) VALUES (${cols.map((c) => `s.${c}`).join(", ")})`;
}

/** Rows → one parameter list. A plain loop: Array.prototype.flat was 5.7 % of CPU under load
 * (docs/performance.md). */
export function flatten(rows: readonly (readonly unknown[])[]): unknown[] {
  const out: unknown[] = [];
  for (const row of rows) for (const v of row) out.push(v);
  return out;
}

/** Rows per multi-row statement, before the parameter and size limits. */
export const INSERT_CHUNK = 1000;

/** Chunks rows by count and by approximate size (strings count 3 bytes per UTF-16 unit). */
export function chunkRows<R extends readonly unknown[]>(rows: readonly R[], rowLimit: number, byteLimit: number): R[][] {
  const out: R[][] = [];
  let current: R[] = [];
  let bytes = 0;
  for (const row of rows) {
    let size = 16;
    for (const v of row) size += (typeof v === "string" ? v.length * 3 : 8) + 4;
    if (current.length > 0 && (current.length >= rowLimit || bytes + size > byteLimit)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Most rows of `cols` columns one statement may carry on this dialect. */
export function maxRows(d: Pick<Dialect, "maxParams">, cols: number): number {
  return Math.max(1, Math.min(INSERT_CHUNK, Math.floor(d.maxParams / cols)));
}

/** One multi-row statement per chunk of rows, rendered by `render(n)` for n rows. */
export function multiRow(
  d: Pick<Dialect, "maxParams" | "maxStatementBytes">,
  cols: number,
  rows: readonly (readonly unknown[])[],
  render: (n: number) => string,
): Stmt[] {
  return chunkRows(rows, maxRows(d, cols), d.maxStatementBytes).map((chunk) => ({ sql: render(chunk.length), params: flatten(chunk) }));
}

/** `LIMIT ? OFFSET ?` (SQLite, MySQL/MariaDB). */
export function limitOffset(limit: number, offset: number): Stmt {
  return stmt("LIMIT ? OFFSET ?", int(limit), int(offset));
}

/** `OFFSET … ROWS FETCH NEXT … ROWS ONLY` (SQL:2008; Oracle 12c and SQL Server 2012 on). */
export function offsetFetch(limit: number, offset: number): Stmt {
  return stmt("OFFSET ? ROWS FETCH NEXT ? ROWS ONLY", int(offset), int(limit));
}

function int(n: number): number {
  return Math.max(0, Math.floor(n));
}

/**
 * Replaces each `?` with `mark(i)` (0-based). The store's SQL never holds a `?` inside a string
 * literal or an identifier, which is what makes this safe; the offline statement checks in the
 * test suite fail on any `?` left behind.
 */
export function numberPlaceholders(sql: string, mark: (i: number) => string, start = 0): string {
  let i = start;
  return sql.replace(/\?/g, () => mark(i++));
}

/** A bounded cache of rewritten statement text (the same few hundred statements recur). */
export class SqlCache {
  private readonly map = new Map<string, string>();
  constructor(private readonly rewrite: (sql: string) => string, private readonly max = 512) {}
  get(sql: string): string {
    let out = this.map.get(sql);
    if (out === undefined) {
      out = this.rewrite(sql);
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
      this.map.set(sql, out);
    }
    return out;
  }
}

/** The driver's own error (TypeORM wraps it in QueryFailedError.driverError). */
export function driverError(err: unknown): Record<string, unknown> {
  const e = err as { driverError?: unknown } | null;
  return ((e && typeof e === "object" && e.driverError) || err || {}) as Record<string, unknown>;
}

/**
 * Drives a program with asynchronous statements. `exec` runs one step's statements (one or
 * several) and returns the rows of each; `opts.commit` says the transaction commits with them.
 */
export async function driveAsync<T>(
  program: Program<T>,
  exec: (stmts: readonly Stmt[], opts: { commit: boolean }) => Promise<Row[][]>,
): Promise<{ value: T; committed: boolean }> {
  let committed = false;
  let step = program.next();
  while (!step.done) {
    const s = step.value;
    if (committed) throw new Error("store program yielded a statement after its commit step");
    if (isGate(s)) {
      await s.gate;
      step = program.next([]);
      continue;
    }
    const stmts = isMany(s) ? s.many : [s];
    const commit = isMany(s) && s.commit;
    const results = await exec(stmts, { commit });
    if (commit) committed = true;
    step = program.next(isMany(s) ? (results as unknown as Row[]) : results[0]!);
  }
  return { value: step.value, committed };
}

/** Keys of a result row in lower case (Oracle reports unquoted names in upper case). */
export function lowerKeys(row: Row): Row {
  const out: Row = {};
  for (const k in row) out[k.toLowerCase()] = row[k];
  return out;
}
