// The one way the application and the tests get a Store for a database URL.
import type { Store } from "./types.js";
import { createDataSource, redact } from "./sql/datasource.js";
import { applyMigrations, pendingMigrations } from "./sql/migrations/run.js";
import { SqlStore } from "./sql/sqlStore.js";

// `tlim migrate` (src/cli.ts) imports these from here.
export { migrationStatus, runMigrations, type MigrationStatus } from "./sql/migrations/run.js";

export interface OpenStoreOptions {
  /** Tests only: let TypeORM create the schema from the entities instead of migrations. */
  synchronize?: boolean;
  /**
   * Apply pending migrations before returning. Without it (and without synchronize) a database
   * with pending migrations is refused: run `tlim migrate` first.
   */
  migrate?: boolean;
}

/**
 * Opens `sqlite:<file>` / `sqlite::memory:` / `mysql://…` / `mariadb://…`. Throws when the
 * database cannot be reached, a migration fails or migrations are pending; nothing is left open
 * then.
 */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const ds = createDataSource(url, { synchronize: opts.synchronize ?? false });
  try {
    await ds.initialize();
  } catch (err) {
    throw new Error(`cannot open database ${redact(url)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (opts.migrate) {
      await applyMigrations(ds);
    } else if (!opts.synchronize) {
      const pending = await pendingMigrations(ds);
      if (pending.length > 0) {
        throw new Error(`database ${redact(url)} needs migrations (${pending.join(", ")}): run \`npx tlim migrate\``);
      }
    }
  } catch (err) {
    await ds.destroy().catch(() => undefined);
    throw err;
  }
  return new SqlStore(ds);
}
