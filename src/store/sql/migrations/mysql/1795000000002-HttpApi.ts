// The HTTP API's tables (docs/http-api.md), MySQL / MariaDB. Same conventions as the Init
// migration (utf8mb4, binary collation).
// `users`: tlim's own user directory (names, pictures, emails, push codes; docs/architecture.md "tlim keeps its own user directory").
// `chats`: the 1:1 conversation list (the original's `ofchat`), one row per direction, kept by
// commitBatch; backfilled here from the stored 1:1 messages. `pubacts` (session notice board),
// `styles` (per-user UI preferences), `files` (uploads; the bytes live in TLIM_FILE_DIR).
// Sessions that saw messages before session_modify_time was kept get their latest message time.
// DDL commits implicitly: every step can run again after a failure part-way (IF NOT EXISTS, the
// backfills only fill what is missing).
import type { MigrationInterface, QueryRunner } from "typeorm";

const CS = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
const TABLE_OPTS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

const UP = [
  `CREATE TABLE IF NOT EXISTS \`users\` (
    \`user_id\` varchar(64) ${CS} NOT NULL,
    \`user_name\` varchar(256) ${CS} NOT NULL,
    \`acct_login\` varchar(64) ${CS} NOT NULL,
    \`user_email\` varchar(256) ${CS} NULL,
    \`pic_url\` varchar(256) ${CS} NULL,
    \`app_push_code\` varchar(256) ${CS} NULL,
    \`updated_at\` bigint NOT NULL,
    PRIMARY KEY (\`user_id\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE IF NOT EXISTS \`chats\` (
    \`user_id\` varchar(64) ${CS} NOT NULL,
    \`peer_id\` varchar(64) ${CS} NOT NULL,
    \`created_at\` bigint NOT NULL,
    \`updated_at\` bigint NOT NULL,
    PRIMARY KEY (\`user_id\`, \`peer_id\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE IF NOT EXISTS \`pubacts\` (
    \`id\` varchar(64) ${CS} NOT NULL,
    \`title\` varchar(256) ${CS} NOT NULL,
    \`content\` mediumtext ${CS} NOT NULL,
    \`user_id\` varchar(64) ${CS} NOT NULL,
    \`ts\` varchar(20) ${CS} NOT NULL,
    \`session_id\` varchar(64) ${CS} NOT NULL,
    PRIMARY KEY (\`id\`),
    INDEX \`IDX_pubacts_session\` (\`session_id\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE IF NOT EXISTS \`styles\` (
    \`style_id\` varchar(64) ${CS} NOT NULL,
    \`style_name\` varchar(64) ${CS} NOT NULL,
    \`style_value\` int NOT NULL,
    \`user_id\` varchar(64) ${CS} NOT NULL,
    PRIMARY KEY (\`style_id\`),
    UNIQUE INDEX \`UQ_styles_user_name\` (\`user_id\`, \`style_name\`)
  ) ${TABLE_OPTS}`,
  `CREATE TABLE IF NOT EXISTS \`files\` (
    \`file_id\` varchar(64) ${CS} NOT NULL,
    \`file_name\` varchar(256) ${CS} NOT NULL,
    \`content_type\` varchar(128) ${CS} NOT NULL,
    \`size\` bigint NOT NULL,
    \`user_id\` varchar(64) ${CS} NULL,
    \`created_at\` bigint NOT NULL,
    PRIMARY KEY (\`file_id\`)
  ) ${TABLE_OPTS}`,
  `INSERT INTO \`chats\` (\`user_id\`, \`peer_id\`, \`created_at\`, \`updated_at\`)
    SELECT a, b, MIN(t), MAX(t) FROM (
      SELECT msg_from AS a, msg_to AS b, created_at AS t FROM messages WHERE session_id IS NULL AND hidden = 0
      UNION ALL
      SELECT msg_to, msg_from, created_at FROM messages WHERE session_id IS NULL AND hidden = 0
    ) x GROUP BY a, b
    ON DUPLICATE KEY UPDATE \`user_id\` = \`user_id\``,
  `UPDATE \`sessions\` s
    JOIN (SELECT conv_id, MAX(created_at) AS t FROM messages WHERE session_id IS NOT NULL AND hidden = 0 GROUP BY conv_id) m
      ON m.conv_id = CONCAT('session:', s.session_id)
    SET s.session_modify_time = CAST(m.t AS CHAR)
    WHERE s.session_modify_time IS NULL`,
];

const TABLES = ["files", "styles", "pubacts", "chats", "users"];

export class HttpApi1795000000002 implements MigrationInterface {
  name = "HttpApi1795000000002";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    // session_modify_time stays: it is kept by the earlier schema too (it was only never bumped).
    for (const t of TABLES) await qr.query(`DROP TABLE \`${t}\``);
  }
}
