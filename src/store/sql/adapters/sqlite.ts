// SQLite (better-sqlite3). A program runs synchronously on the single connection inside
// `db.transaction(...).immediate()`: nothing else can run on that connection while a transaction
// is open and no event-loop turn passes inside it, so commits never overlap.
import type { DataSource } from "typeorm";
import type BetterSqlite3 from "better-sqlite3";
import {
  driverError, insertSql, isGate, isMany, limitOffset, multiRow, placeholders,
  type Dialect, type Program, type Row, type SetRule, type Stmt,
} from "../dialect.js";

export class SqliteDialect implements Dialect {
  readonly kind = "sqlite" as const;
  readonly maxParams = 32766; // SQLITE_MAX_VARIABLE_NUMBER since 3.32 (bundled: 3.53)
  readonly maxStatementBytes = 64 * 1024 * 1024;
  readonly concurrentCommits = false;
  readonly joinInOrder = "CROSS JOIN"; // SQLite's documented way to fix the join order
  readonly fromDual = "";
  private readonly cache = new Map<string, BetterSqlite3.Statement<unknown[]>>();

  constructor(private readonly ds: DataSource) {}

  limitOffset = limitOffset;

  lockedSelect(cols: string, table: string, where: string, orderBy: string): string {
    // BEGIN IMMEDIATE took the database write lock up front: the whole transaction is serial.
    return `SELECT ${cols} FROM ${table} WHERE ${where} ORDER BY ${orderBy}`;
  }

  insertRows(table: string, cols: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[] {
    return multiRow(this, cols.length, rows, (n) => insertSql(table, cols, n));
  }

  insertIgnoreRows(table: string, cols: readonly string[], key: readonly string[], rows: readonly (readonly unknown[])[]): Stmt[] {
    // Not `INSERT OR IGNORE`: that also swallows CHECK and NOT NULL violations.
    return multiRow(this, cols.length, rows, (n) => `${insertSql(table, cols, n)} ON CONFLICT (${key.join(", ")}) DO NOTHING`);
  }

  upsertRows(table: string, cols: readonly string[], key: readonly string[], rows: readonly (readonly unknown[])[], set: Readonly<Record<string, SetRule>>): Stmt[] {
    const sets = Object.entries(set).map(([c, rule]) => (rule === "max" ? `${c} = MAX(${c}, excluded.${c})` : `${c} = excluded.${c}`));
    return multiRow(this, cols.length, rows, (n) => `${insertSql(table, cols, n)} ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${sets.join(", ")}`);
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
