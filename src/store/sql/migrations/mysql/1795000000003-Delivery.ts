// Per-device delivery (docs/reliability.md), MySQL / MariaDB. Same conventions as the Init
// migration (utf8mb4, binary collation).
// `online_devices`: the XMPP devices tlim last saw online (user, resource, and the address their
// presence came to), kept across restarts so that after a lost link or a restart tlim asks them
// again (probe, ping) instead of waiting for their next presence.
// DDL commits implicitly: every step can run again after a failure part-way.
import type { MigrationInterface, QueryRunner } from "typeorm";

const CS = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
const TABLE_OPTS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

const UP = [
  `CREATE TABLE IF NOT EXISTS \`online_devices\` (
    \`user_id\` varchar(64) ${CS} NOT NULL,
    \`resource\` varchar(128) ${CS} NOT NULL,
    \`via\` varchar(64) ${CS} NOT NULL,
    \`updated_at\` bigint NOT NULL,
    PRIMARY KEY (\`user_id\`, \`resource\`)
  ) ${TABLE_OPTS}`,
];

export class Delivery1795000000003 implements MigrationInterface {
  name = "Delivery1795000000003";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query("DROP TABLE `online_devices`");
  }
}
