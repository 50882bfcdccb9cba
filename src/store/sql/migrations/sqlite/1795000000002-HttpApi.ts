// The HTTP API's tables (docs/http-api.md), SQLite. Same conventions as the Init migration:
// TypeORM's own clause forms, CHECK constraints standing in for the varchar lengths.
// `users`: tlim's own user directory (names, pictures, emails, push codes; docs/architecture.md "tlim keeps its own user directory").
// `chats`: the 1:1 conversation list (the original's `ofchat`), one row per direction, kept by
// commitBatch; backfilled here from the stored 1:1 messages. `pubacts` (session notice board),
// `styles` (per-user UI preferences), `files` (uploads; the bytes live in TLIM_FILE_DIR).
// Sessions that saw messages before session_modify_time was kept get their latest message time.
import type { MigrationInterface, QueryRunner } from "typeorm";

const UP = [
  `CREATE TABLE "users" (
    "user_id" varchar(64) PRIMARY KEY NOT NULL,
    "user_name" varchar(256) NOT NULL,
    "acct_login" varchar(64) NOT NULL,
    "user_email" varchar(256),
    "pic_url" varchar(256),
    "app_push_code" varchar(256),
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_users_len" CHECK (length(user_id) <= 64 AND length(user_name) <= 256 AND length(acct_login) <= 64 AND length(user_email) <= 256 AND length(pic_url) <= 256 AND length(app_push_code) <= 256))`,
  `CREATE TABLE "chats" (
    "user_id" varchar(64) NOT NULL,
    "peer_id" varchar(64) NOT NULL,
    "created_at" bigint NOT NULL,
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_chats_len" CHECK (length(user_id) <= 64 AND length(peer_id) <= 64),
    PRIMARY KEY ("user_id", "peer_id"))`,
  `CREATE TABLE "pubacts" (
    "id" varchar(64) PRIMARY KEY NOT NULL,
    "title" varchar(256) NOT NULL,
    "content" text NOT NULL,
    "user_id" varchar(64) NOT NULL,
    "ts" varchar(20) NOT NULL,
    "session_id" varchar(64) NOT NULL,
    CONSTRAINT "CHK_pubacts_len" CHECK (length(id) <= 64 AND length(title) <= 256 AND length(user_id) <= 64 AND length(ts) <= 20 AND length(session_id) <= 64))`,
  `CREATE INDEX "IDX_pubacts_session" ON "pubacts" ("session_id")`,
  `CREATE TABLE "styles" (
    "style_id" varchar(64) PRIMARY KEY NOT NULL,
    "style_name" varchar(64) NOT NULL,
    "style_value" integer NOT NULL,
    "user_id" varchar(64) NOT NULL,
    CONSTRAINT "CHK_styles_len" CHECK (length(style_id) <= 64 AND length(style_name) <= 64 AND length(user_id) <= 64))`,
  `CREATE UNIQUE INDEX "UQ_styles_user_name" ON "styles" ("user_id", "style_name")`,
  `CREATE TABLE "files" (
    "file_id" varchar(64) PRIMARY KEY NOT NULL,
    "file_name" varchar(256) NOT NULL,
    "content_type" varchar(128) NOT NULL,
    "size" bigint NOT NULL,
    "user_id" varchar(64),
    "created_at" bigint NOT NULL,
    CONSTRAINT "CHK_files_len" CHECK (length(file_id) <= 64 AND length(file_name) <= 256 AND length(content_type) <= 128 AND length(user_id) <= 64))`,
  `INSERT INTO "chats" ("user_id", "peer_id", "created_at", "updated_at")
    SELECT a, b, MIN(t), MAX(t) FROM (
      SELECT msg_from AS a, msg_to AS b, created_at AS t FROM messages WHERE session_id IS NULL AND hidden = 0
      UNION ALL
      SELECT msg_to, msg_from, created_at FROM messages WHERE session_id IS NULL AND hidden = 0
    ) GROUP BY a, b`,
  `UPDATE "sessions" SET "session_modify_time" = (
      SELECT CAST(MAX(m.created_at) AS TEXT) FROM messages m WHERE m.conv_id = 'session:' || sessions.session_id AND m.hidden = 0)
    WHERE "session_modify_time" IS NULL
      AND EXISTS (SELECT 1 FROM messages m WHERE m.conv_id = 'session:' || sessions.session_id AND m.hidden = 0)`,
];

const TABLES = ["files", "styles", "pubacts", "chats", "users"];

export class HttpApi1795000000002 implements MigrationInterface {
  name = "HttpApi1795000000002";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    // session_modify_time stays: it is kept by the earlier schema too (it was only never bumped).
    for (const t of TABLES) await qr.query(`DROP TABLE "${t}"`);
  }
}
