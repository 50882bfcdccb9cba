// Retention reads by primary key only (docs/reliability.md "Retention"). A database that ran an
// earlier build's migration Retention1795000000004 has two `created_at` indexes that only slow the
// write path: they are dropped. On any other database this changes nothing. That migration's
// record stays in tlim_migrations (listed as applied by `tlim migrate`; it has no class any more).
import type { MigrationInterface, QueryRunner } from "typeorm";

export class DropRetentionIndexes1795000000005 implements MigrationInterface {
  name = "DropRetentionIndexes1795000000005";

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP INDEX IF EXISTS "IDX_messages_created"`);
    await qr.query(`DROP INDEX IF EXISTS "IDX_inbox_created"`);
  }

  async down(): Promise<void> {
    // Nothing to restore: the indexes are not part of the schema.
  }
}
