// `tlim migrate` and its status report. Migrations run in one transaction per migration on
// SQLite; MySQL commits DDL implicitly, which is why each migration is a single step.
import { MigrationExecutor, type DataSource } from "typeorm";
import { createDataSource } from "../datasource.js";

export interface MigrationStatus {
  /** Names of applied migrations, oldest first. */
  applied: string[];
  /** Names of migrations not applied yet, in the order they would run. */
  pending: string[];
}

/** Applies pending migrations on an initialised DataSource; returns the names applied. */
export async function applyMigrations(ds: DataSource): Promise<string[]> {
  const done = await ds.runMigrations({ transaction: "each" });
  return done.map((m) => m.name);
}

/** Names of the migrations not yet applied on an initialised DataSource. */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  return (await new MigrationExecutor(ds).getPendingMigrations()).map((m) => m.name);
}

/** Opens the database at `url`, applies pending migrations, closes it. */
export async function runMigrations(url: string): Promise<string[]> {
  return withDataSource(url, applyMigrations);
}

export async function migrationStatus(url: string): Promise<MigrationStatus> {
  return withDataSource(url, async (ds) => {
    // TypeORM lists executed migrations newest first; the status reports them oldest first.
    const applied = (await new MigrationExecutor(ds).getExecutedMigrations()).sort((a, b) => (a.id ?? 0) - (b.id ?? 0) || a.timestamp - b.timestamp);
    return { applied: applied.map((m) => m.name), pending: await pendingMigrations(ds) };
  });
}

async function withDataSource<T>(url: string, fn: (ds: DataSource) => Promise<T>): Promise<T> {
  const ds = createDataSource(url);
  await ds.initialize();
  try {
    return await fn(ds);
  } finally {
    await ds.destroy();
  }
}
