// Retention (docs/reliability.md "Retention"), SQL Server: the purge finds what is older than a
// horizon by `created_at`, oldest first, a small batch at a time; these two indexes make each
// batch a range read. SQL Server locks each table against writes while its index is built (on a
// large table, run this migration in a quiet hour; Enterprise Edition can build it ONLINE by hand).
import type { MigrationInterface, QueryRunner } from "typeorm";

export class Retention1795000000004 implements MigrationInterface {
  name = "Retention1795000000004";

  async up(qr: QueryRunner): Promise<void> {
    await qr.query("CREATE INDEX IDX_messages_created ON messages (created_at)");
    await qr.query("CREATE INDEX IDX_inbox_created ON inbox (created_at)");
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query("DROP INDEX IDX_inbox_created ON inbox");
    await qr.query("DROP INDEX IDX_messages_created ON messages");
  }
}
