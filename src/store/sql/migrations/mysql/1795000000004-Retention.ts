// Retention (docs/reliability.md "Retention"), MySQL / MariaDB. The purge finds what is older
// than a horizon by `created_at`, oldest first, a small batch at a time: these two indexes make
// each batch a range read instead of a scan of every message and every inbox entry.
// InnoDB builds a secondary index online (ALGORITHM=INPLACE, LOCK=NONE): writes go on while it
// is built. DDL commits implicitly: if the second statement fails, drop `IDX_messages_created`
// before running the migration again.
import type { MigrationInterface, QueryRunner } from "typeorm";

const UP = [
  "ALTER TABLE `messages` ADD INDEX `IDX_messages_created` (`created_at`), ALGORITHM=INPLACE, LOCK=NONE",
  "ALTER TABLE `inbox` ADD INDEX `IDX_inbox_created` (`created_at`), ALGORITHM=INPLACE, LOCK=NONE",
];

export class Retention1795000000004 implements MigrationInterface {
  name = "Retention1795000000004";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query("ALTER TABLE `inbox` DROP INDEX `IDX_inbox_created`");
    await qr.query("ALTER TABLE `messages` DROP INDEX `IDX_messages_created`");
  }
}
