// Initial schema, SQLite. Hand-written; kept in the clause forms TypeORM itself emits so that its
// schema reader agrees with the entities in ../../datasource.ts (drift test in test/store).
// SQLite ignores varchar lengths: the CHECK constraints make it reject what MySQL's strict mode
// rejects, so both databases accept the same data.
import type { MigrationInterface, QueryRunner } from "typeorm";

const UP = [
  `CREATE TABLE "conversations" (
    "conv_id" varchar(140) PRIMARY KEY NOT NULL,
    "kind" varchar(8) NOT NULL,
    "last_seq" bigint NOT NULL DEFAULT (0),
    "created_at" bigint NOT NULL,
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_conversations_len" CHECK (length(conv_id) <= 140 AND length(kind) <= 8))`,
  `CREATE TABLE "messages" (
    "conv_id" varchar(140) NOT NULL,
    "seq" bigint NOT NULL,
    "msg_id" varchar(64) NOT NULL,
    "msg_from" varchar(64) NOT NULL,
    "msg_to" varchar(64) NOT NULL,
    "msg_type" varchar(20) NOT NULL,
    "msg_time" varchar(20) NOT NULL,
    "body" text NOT NULL,
    "session_id" varchar(64),
    "compress" varchar(20) NOT NULL,
    "encode" varchar(20) NOT NULL,
    "encrypt" varchar(50) NOT NULL,
    "version" varchar(10) NOT NULL,
    "created_at" bigint NOT NULL,
    "revoked" smallint NOT NULL DEFAULT (0),
    CONSTRAINT "CHK_messages_len" CHECK (length(conv_id) <= 140 AND length(msg_id) <= 64 AND length(msg_from) <= 64 AND length(msg_to) <= 64 AND length(msg_type) <= 20 AND length(msg_time) <= 20 AND length(session_id) <= 64 AND length(compress) <= 20 AND length(encode) <= 20 AND length(encrypt) <= 50 AND length(version) <= 10),
    PRIMARY KEY ("conv_id", "seq"))`,
  `CREATE UNIQUE INDEX "UQ_messages_from_id" ON "messages" ("msg_from", "msg_id")`,
  `CREATE INDEX "IDX_messages_msg_id" ON "messages" ("msg_id")`,
  `CREATE TABLE "user_inbox" (
    "user_id" varchar(64) PRIMARY KEY NOT NULL,
    "last_seq" bigint NOT NULL DEFAULT (0),
    CONSTRAINT "CHK_user_inbox_len" CHECK (length(user_id) <= 64))`,
  `CREATE TABLE "inbox" (
    "user_id" varchar(64) NOT NULL,
    "seq" bigint NOT NULL,
    "conv_id" varchar(140) NOT NULL,
    "conv_seq" bigint NOT NULL,
    "created_at" bigint NOT NULL,
    PRIMARY KEY ("user_id", "seq"))`,
  `CREATE INDEX "IDX_inbox_user_conv" ON "inbox" ("user_id", "conv_id", "conv_seq")`,
  `CREATE TABLE "device_cursors" (
    "user_id" varchar(64) NOT NULL,
    "device" varchar(128) NOT NULL,
    "acked_seq" bigint NOT NULL DEFAULT (0),
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_device_cursors_len" CHECK (length(user_id) <= 64 AND length(device) <= 128),
    PRIMARY KEY ("user_id", "device"))`,
  `CREATE TABLE "sessions" (
    "session_id" varchar(64) PRIMARY KEY NOT NULL,
    "session_type" integer NOT NULL,
    "session_name" varchar(256) NOT NULL,
    "session_user" varchar(64) NOT NULL,
    "session_pic" varchar(256),
    "session_valid" integer NOT NULL DEFAULT (0),
    "session_create_time" varchar(20) NOT NULL,
    "session_modify_time" varchar(20),
    "session_delete_time" varchar(20),
    CONSTRAINT "CHK_sessions_len" CHECK (length(session_id) <= 64 AND length(session_name) <= 256 AND length(session_user) <= 64 AND length(session_pic) <= 256 AND length(session_create_time) <= 20 AND length(session_modify_time) <= 20 AND length(session_delete_time) <= 20))`,
  `CREATE TABLE "session_members" (
    "session_id" varchar(64) NOT NULL,
    "user_id" varchar(64) NOT NULL,
    "user_name" varchar(256) NOT NULL,
    "acct_login" varchar(64) NOT NULL,
    "pic" varchar(256),
    "ts" varchar(20) NOT NULL,
    CONSTRAINT "CHK_session_members_len" CHECK (length(session_id) <= 64 AND length(user_id) <= 64 AND length(user_name) <= 256 AND length(acct_login) <= 64 AND length(pic) <= 256 AND length(ts) <= 20),
    PRIMARY KEY ("session_id", "user_id"))`,
  `CREATE INDEX "IDX_session_members_user" ON "session_members" ("user_id")`,
];

const TABLES = ["session_members", "sessions", "device_cursors", "inbox", "user_inbox", "messages", "conversations"];

export class Init1795000000000 implements MigrationInterface {
  name = "Init1795000000000";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of TABLES) await qr.query(`DROP TABLE "${t}"`);
  }
}
