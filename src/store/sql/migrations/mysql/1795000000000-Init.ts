// Initial schema, MySQL / MariaDB. utf8mb4 everywhere (emoji must work: docs/architecture.md "Any character, emoji included"), with the
// binary collation: ids then compare byte for byte as on SQLite, and the unique (msg_from, msg_id)
// index cannot fold case or treat distinct emoji as equal (utf8mb4_unicode_ci weighs every
// supplementary character the same). Bodies are MEDIUMTEXT (TEXT stops at 64 KB).
import type { MigrationInterface, QueryRunner } from "typeorm";

const CS = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
const TABLE_OPTS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

const UP = [
  `CREATE TABLE \`conversations\` (
    \`conv_id\` varchar(140) ${CS} NOT NULL,
    \`kind\` varchar(8) ${CS} NOT NULL,
    \`last_seq\` bigint NOT NULL DEFAULT 0,
    \`created_at\` bigint NOT NULL,
    \`updated_at\` bigint NOT NULL,
    PRIMARY KEY (\`conv_id\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE \`messages\` (
    \`conv_id\` varchar(140) ${CS} NOT NULL,
    \`seq\` bigint NOT NULL,
    \`msg_id\` varchar(64) ${CS} NOT NULL,
    \`msg_from\` varchar(64) ${CS} NOT NULL,
    \`msg_to\` varchar(64) ${CS} NOT NULL,
    \`msg_type\` varchar(20) ${CS} NOT NULL,
    \`msg_time\` varchar(20) ${CS} NOT NULL,
    \`body\` mediumtext ${CS} NOT NULL,
    \`session_id\` varchar(64) ${CS} NULL,
    \`compress\` varchar(20) ${CS} NOT NULL,
    \`encode\` varchar(20) ${CS} NOT NULL,
    \`encrypt\` varchar(50) ${CS} NOT NULL,
    \`version\` varchar(10) ${CS} NOT NULL,
    \`created_at\` bigint NOT NULL,
    \`revoked\` smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (\`conv_id\`, \`seq\`),
    UNIQUE INDEX \`UQ_messages_from_id\` (\`msg_from\`, \`msg_id\`),
    INDEX \`IDX_messages_msg_id\` (\`msg_id\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE \`user_inbox\` (
    \`user_id\` varchar(64) ${CS} NOT NULL,
    \`last_seq\` bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (\`user_id\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE \`inbox\` (
    \`user_id\` varchar(64) ${CS} NOT NULL,
    \`seq\` bigint NOT NULL,
    \`conv_id\` varchar(140) ${CS} NOT NULL,
    \`conv_seq\` bigint NOT NULL,
    \`created_at\` bigint NOT NULL,
    PRIMARY KEY (\`user_id\`, \`seq\`),
    INDEX \`IDX_inbox_user_conv\` (\`user_id\`, \`conv_id\`, \`conv_seq\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE \`device_cursors\` (
    \`user_id\` varchar(64) ${CS} NOT NULL,
    \`device\` varchar(128) ${CS} NOT NULL,
    \`acked_seq\` bigint NOT NULL DEFAULT 0,
    \`updated_at\` bigint NOT NULL,
    PRIMARY KEY (\`user_id\`, \`device\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE \`sessions\` (
    \`session_id\` varchar(64) ${CS} NOT NULL,
    \`session_type\` int NOT NULL,
    \`session_name\` varchar(256) ${CS} NOT NULL,
    \`session_user\` varchar(64) ${CS} NOT NULL,
    \`session_pic\` varchar(256) ${CS} NULL,
    \`session_valid\` int NOT NULL DEFAULT 0,
    \`session_create_time\` varchar(20) ${CS} NOT NULL,
    \`session_modify_time\` varchar(20) ${CS} NULL,
    \`session_delete_time\` varchar(20) ${CS} NULL,
    PRIMARY KEY (\`session_id\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE \`session_members\` (
    \`session_id\` varchar(64) ${CS} NOT NULL,
    \`user_id\` varchar(64) ${CS} NOT NULL,
    \`user_name\` varchar(256) ${CS} NOT NULL,
    \`acct_login\` varchar(64) ${CS} NOT NULL,
    \`pic\` varchar(256) ${CS} NULL,
    \`ts\` varchar(20) ${CS} NOT NULL,
    PRIMARY KEY (\`session_id\`, \`user_id\`),
    INDEX \`IDX_session_members_user\` (\`user_id\`)
  ) ${TABLE_OPTS}`,
];

const TABLES = ["session_members", "sessions", "device_cursors", "inbox", "user_inbox", "messages", "conversations"];

export class Init1795000000000 implements MigrationInterface {
  name = "Init1795000000000";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of TABLES) await qr.query(`DROP TABLE \`${t}\``);
  }
}
