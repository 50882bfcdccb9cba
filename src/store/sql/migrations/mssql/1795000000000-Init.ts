// The whole schema on SQL Server 2019 and later (what the SQLite and MySQL sets reach with their
// first four migrations), in one migration.
// - Text is nvarchar(n) (UTF-16: any Unicode text, n characters of the BMP) and nvarchar(max) for
//   bodies, with the binary collation Latin1_General_100_BIN2 on every text column: ids compare
//   code point by code point as on the other databases ('A' and 'a' are different msg_ids; the
//   server's default collation is case-insensitive).
// - Defaults are unnamed (SQL Server names them itself).
// - SESSION_USER is a T-SQL reserved word: the column is created as [session_user].
import type { MigrationInterface, QueryRunner } from "typeorm";
import { SCHEMA, type Col, type TableSpec } from "../schema-1795000000003.js";

const COLLATE = "COLLATE Latin1_General_100_BIN2";
/** T-SQL reserves SESSION_USER (a function): that column's name is bracketed. */
const ident = (name: string): string => (name === "session_user" ? `[${name}]` : name);

function type(col: Col): string {
  const t = col.type;
  if (typeof t === "object") return `nvarchar(${t.str}) ${COLLATE}`;
  return { text: `nvarchar(max) ${COLLATE}`, bigint: "bigint", int: "int", smallint: "smallint" }[t];
}

function column(col: Col): string {
  const dflt = col.default !== undefined ? ` DEFAULT ${col.default}` : "";
  return `  ${ident(col.name)} ${type(col)} ${col.nullable ? "NULL" : "NOT NULL"}${dflt}`;
}

export function sqlServerTable(t: TableSpec): string[] {
  const body = [...t.cols.map(column), `  CONSTRAINT PK_${t.name} PRIMARY KEY (${t.primary.join(", ")})`];
  return [
    `CREATE TABLE ${t.name} (\n${body.join(",\n")}\n)`,
    ...(t.indexes ?? []).map((i) => `CREATE ${i.unique ? "UNIQUE " : ""}INDEX ${i.name} ON ${t.name} (${i.cols.join(", ")})`),
  ];
}

export class Init1795000000000 implements MigrationInterface {
  name = "Init1795000000000";

  async up(qr: QueryRunner): Promise<void> {
    for (const t of SCHEMA) for (const sql of sqlServerTable(t)) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of [...SCHEMA].reverse()) await qr.query(`DROP TABLE ${t.name}`);
  }
}
