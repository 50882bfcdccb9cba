// The schema as of migration 1795000000003 (every table the SQLite and MySQL sets create by then),
// as data, rendered into Oracle and SQL Server DDL by their Init migrations. Frozen: a later
// schema change is a new migration on every database, never an edit here.

export type ColType = { str: number } | "text" | "bigint" | "int" | "smallint";

export interface Col {
  name: string;
  type: ColType;
  /** NULL allowed in the contract (the same column is NOT NULL on SQLite and MySQL otherwise). */
  nullable?: boolean;
  default?: number;
}

export interface TableSpec {
  name: string;
  cols: Col[];
  primary: string[];
  indexes?: Array<{ name: string; cols: string[]; unique?: boolean }>;
}

const s = (n: number): ColType => ({ str: n });
const c = (name: string, type: ColType, extra: Partial<Col> = {}): Col => ({ name, type, ...extra });

export const SCHEMA: TableSpec[] = [
  {
    name: "conversations",
    cols: [c("conv_id", s(140)), c("kind", s(8)), c("last_seq", "bigint", { default: 0 }), c("created_at", "bigint"), c("updated_at", "bigint")],
    primary: ["conv_id"],
  },
  {
    name: "messages",
    cols: [
      c("conv_id", s(140)), c("seq", "bigint"), c("msg_id", s(64)), c("msg_from", s(64)), c("msg_to", s(64)),
      c("msg_type", s(20)), c("msg_time", s(20)), c("body", "text"), c("session_id", s(64), { nullable: true }),
      c("compress", s(20)), c("encode", s(20)), c("encrypt", s(50)), c("version", s(10)), c("created_at", "bigint"),
      c("revoked", "smallint", { default: 0 }), c("hidden", "smallint", { default: 0 }),
    ],
    primary: ["conv_id", "seq"],
    indexes: [
      { name: "UQ_messages_from_id", cols: ["msg_from", "msg_id"], unique: true },
      { name: "IDX_messages_msg_id", cols: ["msg_id"] },
    ],
  },
  { name: "user_inbox", cols: [c("user_id", s(64)), c("last_seq", "bigint", { default: 0 })], primary: ["user_id"] },
  {
    name: "inbox",
    cols: [c("user_id", s(64)), c("seq", "bigint"), c("conv_id", s(140)), c("conv_seq", "bigint"), c("created_at", "bigint")],
    primary: ["user_id", "seq"],
    indexes: [{ name: "IDX_inbox_user_conv", cols: ["user_id", "conv_id", "conv_seq"] }],
  },
  {
    name: "device_cursors",
    cols: [c("user_id", s(64)), c("device", s(128)), c("acked_seq", "bigint", { default: 0 }), c("updated_at", "bigint")],
    primary: ["user_id", "device"],
  },
  {
    name: "online_devices",
    cols: [c("user_id", s(64)), c("resource", s(128)), c("via", s(64)), c("updated_at", "bigint")],
    primary: ["user_id", "resource"],
  },
  {
    name: "sessions",
    cols: [
      c("session_id", s(64)), c("session_type", "int"), c("session_name", s(256)), c("session_user", s(64)),
      c("session_pic", s(256), { nullable: true }), c("session_valid", "int", { default: 0 }), c("session_create_time", s(20)),
      c("session_modify_time", s(20), { nullable: true }), c("session_delete_time", s(20), { nullable: true }),
    ],
    primary: ["session_id"],
  },
  {
    name: "session_members",
    cols: [
      c("session_id", s(64)), c("user_id", s(64)), c("user_name", s(256)), c("acct_login", s(64)),
      c("pic", s(256), { nullable: true }), c("ts", s(20)),
    ],
    primary: ["session_id", "user_id"],
    indexes: [{ name: "IDX_session_members_user", cols: ["user_id"] }],
  },
  {
    name: "message_reads",
    cols: [c("author", s(64)), c("msg_id", s(64)), c("reader", s(64)), c("status", "smallint"), c("conv_id", s(140)), c("updated_at", "bigint")],
    primary: ["author", "msg_id", "reader"],
    indexes: [{ name: "IDX_message_reads_conv", cols: ["conv_id"] }],
  },
  {
    name: "users",
    cols: [
      c("user_id", s(64)), c("user_name", s(256)), c("acct_login", s(64)), c("user_email", s(256), { nullable: true }),
      c("pic_url", s(256), { nullable: true }), c("app_push_code", s(256), { nullable: true }), c("updated_at", "bigint"),
    ],
    primary: ["user_id"],
  },
  {
    name: "chats",
    cols: [c("user_id", s(64)), c("peer_id", s(64)), c("created_at", "bigint"), c("updated_at", "bigint")],
    primary: ["user_id", "peer_id"],
  },
  {
    name: "pubacts",
    cols: [c("id", s(64)), c("title", s(256)), c("content", "text"), c("user_id", s(64)), c("ts", s(20)), c("session_id", s(64))],
    primary: ["id"],
    indexes: [{ name: "IDX_pubacts_session", cols: ["session_id"] }],
  },
  {
    name: "styles",
    cols: [c("style_id", s(64)), c("style_name", s(64)), c("style_value", "int"), c("user_id", s(64))],
    primary: ["style_id"],
    indexes: [{ name: "UQ_styles_user_name", cols: ["user_id", "style_name"], unique: true }],
  },
  {
    name: "files",
    cols: [
      c("file_id", s(64)), c("file_name", s(256)), c("content_type", s(128)), c("size", "bigint"),
      c("user_id", s(64), { nullable: true }), c("created_at", "bigint"),
    ],
    primary: ["file_id"],
  },
];
