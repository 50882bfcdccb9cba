// Oracle and SQL Server, live: the store contract, the migrations and the schema drift check
// against a real server. These databases cannot be installed on the machines tlim is developed
// on, so the suite runs only where one is given (docs/databases.md "Running the live suite"):
//
//   TLIM_TEST_ORACLE_URL=oracle://tlim:tlim@127.0.0.1:1521/FREEPDB1 npx vitest run test/store/live.test.ts
//   TLIM_TEST_MSSQL_URL='mssql://sa:Tlim_12345@127.0.0.1:1433/tlim?trustServerCertificate=true' npx vitest run test/store/live.test.ts
//
// Without the variable a suite is reported as skipped (never as passed). .github/workflows/
// databases.yml runs both against the official Oracle Free and SQL Server containers.
import { describe, expect, it } from "vitest";
import { schemaDrift } from "../support/schema-drift.js";
import { openStore } from "../../src/store/open.js";
import { createDataSource } from "../../src/store/sql/datasource.js";
import { migrationStatus, runMigrations } from "../../src/store/sql/migrations/run.js";
import { SCHEMA } from "../../src/store/sql/migrations/schema-1795000000003.js";
import { MIGRATIONS_TABLE } from "../../src/store/sql/datasource.js";
import { describeStoreContract } from "./contract.js";

const TABLES = [...SCHEMA.map((t) => t.name), MIGRATIONS_TABLE];

/** Drops every table tlim creates (and TypeORM's migrations table): a clean schema. */
async function wipe(url: string): Promise<void> {
  const ds = createDataSource(url);
  await ds.initialize();
  try {
    const oracle = ds.options.type === "oracle";
    for (const t of TABLES) {
      if (oracle) {
        // ORA-00942: the table does not exist (fine).
        await ds.query(`BEGIN EXECUTE IMMEDIATE 'DROP TABLE ${t} PURGE'; EXCEPTION WHEN OTHERS THEN IF SQLCODE != -942 THEN RAISE; END IF; END;`);
      } else {
        await ds.query(`DROP TABLE IF EXISTS ${t}`);
      }
    }
  } finally {
    await ds.destroy();
  }
}

for (const [name, url] of [["Oracle", process.env.TLIM_TEST_ORACLE_URL], ["SQL Server", process.env.TLIM_TEST_MSSQL_URL]] as const) {
  describe.skipIf(!url)(`${name} (live, ${url ? "given" : "set its TLIM_TEST_*_URL to run"})`, () => {
    describeStoreContract(
      name,
      async () => {
        await wipe(url!);
        const store = await openStore(url!, { migrate: true });
        return { store, second: () => openStore(url!), cleanup: () => store.close() };
      },
      { multiInstance: true },
    );

    it("migrates on request only, once, and the schema matches the entities (no drift)", async () => {
      await wipe(url!);
      await expect(openStore(url!)).rejects.toThrow(/needs migrations/);
      const applied = await runMigrations(url!);
      expect(applied.length).toBeGreaterThan(0);
      expect(await migrationStatus(url!)).toEqual({ applied, pending: [] });
      expect(await schemaDrift(url!)).toEqual([]);
    });
  });
}
