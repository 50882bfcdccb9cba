// Retention reads by primary key only (docs/reliability.md "Retention"). A database that ran an
// earlier build's migration Retention1795000000004 has two `created_at` indexes that only slow the
// write path: they are dropped. On any other database this changes nothing. That migration's
// record stays in tlim_migrations (listed as applied by `tlim migrate`; it has no class any more).
// MySQL has no DROP INDEX IF EXISTS (MariaDB has), so each drop is a statement prepared only when
// information_schema lists the index.
import type { MigrationInterface, QueryRunner } from "typeorm";

const dropIfPresent = (table: string, index: string) => [
  `SET @tlim_sql = (SELECT IF(COUNT(*) > 0, 'ALTER TABLE \`${table}\` DROP INDEX \`${index}\`', 'DO 0') FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${table}' AND INDEX_NAME = '${index}')`,
  "PREPARE tlim_stmt FROM @tlim_sql",
  "EXECUTE tlim_stmt",
  "DEALLOCATE PREPARE tlim_stmt",
];

export class DropRetentionIndexes1795000000005 implements MigrationInterface {
  name = "DropRetentionIndexes1795000000005";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of [...dropIfPresent("messages", "IDX_messages_created"), ...dropIfPresent("inbox", "IDX_inbox_created")]) await qr.query(sql);
  }

  async down(): Promise<void> {
    // Nothing to restore: the indexes are not part of the schema.
  }
}
