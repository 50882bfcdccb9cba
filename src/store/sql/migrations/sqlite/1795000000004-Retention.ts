// Retention (docs/reliability.md "Retention"), SQLite. The purge finds what is older than a
// horizon by `created_at`, oldest first, a small batch at a time: these two indexes make each batch
// a range read instead of a scan of every message and every inbox entry.
import type { MigrationInterface, QueryRunner } from "typeorm";

const UP = [
  `CREATE INDEX "IDX_messages_created" ON "messages" ("created_at")`,
  `CREATE INDEX "IDX_inbox_created" ON "inbox" ("created_at")`,
];

export class Retention1795000000004 implements MigrationInterface {
  name = "Retention1795000000004";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP INDEX "IDX_inbox_created"`);
    await qr.query(`DROP INDEX "IDX_messages_created"`);
  }
}
