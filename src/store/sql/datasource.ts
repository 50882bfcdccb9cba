// Builds the TypeORM DataSource for a database URL, and declares the schema as EntitySchemas.
// The entities exist for `synchronize` (tests only) and for the drift test that compares them with
// the hand-written migrations; the store itself runs raw SQL (sqlStore.ts). Every column has an
// explicit type: tsx emits no decorator metadata.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DataSource, EntitySchema, type DataSourceOptions } from "typeorm";
import type { EntitySchemaColumnOptions } from "typeorm";
import type BetterSqlite3 from "better-sqlite3";
import { parseDbUrl } from "./db-url.js";
import { migrationsFor } from "./migrations/index.js";
import type { DbKind } from "./dialect.js";

export type { DbKind } from "./dialect.js";

/** Name of the table where TypeORM records applied migrations. */
export const MIGRATIONS_TABLE = "tlim_migrations";

export { parseDbUrl, redact, type DbTarget } from "./db-url.js";

export function createDataSource(url: string, opts: { synchronize?: boolean } = {}): DataSource {
  const target = parseDbUrl(url);
  const common = {
    entities: entitySchemas(target.kind),
    migrations: migrationsFor(target.kind),
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsRun: false,
    synchronize: opts.synchronize ?? false,
    logging: false,
  } as const;
  let options: DataSourceOptions;
  if (target.kind === "sqlite") {
    const memory = target.file === ":memory:";
    if (!memory) mkdirSync(dirname(target.file), { recursive: true });
    options = {
      ...common,
      type: "better-sqlite3",
      database: target.file,
      enableWAL: !memory,
      // better-sqlite3's `timeout` is SQLite's busy timeout: wait for another process's write lock.
      timeout: 10_000,
      prepareDatabase: (db: BetterSqlite3.Database) => {
        // FULL: a commit is on disk before anyone is told (stored first, docs/reliability.md).
        db.pragma("synchronous = FULL");
      },
    };
  } else if (target.kind === "oracle") {
    options = {
      ...common,
      type: "oracle",
      // node-oracledb's thin mode (its default): pure JavaScript, no Instant Client.
      host: target.host,
      port: target.port,
      username: target.user,
      password: target.password,
      serviceName: target.database,
      poolSize: 10,
    };
  } else if (target.kind === "mssql") {
    options = {
      ...common,
      type: "mssql",
      host: target.host,
      port: target.port,
      username: target.user,
      password: target.password,
      database: target.database,
      options: { encrypt: target.encrypt, trustServerCertificate: target.trustServerCertificate },
      pool: { max: 10 },
      connectionTimeout: 5_000,
    };
  } else {
    options = {
      ...common,
      type: "mysql", // TypeORM loads mysql2 for it; MariaDB and MySQL alike
      host: target.host,
      port: target.port,
      username: target.user,
      password: target.password,
      database: target.database,
      // utf8mb4 on the wire; binary collation so ids compare exactly as on SQLite (see schema).
      charset: "utf8mb4_bin",
      timezone: "Z",
      supportBigNumbers: false,
      bigNumberStrings: false,
      connectTimeout: 5_000,
      poolSize: 10,
      // The write path sends a step's statements in one round trip (dialect.ts `many`). Every
      // statement is parameterised (mysql2 escapes client-side), never built from input text.
      multipleStatements: true,
    };
  }
  return new DataSource(options);
}

// ---------------------------------------------------------------------------------------------
// Schema as entities. Must produce exactly the schema of the migrations (test/store/*.test.ts
// checks that TypeORM finds nothing to change after the migrations ran).

/** Column lengths, shared by both dialects (and by SQLite's CHECK constraints). */
export const LENGTHS = {
  convId: 140,
  kind: 8,
  userId: 64,
  msgId: 64,
  msgType: 20,
  msgTime: 20,
  flag: 20,
  encrypt: 50,
  version: 10,
  device: 128,
  name: 256,
  pic: 256,
  time: 20,
  email: 256,
  pushCode: 256,
  styleName: 64,
  contentType: 128,
} as const;

type Cols = Record<string, EntitySchemaColumnOptions>;

export function entitySchemas(kind: DbKind): EntitySchema[] {
  const mysql = kind === "mysql";
  // Explicit column charset so `synchronize` gets utf8mb4 whatever the database default is.
  const str = (length: number, extra: Partial<EntitySchemaColumnOptions> = {}): EntitySchemaColumnOptions => ({
    type: "varchar",
    length,
    ...(mysql ? { charset: "utf8mb4", collation: "utf8mb4_bin" } : {}),
    ...extra,
  });
  const big = (extra: Partial<EntitySchemaColumnOptions> = {}): EntitySchemaColumnOptions => ({ type: "bigint", ...extra });
  const int = (extra: Partial<EntitySchemaColumnOptions> = {}): EntitySchemaColumnOptions => ({ type: "int", ...extra });
  const text: EntitySchemaColumnOptions = mysql
    ? { type: "mediumtext", charset: "utf8mb4", collation: "utf8mb4_bin" }
    : { type: "text" };
  /** SQLite does not enforce varchar lengths; the other databases do. Same rule on all. */
  const lengthCheck = (name: string, cols: Record<string, number>) =>
    kind !== "sqlite" ? [] : [{ name, expression: Object.entries(cols).map(([c, n]) => `length(${c}) <= ${n}`).join(" AND ") }];
  const L = LENGTHS;

  const table = (name: string, columns: Cols, extra: Partial<ConstructorParameters<typeof EntitySchema>[0]> = {}) =>
    kind === "oracle" ? oracleEntity(name, columns, extra) : new EntitySchema({ name, tableName: name, columns: kind === "mssql" ? sqlServerColumns(columns) : columns, ...extra });

  return [
    table(
      "conversations",
      {
        conv_id: str(L.convId, { primary: true }),
        kind: str(L.kind),
        last_seq: big({ default: 0 }),
        created_at: big(),
        updated_at: big(),
      },
      { checks: lengthCheck("CHK_conversations_len", { conv_id: L.convId, kind: L.kind }) },
    ),
    table(
      "messages",
      {
        conv_id: str(L.convId, { primary: true }),
        seq: big({ primary: true }),
        msg_id: str(L.msgId),
        msg_from: str(L.userId),
        msg_to: str(L.userId),
        msg_type: str(L.msgType),
        msg_time: str(L.msgTime),
        body: text,
        session_id: str(L.userId, { nullable: true }),
        compress: str(L.flag),
        encode: str(L.flag),
        encrypt: str(L.encrypt),
        version: str(L.version),
        created_at: big(),
        revoked: { type: "smallint", default: 0 },
        hidden: { type: "smallint", default: 0 },
      },
      {
        indices: [
          { name: "UQ_messages_from_id", columns: ["msg_from", "msg_id"], unique: true },
          { name: "IDX_messages_msg_id", columns: ["msg_id"] },
        ],
        checks: lengthCheck("CHK_messages_len", {
          conv_id: L.convId,
          msg_id: L.msgId,
          msg_from: L.userId,
          msg_to: L.userId,
          msg_type: L.msgType,
          msg_time: L.msgTime,
          session_id: L.userId,
          compress: L.flag,
          encode: L.flag,
          encrypt: L.encrypt,
          version: L.version,
        }),
      },
    ),
    table(
      "user_inbox",
      { user_id: str(L.userId, { primary: true }), last_seq: big({ default: 0 }) },
      { checks: lengthCheck("CHK_user_inbox_len", { user_id: L.userId }) },
    ),
    table(
      "inbox",
      {
        user_id: str(L.userId, { primary: true }),
        seq: big({ primary: true }),
        conv_id: str(L.convId),
        conv_seq: big(),
        created_at: big(),
      },
      {
        indices: [{ name: "IDX_inbox_user_conv", columns: ["user_id", "conv_id", "conv_seq"] }],
      },
    ),
    table(
      "device_cursors",
      {
        user_id: str(L.userId, { primary: true }),
        device: str(L.device, { primary: true }),
        acked_seq: big({ default: 0 }),
        updated_at: big(),
      },
      { checks: lengthCheck("CHK_device_cursors_len", { user_id: L.userId, device: L.device }) },
    ),
    table(
      "online_devices",
      {
        user_id: str(L.userId, { primary: true }),
        resource: str(L.device, { primary: true }),
        via: str(L.userId),
        updated_at: big(),
      },
      { checks: lengthCheck("CHK_online_devices_len", { user_id: L.userId, resource: L.device, via: L.userId }) },
    ),
    table(
      "sessions",
      {
        session_id: str(L.userId, { primary: true }),
        session_type: int(),
        session_name: str(L.name),
        session_user: str(L.userId),
        session_pic: str(L.pic, { nullable: true }),
        session_valid: int({ default: 0 }),
        session_create_time: str(L.time),
        session_modify_time: str(L.time, { nullable: true }),
        session_delete_time: str(L.time, { nullable: true }),
      },
      {
        checks: lengthCheck("CHK_sessions_len", {
          session_id: L.userId,
          session_name: L.name,
          session_user: L.userId,
          session_pic: L.pic,
          session_create_time: L.time,
          session_modify_time: L.time,
          session_delete_time: L.time,
        }),
      },
    ),
    table(
      "session_members",
      {
        session_id: str(L.userId, { primary: true }),
        user_id: str(L.userId, { primary: true }),
        user_name: str(L.name),
        acct_login: str(L.userId),
        pic: str(L.pic, { nullable: true }),
        ts: str(L.time),
      },
      {
        indices: [{ name: "IDX_session_members_user", columns: ["user_id"] }],
        checks: lengthCheck("CHK_session_members_len", {
          session_id: L.userId,
          user_id: L.userId,
          user_name: L.name,
          acct_login: L.userId,
          pic: L.pic,
          ts: L.time,
        }),
      },
    ),
    table(
      "message_reads",
      {
        author: str(L.userId, { primary: true }),
        msg_id: str(L.msgId, { primary: true }),
        reader: str(L.userId, { primary: true }),
        status: { type: "smallint" },
        conv_id: str(L.convId),
        updated_at: big(),
      },
      {
        indices: [{ name: "IDX_message_reads_conv", columns: ["conv_id"] }],
        checks: lengthCheck("CHK_message_reads_len", {
          author: L.userId,
          msg_id: L.msgId,
          reader: L.userId,
          conv_id: L.convId,
        }),
      },
    ),
    table(
      "users",
      {
        user_id: str(L.userId, { primary: true }),
        user_name: str(L.name),
        acct_login: str(L.userId),
        user_email: str(L.email, { nullable: true }),
        pic_url: str(L.pic, { nullable: true }),
        app_push_code: str(L.pushCode, { nullable: true }),
        updated_at: big(),
      },
      {
        checks: lengthCheck("CHK_users_len", {
          user_id: L.userId,
          user_name: L.name,
          acct_login: L.userId,
          user_email: L.email,
          pic_url: L.pic,
          app_push_code: L.pushCode,
        }),
      },
    ),
    table(
      "chats",
      {
        user_id: str(L.userId, { primary: true }),
        peer_id: str(L.userId, { primary: true }),
        created_at: big(),
        updated_at: big(),
      },
      { checks: lengthCheck("CHK_chats_len", { user_id: L.userId, peer_id: L.userId }) },
    ),
    table(
      "pubacts",
      {
        id: str(L.userId, { primary: true }),
        title: str(L.name),
        content: text,
        user_id: str(L.userId),
        ts: str(L.time),
        session_id: str(L.userId),
      },
      {
        indices: [{ name: "IDX_pubacts_session", columns: ["session_id"] }],
        checks: lengthCheck("CHK_pubacts_len", { id: L.userId, title: L.name, user_id: L.userId, ts: L.time, session_id: L.userId }),
      },
    ),
    table(
      "styles",
      {
        style_id: str(L.userId, { primary: true }),
        style_name: str(L.styleName),
        style_value: int(),
        user_id: str(L.userId),
      },
      {
        indices: [{ name: "UQ_styles_user_name", columns: ["user_id", "style_name"], unique: true }],
        checks: lengthCheck("CHK_styles_len", { style_id: L.userId, style_name: L.styleName, user_id: L.userId }),
      },
    ),
    table(
      "files",
      {
        file_id: str(L.userId, { primary: true }),
        file_name: str(L.name),
        content_type: str(L.contentType),
        size: big(),
        user_id: str(L.userId, { nullable: true }),
        created_at: big(),
      },
      {
        checks: lengthCheck("CHK_files_len", { file_id: L.userId, file_name: L.name, content_type: L.contentType, user_id: L.userId }),
      },
    ),
  ];
}

/** SQL Server's types for the portable ones, as its Init migration creates them. */
function sqlServerColumns(columns: Cols): Cols {
  const out: Cols = {};
  for (const [k, c] of Object.entries(columns)) {
    const bin = { collation: "Latin1_General_100_BIN2" };
    out[k] = c.type === "varchar" ? { ...c, type: "nvarchar", ...bin } : c.type === "text" ? { ...c, type: "nvarchar", length: "MAX", ...bin } : c;
  }
  return out;
}

/**
 * Oracle's entity: the names as Oracle's dictionary holds unquoted identifiers (upper case;
 * TypeORM quotes every name), its types, and NULL allowed on non-key text (Oracle stores '' as
 * NULL), as its Init migration creates them.
 */
function oracleEntity(name: string, columns: Cols, extra: Partial<ConstructorParameters<typeof EntitySchema>[0]>): EntitySchema {
  const NOT_NULL = new Set(["messages.msg_id", "messages.msg_from"]);
  const out: Cols = {};
  for (const [k, c] of Object.entries(columns)) {
    const textual = c.type === "varchar" || c.type === "text";
    const type: EntitySchemaColumnOptions =
      c.type === "varchar" ? { type: "varchar2" } :
      c.type === "text" ? { type: "clob" } :
      { type: "number", precision: c.type === "bigint" ? 19 : c.type === "int" ? 10 : 5 };
    const nullable = c.nullable || (textual && !c.primary && !NOT_NULL.has(`${name}.${k}`));
    out[k] = { ...c, ...type, name: k.toUpperCase(), nullable, ...(c.type === "text" ? { length: undefined } : {}) };
  }
  const indices = extra.indices?.map((i) => ({ ...i, name: i.name?.toUpperCase() }));
  return new EntitySchema({ name, tableName: name.toUpperCase(), columns: out, ...extra, ...(indices ? { indices } : {}) });
}
