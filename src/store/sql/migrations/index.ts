// The migration sets, one per dialect. Applied by `tlim migrate`, and by `tlim start` unless
// TLIM_MIGRATE_ON_START=0 (openStore(url, { migrate: true })); openStore alone refuses a database
// with pending migrations and names them.
import type { MigrationInterface } from "typeorm";
import type { DbKind } from "../dialect.js";
import { Init1795000000000 as SqliteInit } from "./sqlite/1795000000000-Init.js";
import { Init1795000000000 as MysqlInit } from "./mysql/1795000000000-Init.js";
import { ReadsRevokeDissolve1795000000001 as SqliteReads } from "./sqlite/1795000000001-ReadsRevokeDissolve.js";
import { ReadsRevokeDissolve1795000000001 as MysqlReads } from "./mysql/1795000000001-ReadsRevokeDissolve.js";
import { HttpApi1795000000002 as SqliteHttpApi } from "./sqlite/1795000000002-HttpApi.js";
import { HttpApi1795000000002 as MysqlHttpApi } from "./mysql/1795000000002-HttpApi.js";
import { Delivery1795000000003 as SqliteDelivery } from "./sqlite/1795000000003-Delivery.js";
import { Delivery1795000000003 as MysqlDelivery } from "./mysql/1795000000003-Delivery.js";
import { DropRetentionIndexes1795000000005 as SqliteDropRetention } from "./sqlite/1795000000005-DropRetentionIndexes.js";
import { DropRetentionIndexes1795000000005 as MysqlDropRetention } from "./mysql/1795000000005-DropRetentionIndexes.js";
import { Init1795000000000 as OracleInit } from "./oracle/1795000000000-Init.js";
import { Init1795000000000 as MssqlInit } from "./mssql/1795000000000-Init.js";
import { DropRetentionIndexes1795000000005 as OracleDropRetention } from "./oracle/1795000000005-DropRetentionIndexes.js";
import { DropRetentionIndexes1795000000005 as MssqlDropRetention } from "./mssql/1795000000005-DropRetentionIndexes.js";

type MigrationClass = new () => MigrationInterface;

const SETS: Record<DbKind, MigrationClass[]> = {
  sqlite: [SqliteInit, SqliteReads, SqliteHttpApi, SqliteDelivery, SqliteDropRetention],
  mysql: [MysqlInit, MysqlReads, MysqlHttpApi, MysqlDelivery, MysqlDropRetention],
  // Oracle and SQL Server start at the schema of 1795000000003 in one migration.
  oracle: [OracleInit, OracleDropRetention],
  mssql: [MssqlInit, MssqlDropRetention],
};

export function migrationsFor(kind: DbKind): MigrationClass[] {
  return [...SETS[kind]];
}

/** Every database kind that has a migration set (scripts/gen-sql.ts writes one sql/ file each). */
export const MIGRATION_KINDS = Object.keys(SETS) as DbKind[];
