// Per-device delivery (docs/reliability.md), SQLite. Same conventions as the Init migration:
// TypeORM's own clause forms, CHECK constraints standing in for the varchar lengths.
// `online_devices`: the XMPP devices tlim last saw online (user, resource, and the address their
// presence came to), kept across restarts so that after a lost link or a restart tlim asks them
// again (probe, ping) instead of waiting for their next presence.
import type { MigrationInterface, QueryRunner } from "typeorm";

const UP = [
  `CREATE TABLE "online_devices" (
    "user_id" varchar(64) NOT NULL,
    "resource" varchar(128) NOT NULL,
    "via" varchar(64) NOT NULL,
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_online_devices_len" CHECK (length(user_id) <= 64 AND length(resource) <= 128 AND length(via) <= 64),
    PRIMARY KEY ("user_id", "resource"))`,
];

export class Delivery1795000000003 implements MigrationInterface {
  name = "Delivery1795000000003";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE "online_devices"`);
  }
}
