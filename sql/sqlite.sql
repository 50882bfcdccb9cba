-- tlim schema for SQLite.
-- GENERATED from the migrations in src/store/sql/migrations/ by scripts/gen-sql.ts: do not edit.
-- Regenerate with `npm run sql:generate`; a test fails when this file and the migrations drift.
--
-- For DBAs who create the objects themselves instead of running `tlim migrate`. Run it once, on an
-- empty database: sqlite3 -bail tlim.sqlite < sql/sqlite.sql.
-- It ends by recording every migration in TypeORM's migrations table, so that `tlim migrate` and
-- `tlim start` then find nothing pending. `tlim migrate --print` shows what a database still needs.

-- Migration Init1795000000000
CREATE TABLE "conversations" (
    "conv_id" varchar(140) PRIMARY KEY NOT NULL,
    "kind" varchar(8) NOT NULL,
    "last_seq" bigint NOT NULL DEFAULT (0),
    "created_at" bigint NOT NULL,
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_conversations_len" CHECK (length(conv_id) <= 140 AND length(kind) <= 8));
CREATE TABLE "messages" (
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
    PRIMARY KEY ("conv_id", "seq"));
CREATE UNIQUE INDEX "UQ_messages_from_id" ON "messages" ("msg_from", "msg_id");
CREATE INDEX "IDX_messages_msg_id" ON "messages" ("msg_id");
CREATE TABLE "user_inbox" (
    "user_id" varchar(64) PRIMARY KEY NOT NULL,
    "last_seq" bigint NOT NULL DEFAULT (0),
    CONSTRAINT "CHK_user_inbox_len" CHECK (length(user_id) <= 64));
CREATE TABLE "inbox" (
    "user_id" varchar(64) NOT NULL,
    "seq" bigint NOT NULL,
    "conv_id" varchar(140) NOT NULL,
    "conv_seq" bigint NOT NULL,
    "created_at" bigint NOT NULL,
    PRIMARY KEY ("user_id", "seq"));
CREATE INDEX "IDX_inbox_user_conv" ON "inbox" ("user_id", "conv_id", "conv_seq");
CREATE TABLE "device_cursors" (
    "user_id" varchar(64) NOT NULL,
    "device" varchar(128) NOT NULL,
    "acked_seq" bigint NOT NULL DEFAULT (0),
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_device_cursors_len" CHECK (length(user_id) <= 64 AND length(device) <= 128),
    PRIMARY KEY ("user_id", "device"));
CREATE TABLE "sessions" (
    "session_id" varchar(64) PRIMARY KEY NOT NULL,
    "session_type" integer NOT NULL,
    "session_name" varchar(256) NOT NULL,
    "session_user" varchar(64) NOT NULL,
    "session_pic" varchar(256),
    "session_valid" integer NOT NULL DEFAULT (0),
    "session_create_time" varchar(20) NOT NULL,
    "session_modify_time" varchar(20),
    "session_delete_time" varchar(20),
    CONSTRAINT "CHK_sessions_len" CHECK (length(session_id) <= 64 AND length(session_name) <= 256 AND length(session_user) <= 64 AND length(session_pic) <= 256 AND length(session_create_time) <= 20 AND length(session_modify_time) <= 20 AND length(session_delete_time) <= 20));
CREATE TABLE "session_members" (
    "session_id" varchar(64) NOT NULL,
    "user_id" varchar(64) NOT NULL,
    "user_name" varchar(256) NOT NULL,
    "acct_login" varchar(64) NOT NULL,
    "pic" varchar(256),
    "ts" varchar(20) NOT NULL,
    CONSTRAINT "CHK_session_members_len" CHECK (length(session_id) <= 64 AND length(user_id) <= 64 AND length(user_name) <= 256 AND length(acct_login) <= 64 AND length(pic) <= 256 AND length(ts) <= 20),
    PRIMARY KEY ("session_id", "user_id"));
CREATE INDEX "IDX_session_members_user" ON "session_members" ("user_id");

-- Migration ReadsRevokeDissolve1795000000001
ALTER TABLE "messages" ADD COLUMN "hidden" smallint NOT NULL DEFAULT (0);
CREATE TABLE "message_reads" (
    "author" varchar(64) NOT NULL,
    "msg_id" varchar(64) NOT NULL,
    "reader" varchar(64) NOT NULL,
    "status" smallint NOT NULL,
    "conv_id" varchar(140) NOT NULL,
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_message_reads_len" CHECK (length(author) <= 64 AND length(msg_id) <= 64 AND length(reader) <= 64 AND length(conv_id) <= 140),
    PRIMARY KEY ("author", "msg_id", "reader"));
CREATE INDEX "IDX_message_reads_conv" ON "message_reads" ("conv_id");

-- Migration HttpApi1795000000002
CREATE TABLE "users" (
    "user_id" varchar(64) PRIMARY KEY NOT NULL,
    "user_name" varchar(256) NOT NULL,
    "acct_login" varchar(64) NOT NULL,
    "user_email" varchar(256),
    "pic_url" varchar(256),
    "app_push_code" varchar(256),
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_users_len" CHECK (length(user_id) <= 64 AND length(user_name) <= 256 AND length(acct_login) <= 64 AND length(user_email) <= 256 AND length(pic_url) <= 256 AND length(app_push_code) <= 256));
CREATE TABLE "chats" (
    "user_id" varchar(64) NOT NULL,
    "peer_id" varchar(64) NOT NULL,
    "created_at" bigint NOT NULL,
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_chats_len" CHECK (length(user_id) <= 64 AND length(peer_id) <= 64),
    PRIMARY KEY ("user_id", "peer_id"));
CREATE TABLE "pubacts" (
    "id" varchar(64) PRIMARY KEY NOT NULL,
    "title" varchar(256) NOT NULL,
    "content" text NOT NULL,
    "user_id" varchar(64) NOT NULL,
    "ts" varchar(20) NOT NULL,
    "session_id" varchar(64) NOT NULL,
    CONSTRAINT "CHK_pubacts_len" CHECK (length(id) <= 64 AND length(title) <= 256 AND length(user_id) <= 64 AND length(ts) <= 20 AND length(session_id) <= 64));
CREATE INDEX "IDX_pubacts_session" ON "pubacts" ("session_id");
CREATE TABLE "styles" (
    "style_id" varchar(64) PRIMARY KEY NOT NULL,
    "style_name" varchar(64) NOT NULL,
    "style_value" integer NOT NULL,
    "user_id" varchar(64) NOT NULL,
    CONSTRAINT "CHK_styles_len" CHECK (length(style_id) <= 64 AND length(style_name) <= 64 AND length(user_id) <= 64));
CREATE UNIQUE INDEX "UQ_styles_user_name" ON "styles" ("user_id", "style_name");
CREATE TABLE "files" (
    "file_id" varchar(64) PRIMARY KEY NOT NULL,
    "file_name" varchar(256) NOT NULL,
    "content_type" varchar(128) NOT NULL,
    "size" bigint NOT NULL,
    "user_id" varchar(64),
    "created_at" bigint NOT NULL,
    CONSTRAINT "CHK_files_len" CHECK (length(file_id) <= 64 AND length(file_name) <= 256 AND length(content_type) <= 128 AND length(user_id) <= 64));
INSERT INTO "chats" ("user_id", "peer_id", "created_at", "updated_at")
    SELECT a, b, MIN(t), MAX(t) FROM (
      SELECT msg_from AS a, msg_to AS b, created_at AS t FROM messages WHERE session_id IS NULL AND hidden = 0
      UNION ALL
      SELECT msg_to, msg_from, created_at FROM messages WHERE session_id IS NULL AND hidden = 0
    ) GROUP BY a, b;
UPDATE "sessions" SET "session_modify_time" = (
      SELECT CAST(MAX(m.created_at) AS TEXT) FROM messages m WHERE m.conv_id = 'session:' || sessions.session_id AND m.hidden = 0)
    WHERE "session_modify_time" IS NULL
      AND EXISTS (SELECT 1 FROM messages m WHERE m.conv_id = 'session:' || sessions.session_id AND m.hidden = 0);

-- Migration Delivery1795000000003
CREATE TABLE "online_devices" (
    "user_id" varchar(64) NOT NULL,
    "resource" varchar(128) NOT NULL,
    "via" varchar(64) NOT NULL,
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_online_devices_len" CHECK (length(user_id) <= 64 AND length(resource) <= 128 AND length(via) <= 64),
    PRIMARY KEY ("user_id", "resource"));

-- Migration DropRetentionIndexes1795000000005
DROP INDEX IF EXISTS "IDX_messages_created";
DROP INDEX IF EXISTS "IDX_inbox_created";

-- TypeORM's migrations table (tlim_migrations): every migration above recorded as applied, so `tlim migrate` finds nothing pending.
CREATE TABLE "tlim_migrations" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "timestamp" bigint NOT NULL, "name" varchar NOT NULL);
INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000000, 'Init1795000000000');
INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000001, 'ReadsRevokeDissolve1795000000001');
INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000002, 'HttpApi1795000000002');
INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000003, 'Delivery1795000000003');
INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000005, 'DropRetentionIndexes1795000000005');
