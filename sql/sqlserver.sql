-- tlim schema for SQL Server.
-- GENERATED from the migrations in src/store/sql/migrations/ by scripts/gen-sql.ts: do not edit.
-- Regenerate with `npm run sql:generate`; a test fails when this file and the migrations drift.
--
-- For DBAs who create the objects themselves instead of running `tlim migrate`. Run it once, on an
-- empty database: sqlcmd -b -I -d <database> -i sql/sqlserver.sql (-b: stop at the first error).
-- It ends by recording every migration in TypeORM's migrations table, so that `tlim migrate` and
-- `tlim start` then find nothing pending. `tlim migrate --print` shows what a database still needs.

SET QUOTED_IDENTIFIER ON;
GO

-- Migration Init1795000000000
CREATE TABLE conversations (
  conv_id nvarchar(140) COLLATE Latin1_General_100_BIN2 NOT NULL,
  kind nvarchar(8) COLLATE Latin1_General_100_BIN2 NOT NULL,
  last_seq bigint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT PK_conversations PRIMARY KEY (conv_id)
);
GO
CREATE TABLE messages (
  conv_id nvarchar(140) COLLATE Latin1_General_100_BIN2 NOT NULL,
  seq bigint NOT NULL,
  msg_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  msg_from nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  msg_to nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  msg_type nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL,
  msg_time nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL,
  body nvarchar(max) COLLATE Latin1_General_100_BIN2 NOT NULL,
  session_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NULL,
  compress nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL,
  encode nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL,
  encrypt nvarchar(50) COLLATE Latin1_General_100_BIN2 NOT NULL,
  version nvarchar(10) COLLATE Latin1_General_100_BIN2 NOT NULL,
  created_at bigint NOT NULL,
  revoked smallint NOT NULL DEFAULT 0,
  hidden smallint NOT NULL DEFAULT 0,
  CONSTRAINT PK_messages PRIMARY KEY (conv_id, seq)
);
GO
CREATE UNIQUE INDEX UQ_messages_from_id ON messages (msg_from, msg_id);
GO
CREATE INDEX IDX_messages_msg_id ON messages (msg_id);
GO
CREATE TABLE user_inbox (
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  last_seq bigint NOT NULL DEFAULT 0,
  CONSTRAINT PK_user_inbox PRIMARY KEY (user_id)
);
GO
CREATE TABLE inbox (
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  seq bigint NOT NULL,
  conv_id nvarchar(140) COLLATE Latin1_General_100_BIN2 NOT NULL,
  conv_seq bigint NOT NULL,
  created_at bigint NOT NULL,
  CONSTRAINT PK_inbox PRIMARY KEY (user_id, seq)
);
GO
CREATE INDEX IDX_inbox_user_conv ON inbox (user_id, conv_id, conv_seq);
GO
CREATE TABLE device_cursors (
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  device nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
  acked_seq bigint NOT NULL DEFAULT 0,
  updated_at bigint NOT NULL,
  CONSTRAINT PK_device_cursors PRIMARY KEY (user_id, device)
);
GO
CREATE TABLE online_devices (
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  resource nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
  via nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT PK_online_devices PRIMARY KEY (user_id, resource)
);
GO
CREATE TABLE sessions (
  session_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  session_type int NOT NULL,
  session_name nvarchar(256) COLLATE Latin1_General_100_BIN2 NOT NULL,
  [session_user] nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  session_pic nvarchar(256) COLLATE Latin1_General_100_BIN2 NULL,
  session_valid int NOT NULL DEFAULT 0,
  session_create_time nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL,
  session_modify_time nvarchar(20) COLLATE Latin1_General_100_BIN2 NULL,
  session_delete_time nvarchar(20) COLLATE Latin1_General_100_BIN2 NULL,
  CONSTRAINT PK_sessions PRIMARY KEY (session_id)
);
GO
CREATE TABLE session_members (
  session_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  user_name nvarchar(256) COLLATE Latin1_General_100_BIN2 NOT NULL,
  acct_login nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  pic nvarchar(256) COLLATE Latin1_General_100_BIN2 NULL,
  ts nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL,
  CONSTRAINT PK_session_members PRIMARY KEY (session_id, user_id)
);
GO
CREATE INDEX IDX_session_members_user ON session_members (user_id);
GO
CREATE TABLE message_reads (
  author nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  msg_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  reader nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  status smallint NOT NULL,
  conv_id nvarchar(140) COLLATE Latin1_General_100_BIN2 NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT PK_message_reads PRIMARY KEY (author, msg_id, reader)
);
GO
CREATE INDEX IDX_message_reads_conv ON message_reads (conv_id);
GO
CREATE TABLE users (
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  user_name nvarchar(256) COLLATE Latin1_General_100_BIN2 NOT NULL,
  acct_login nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  user_email nvarchar(256) COLLATE Latin1_General_100_BIN2 NULL,
  pic_url nvarchar(256) COLLATE Latin1_General_100_BIN2 NULL,
  app_push_code nvarchar(256) COLLATE Latin1_General_100_BIN2 NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT PK_users PRIMARY KEY (user_id)
);
GO
CREATE TABLE chats (
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  peer_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT PK_chats PRIMARY KEY (user_id, peer_id)
);
GO
CREATE TABLE pubacts (
  id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  title nvarchar(256) COLLATE Latin1_General_100_BIN2 NOT NULL,
  content nvarchar(max) COLLATE Latin1_General_100_BIN2 NOT NULL,
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  ts nvarchar(20) COLLATE Latin1_General_100_BIN2 NOT NULL,
  session_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  CONSTRAINT PK_pubacts PRIMARY KEY (id)
);
GO
CREATE INDEX IDX_pubacts_session ON pubacts (session_id);
GO
CREATE TABLE styles (
  style_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  style_name nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  style_value int NOT NULL,
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  CONSTRAINT PK_styles PRIMARY KEY (style_id)
);
GO
CREATE UNIQUE INDEX UQ_styles_user_name ON styles (user_id, style_name);
GO
CREATE TABLE files (
  file_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
  file_name nvarchar(256) COLLATE Latin1_General_100_BIN2 NOT NULL,
  content_type nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
  size bigint NOT NULL,
  user_id nvarchar(64) COLLATE Latin1_General_100_BIN2 NULL,
  created_at bigint NOT NULL,
  CONSTRAINT PK_files PRIMARY KEY (file_id)
);
GO

-- Migration DropRetentionIndexes1795000000005
IF EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IDX_messages_created' AND object_id = OBJECT_ID(N'messages')) BEGIN DROP INDEX IDX_messages_created ON messages; END;
GO
IF EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IDX_inbox_created' AND object_id = OBJECT_ID(N'inbox')) BEGIN DROP INDEX IDX_inbox_created ON inbox; END;
GO

-- TypeORM's migrations table (tlim_migrations): every migration above recorded as applied, so `tlim migrate` finds nothing pending.
CREATE TABLE "tlim_migrations" ("id" int NOT NULL IDENTITY(1,1), "timestamp" bigint NOT NULL, "name" varchar(255) NOT NULL, CONSTRAINT "PK_d86e748808ebc30c7c4f9acf5ba" PRIMARY KEY ("id"));
GO
INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000000, 'Init1795000000000');
GO
INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000005, 'DropRetentionIndexes1795000000005');
GO
