-- tlim schema for Oracle.
-- GENERATED from the migrations in src/store/sql/migrations/ by scripts/gen-sql.ts: do not edit.
-- Regenerate with `npm run sql:generate`; a test fails when this file and the migrations drift.
--
-- For DBAs who create the objects themselves instead of running `tlim migrate`. Run it once, on an
-- empty database: sqlplus <user>@<service> @sql/oracle.sql (or SQLcl); it stops at the first error.
-- It ends by recording every migration in TypeORM's migrations table, so that `tlim migrate` and
-- `tlim start` then find nothing pending. `tlim migrate --print` shows what a database still needs.

WHENEVER SQLERROR EXIT FAILURE ROLLBACK
SET DEFINE OFF

-- Migration Init1795000000000
CREATE TABLE conversations (
  conv_id VARCHAR2(140 CHAR) NOT NULL,
  kind VARCHAR2(8 CHAR),
  last_seq NUMBER(19) DEFAULT 0 NOT NULL,
  created_at NUMBER(19) NOT NULL,
  updated_at NUMBER(19) NOT NULL,
  CONSTRAINT PK_conversations PRIMARY KEY (conv_id)
);
CREATE TABLE messages (
  conv_id VARCHAR2(140 CHAR) NOT NULL,
  seq NUMBER(19) NOT NULL,
  msg_id VARCHAR2(64 CHAR) NOT NULL,
  msg_from VARCHAR2(64 CHAR) NOT NULL,
  msg_to VARCHAR2(64 CHAR),
  msg_type VARCHAR2(20 CHAR),
  msg_time VARCHAR2(20 CHAR),
  body CLOB,
  session_id VARCHAR2(64 CHAR),
  "COMPRESS" VARCHAR2(20 CHAR),
  encode VARCHAR2(20 CHAR),
  encrypt VARCHAR2(50 CHAR),
  version VARCHAR2(10 CHAR),
  created_at NUMBER(19) NOT NULL,
  revoked NUMBER(5) DEFAULT 0 NOT NULL,
  hidden NUMBER(5) DEFAULT 0 NOT NULL,
  CONSTRAINT PK_messages PRIMARY KEY (conv_id, seq)
);
CREATE UNIQUE INDEX UQ_messages_from_id ON messages (msg_from, msg_id);
CREATE INDEX IDX_messages_msg_id ON messages (msg_id);
CREATE TABLE user_inbox (
  user_id VARCHAR2(64 CHAR) NOT NULL,
  last_seq NUMBER(19) DEFAULT 0 NOT NULL,
  CONSTRAINT PK_user_inbox PRIMARY KEY (user_id)
);
CREATE TABLE inbox (
  user_id VARCHAR2(64 CHAR) NOT NULL,
  seq NUMBER(19) NOT NULL,
  conv_id VARCHAR2(140 CHAR),
  conv_seq NUMBER(19) NOT NULL,
  created_at NUMBER(19) NOT NULL,
  CONSTRAINT PK_inbox PRIMARY KEY (user_id, seq)
);
CREATE INDEX IDX_inbox_user_conv ON inbox (user_id, conv_id, conv_seq);
CREATE TABLE device_cursors (
  user_id VARCHAR2(64 CHAR) NOT NULL,
  device VARCHAR2(128 CHAR) NOT NULL,
  acked_seq NUMBER(19) DEFAULT 0 NOT NULL,
  updated_at NUMBER(19) NOT NULL,
  CONSTRAINT PK_device_cursors PRIMARY KEY (user_id, device)
);
CREATE TABLE online_devices (
  user_id VARCHAR2(64 CHAR) NOT NULL,
  "RESOURCE" VARCHAR2(128 CHAR) NOT NULL,
  via VARCHAR2(64 CHAR),
  updated_at NUMBER(19) NOT NULL,
  CONSTRAINT PK_online_devices PRIMARY KEY (user_id, "RESOURCE")
);
CREATE TABLE sessions (
  session_id VARCHAR2(64 CHAR) NOT NULL,
  session_type NUMBER(10) NOT NULL,
  session_name VARCHAR2(256 CHAR),
  session_user VARCHAR2(64 CHAR),
  session_pic VARCHAR2(256 CHAR),
  session_valid NUMBER(10) DEFAULT 0 NOT NULL,
  session_create_time VARCHAR2(20 CHAR),
  session_modify_time VARCHAR2(20 CHAR),
  session_delete_time VARCHAR2(20 CHAR),
  CONSTRAINT PK_sessions PRIMARY KEY (session_id)
);
CREATE TABLE session_members (
  session_id VARCHAR2(64 CHAR) NOT NULL,
  user_id VARCHAR2(64 CHAR) NOT NULL,
  user_name VARCHAR2(256 CHAR),
  acct_login VARCHAR2(64 CHAR),
  pic VARCHAR2(256 CHAR),
  ts VARCHAR2(20 CHAR),
  CONSTRAINT PK_session_members PRIMARY KEY (session_id, user_id)
);
CREATE INDEX IDX_session_members_user ON session_members (user_id);
CREATE TABLE message_reads (
  author VARCHAR2(64 CHAR) NOT NULL,
  msg_id VARCHAR2(64 CHAR) NOT NULL,
  reader VARCHAR2(64 CHAR) NOT NULL,
  status NUMBER(5) NOT NULL,
  conv_id VARCHAR2(140 CHAR),
  updated_at NUMBER(19) NOT NULL,
  CONSTRAINT PK_message_reads PRIMARY KEY (author, msg_id, reader)
);
CREATE INDEX IDX_message_reads_conv ON message_reads (conv_id);
CREATE TABLE users (
  user_id VARCHAR2(64 CHAR) NOT NULL,
  user_name VARCHAR2(256 CHAR),
  acct_login VARCHAR2(64 CHAR),
  user_email VARCHAR2(256 CHAR),
  pic_url VARCHAR2(256 CHAR),
  app_push_code VARCHAR2(256 CHAR),
  updated_at NUMBER(19) NOT NULL,
  CONSTRAINT PK_users PRIMARY KEY (user_id)
);
CREATE TABLE chats (
  user_id VARCHAR2(64 CHAR) NOT NULL,
  peer_id VARCHAR2(64 CHAR) NOT NULL,
  created_at NUMBER(19) NOT NULL,
  updated_at NUMBER(19) NOT NULL,
  CONSTRAINT PK_chats PRIMARY KEY (user_id, peer_id)
);
CREATE TABLE pubacts (
  id VARCHAR2(64 CHAR) NOT NULL,
  title VARCHAR2(256 CHAR),
  content CLOB,
  user_id VARCHAR2(64 CHAR),
  ts VARCHAR2(20 CHAR),
  session_id VARCHAR2(64 CHAR),
  CONSTRAINT PK_pubacts PRIMARY KEY (id)
);
CREATE INDEX IDX_pubacts_session ON pubacts (session_id);
CREATE TABLE styles (
  style_id VARCHAR2(64 CHAR) NOT NULL,
  style_name VARCHAR2(64 CHAR),
  style_value NUMBER(10) NOT NULL,
  user_id VARCHAR2(64 CHAR),
  CONSTRAINT PK_styles PRIMARY KEY (style_id)
);
CREATE UNIQUE INDEX UQ_styles_user_name ON styles (user_id, style_name);
CREATE TABLE files (
  file_id VARCHAR2(64 CHAR) NOT NULL,
  file_name VARCHAR2(256 CHAR),
  content_type VARCHAR2(128 CHAR),
  "SIZE" NUMBER(19) NOT NULL,
  user_id VARCHAR2(64 CHAR),
  created_at NUMBER(19) NOT NULL,
  CONSTRAINT PK_files PRIMARY KEY (file_id)
);

-- Migration DropRetentionIndexes1795000000005
BEGIN
  FOR i IN (SELECT index_name FROM user_indexes WHERE index_name IN ('IDX_MESSAGES_CREATED', 'IDX_INBOX_CREATED')) LOOP
    EXECUTE IMMEDIATE 'DROP INDEX ' || i.index_name;
  END LOOP;
END;
/

-- TypeORM's migrations table (tlim_migrations): every migration above recorded as applied, so `tlim migrate` finds nothing pending.
CREATE TABLE "tlim_migrations" ("id" number GENERATED BY DEFAULT AS IDENTITY, "timestamp" number NOT NULL, "name" varchar2(255) NOT NULL, CONSTRAINT "PK_d86e748808ebc30c7c4f9acf5ba" PRIMARY KEY ("id"));
INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000000, 'Init1795000000000');
INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000005, 'DropRetentionIndexes1795000000005');
COMMIT;
