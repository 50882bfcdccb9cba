// The whole schema on Oracle Database 19c and later (what the SQLite and MySQL sets reach with
// their first four migrations), in one migration.
// - Text is VARCHAR2(n CHAR) (n characters, whatever the database character set; AL32UTF8, the
//   default since 12.2, stores any Unicode text) and CLOB for bodies; numbers are NUMBER(19) or
//   NUMBER(10)/NUMBER(5). Oracle compares VARCHAR2 byte for byte (NLS_COMP=BINARY, the default),
//   as the other databases' binary collations do.
// - Oracle stores '' as NULL, so only key columns and the (msg_from, msg_id) pair are NOT NULL;
//   the store reads NULL back as '' where its contract has a string (adapters/oracle.ts).
// - COMPRESS, SIZE and RESOURCE are Oracle reserved words: created as quoted upper-case names.
// DDL commits implicitly on Oracle: every statement is its own step.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { SCHEMA, type Col, type TableSpec } from "../schema-1795000000003.js";

const RESERVED = new Set(["compress", "size", "resource"]);
/** Must stay NOT NULL although they are not primary-key columns (unique key, always non-empty). */
const NOT_NULL = new Set(["messages.msg_id", "messages.msg_from"]);

export const ident = (name: string): string => (RESERVED.has(name) ? `"${name.toUpperCase()}"` : name);

function type(col: Col): string {
  const t = col.type;
  if (typeof t === "object") return `VARCHAR2(${t.str} CHAR)`;
  return { text: "CLOB", bigint: "NUMBER(19)", int: "NUMBER(10)", smallint: "NUMBER(5)" }[t];
}

function column(table: TableSpec, col: Col): string {
  const textual = typeof col.type === "object" || col.type === "text";
  const notNull = table.primary.includes(col.name) || NOT_NULL.has(`${table.name}.${col.name}`) || (!textual && !col.nullable);
  const dflt = col.default !== undefined ? ` DEFAULT ${col.default}` : "";
  return `  ${ident(col.name)} ${type(col)}${dflt}${notNull ? " NOT NULL" : ""}`;
}

export function oracleTable(t: TableSpec): string[] {
  const body = [...t.cols.map((c) => column(t, c)), `  CONSTRAINT PK_${t.name} PRIMARY KEY (${t.primary.map(ident).join(", ")})`];
  return [
    `CREATE TABLE ${t.name} (\n${body.join(",\n")}\n)`,
    ...(t.indexes ?? []).map((i) => `CREATE ${i.unique ? "UNIQUE " : ""}INDEX ${i.name} ON ${t.name} (${i.cols.map(ident).join(", ")})`),
  ];
}

export class Init1795000000000 implements MigrationInterface {
  name = "Init1795000000000";

  async up(qr: QueryRunner): Promise<void> {
    for (const t of SCHEMA) for (const sql of oracleTable(t)) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of [...SCHEMA].reverse()) await qr.query(`DROP TABLE ${t.name} PURGE`);
  }
}
