// Read receipts, hidden messages, SQLite. Same conventions as the Init migration:
// TypeORM's own clause forms, CHECK constraints standing in for the varchar lengths.
// `messages.hidden`: stored and queued, but left out of history (the receipts themselves).
// `message_reads`: one row per (author, msg_id, reader), last receipt wins; conv_id is the
// conversation of the receipt, so a dissolved session's reads go with it (indexed for that).
// ADD COLUMN with a constant default is O(1) in SQLite: existing rows read the default.
import type { MigrationInterface, QueryRunner } from "typeorm";

const UP = [
  `ALTER TABLE "messages" ADD COLUMN "hidden" smallint NOT NULL DEFAULT (0)`,
  `CREATE TABLE "message_reads" (
    "author" varchar(64) NOT NULL,
    "msg_id" varchar(64) NOT NULL,
    "reader" varchar(64) NOT NULL,
    "status" smallint NOT NULL,
    "conv_id" varchar(140) NOT NULL,
    "updated_at" bigint NOT NULL,
    CONSTRAINT "CHK_message_reads_len" CHECK (length(author) <= 64 AND length(msg_id) <= 64 AND length(reader) <= 64 AND length(conv_id) <= 140),
    PRIMARY KEY ("author", "msg_id", "reader"))`,
  `CREATE INDEX "IDX_message_reads_conv" ON "message_reads" ("conv_id")`,
];

export class ReadsRevokeDissolve1795000000001 implements MigrationInterface {
  name = "ReadsRevokeDissolve1795000000001";

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE "message_reads"`);
    await qr.query(`ALTER TABLE "messages" DROP COLUMN "hidden"`);
  }
}
