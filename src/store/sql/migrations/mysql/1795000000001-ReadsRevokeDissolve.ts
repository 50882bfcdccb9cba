// Read receipts, hidden messages, MySQL / MariaDB. Same conventions as the Init
// migration (utf8mb4, binary collation).
// `messages.hidden`: stored and queued, but left out of history (the receipts themselves).
// `message_reads`: one row per (author, msg_id, reader), last receipt wins; conv_id is the
// conversation of the receipt, so a dissolved session's reads go with it (indexed for that).
// DDL commits implicitly, so the two steps are ordered to be re-runnable after a failure between
// them: the table is created only if absent, the column (the step that can fail late) comes last.
import type { MigrationInterface, QueryRunner } from "typeorm";

const CS = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
const TABLE_OPTS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

const UP = [
  `CREATE TABLE IF NOT EXISTS \`message_reads\` (
    \`author\` varchar(64) ${CS} NOT NULL,
    \`msg_id\` varchar(64) ${CS} NOT NULL,
    \`reader\` varchar(64) ${CS} NOT NULL,
    \`status\` smallint NOT NULL,
    \`conv_id\` varchar(140) ${CS} NOT NULL,
    \`updated_at\` bigint NOT NULL,
    PRIMARY KEY (\`author\`, \`msg_id\`, \`reader\`),
    INDEX \`IDX_message_reads_conv\` (\`conv_id\`)
  ) ${TABLE_OPTS}`,
  "ALTER TABLE `messages` ADD COLUMN `hidden` smallint NOT NULL DEFAULT 0",
];

export class ReadsRevokeDissolve1795000000001 implements MigrationInterface {
  name = "ReadsRevokeDissolve1795000000001";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query("ALTER TABLE `messages` DROP COLUMN `hidden`");
    await qr.query("DROP TABLE `message_reads`");
  }
}
