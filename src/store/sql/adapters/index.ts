// The adapter for a DataSource's database: one file per database (docs/databases.md).
import type { DataSource } from "typeorm";
import type { Dialect } from "../dialect.js";
import { MysqlDialect } from "./mysql.js";
import { OracleDialect } from "./oracle.js";
import { SqliteDialect } from "./sqlite.js";
import { SqlServerDialect } from "./sqlserver.js";

export function dialectFor(ds: DataSource): Dialect {
  const type = ds.options.type;
  if (type === "better-sqlite3") return new SqliteDialect(ds);
  if (type === "mysql" || type === "mariadb") return new MysqlDialect(ds);
  if (type === "oracle") return new OracleDialect(ds);
  if (type === "mssql") return new SqlServerDialect(ds);
  throw new Error(`unsupported database type '${type}'`);
}
