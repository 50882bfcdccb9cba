// Upgrading a database that has only the Init migration (the schema tlim shipped first) with
// data in it: the later migrations apply, the old rows read as before (hidden = false), and the
// conversation lists are backfilled from them.
import { DataSource } from "typeorm";
import { expect } from "vitest";
import { openStore } from "../../src/store/open.js";
import { createDataSource, parseDbUrl } from "../../src/store/sql/datasource.js";
import { migrationsFor } from "../../src/store/sql/migrations/index.js";
import { migrationStatus, runMigrations } from "../../src/store/sql/migrations/run.js";
import { chatConvId } from "../../src/store/types.js";
import { chat } from "./contract.js";
import { isGate, isMany, type Program, type Row, type Stmt } from "../../src/store/sql/dialect.js";
import { MysqlDialect } from "../../src/store/sql/adapters/mysql.js";
import { SqliteDialect } from "../../src/store/sql/adapters/sqlite.js";
import { purgeDeleteProgram, purgePlanProgram } from "../../src/store/sql/retention.js";

export const INIT = "Init1795000000000";
export const READS = "ReadsRevokeDissolve1795000000001";
export const HTTP_API = "HttpApi1795000000002";
export const DELIVERY = "Delivery1795000000003";
export const DROP_RETENTION = "DropRetentionIndexes1795000000005";
export const ALL_MIGRATIONS = [INIT, READS, HTTP_API, DELIVERY, DROP_RETENTION];

export async function checkUpgradeFromInit(url: string): Promise<void> {
  const base = createDataSource(url);
  const initOnly = new DataSource({ ...base.options, migrations: migrationsFor(parseDbUrl(url).kind).slice(0, 1) });
  await initOnly.initialize();
  try {
    expect((await initOnly.runMigrations({ transaction: "each" })).map((m) => m.name)).toEqual([INIT]);
    // One message as the Init schema stored it, with its counters and inbox entry.
    const conv = chatConvId("alice", "bob");
    await initOnly.query("INSERT INTO conversations (conv_id, kind, last_seq, created_at, updated_at) VALUES (?, 'chat', 1, 1, 1)", [conv]);
    await initOnly.query(
      `INSERT INTO messages (conv_id, seq, msg_id, msg_from, msg_to, msg_type, msg_time, body, session_id, compress, encode, encrypt, version, created_at, revoked)
       VALUES (?, 1, 'old-1', 'alice', 'bob', 'MTT-000', '1', '[]', NULL, '0', '0', '0', '1.0', 1, 0)`,
      [conv],
    );
    await initOnly.query("INSERT INTO user_inbox (user_id, last_seq) VALUES ('bob', 1)");
    await initOnly.query("INSERT INTO inbox (user_id, seq, conv_id, conv_seq, created_at) VALUES ('bob', 1, ?, 1, 1)", [conv]);
    // A session with a message but no modify time (the Init code never bumped it), and one without.
    for (const id of ["s-old", "s-quiet"]) {
      await initOnly.query(
        "INSERT INTO sessions (session_id, session_type, session_name, session_user, session_pic, session_valid, session_create_time, session_modify_time, session_delete_time) VALUES (?, 0, 'old', 'alice', NULL, 0, '1', NULL, NULL)",
        [id],
      );
    }
    await initOnly.query(
      `INSERT INTO messages (conv_id, seq, msg_id, msg_from, msg_to, msg_type, msg_time, body, session_id, compress, encode, encrypt, version, created_at, revoked)
       VALUES ('session:s-old', 1, 'old-2', 'alice', 's-old', 'MTS-000', '1', '[]', 's-old', '0', '0', '0', '1.0', 1700000000007, 0)`,
    );
  } finally {
    await initOnly.destroy();
  }
  expect(await migrationStatus(url)).toEqual({ applied: [INIT], pending: [READS, HTTP_API, DELIVERY, DROP_RETENTION] });
  await expect(openStore(url)).rejects.toThrow(new RegExp(`needs migrations \\(${READS}, ${HTTP_API}, ${DELIVERY}, ${DROP_RETENTION}\\)`));
  expect(await runMigrations(url)).toEqual([READS, HTTP_API, DELIVERY, DROP_RETENTION]);

  const store = await openStore(url);
  try {
    const old = await store.findMessage("alice", "old-1");
    expect(old).toMatchObject({ seq: 1, hidden: false, revoked: false });
    expect((await store.history(chatConvId("alice", "bob"), 0, 10)).total).toBe(1);
    const receipt = chat("bob", "alice", { hidden: true, effects: { reads: [{ author: "alice", msgId: "old-1", status: 2 }] } });
    const [o] = await store.commitBatch([receipt]);
    expect(o).toMatchObject({ status: "stored", message: { seq: 2, hidden: true }, inbox: [{ userId: "alice", inboxSeq: 1 }, { userId: "bob", inboxSeq: 2 }] });
    expect(await store.readCounts("alice", ["old-1"])).toEqual({ "old-1": 1 });
    expect((await store.inboxAfter("bob", 0, 10)).map((i) => [i.message.msgId, i.message.hidden])).toEqual([["old-1", false], [receipt.msgId, true]]);
    // The 1:1 list and the sessions' activity are backfilled from the stored messages.
    expect(await store.chatsOf("alice")).toEqual([{ userId: "alice", peerId: "bob", createdAt: 1, updatedAt: 1 }]);
    expect((await store.chatsOf("bob")).map((c) => c.peerId)).toEqual(["alice"]);
    expect((await store.sessionGet("s-old"))?.sessionModifyTime).toBe("1700000000007");
    expect((await store.sessionGet("s-quiet"))?.sessionModifyTime).toBeNull();
  } finally {
    await store.close();
  }

  // The migrations can be reverted (and applied again): the Init schema comes back.
  const ds = createDataSource(url);
  await ds.initialize();
  try {
    await ds.undoLastMigration({ transaction: "each" }); // DropRetentionIndexes: nothing to undo
    await ds.undoLastMigration({ transaction: "each" });
    await expect(ds.query("SELECT COUNT(*) AS n FROM online_devices")).rejects.toThrow();
    await ds.undoLastMigration({ transaction: "each" });
    await expect(ds.query("SELECT COUNT(*) AS n FROM chats")).rejects.toThrow();
    await expect(ds.query("SELECT COUNT(*) AS n FROM users")).rejects.toThrow();
    await ds.undoLastMigration({ transaction: "each" });
    const names = (await ds.query(ds.options.type === "better-sqlite3"
      ? "SELECT name FROM pragma_table_info('messages')"
      : "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'messages'")) as Array<{ name: string }>;
    expect(names.map((r) => r.name)).not.toContain("hidden");
    await expect(ds.query("SELECT COUNT(*) AS n FROM message_reads")).rejects.toThrow();
  } finally {
    await ds.destroy();
  }
  expect(await migrationStatus(url)).toEqual({ applied: [INIT], pending: [READS, HTTP_API, DELIVERY, DROP_RETENTION] });
  expect(await runMigrations(url)).toEqual([READS, HTTP_API, DELIVERY, DROP_RETENTION]);
}

/**
 * Every statement one purge call issues (src/store/sql/retention.ts), as the adapter of `kind`
 * builds it, with its parameters: both phases, from the start and from a cursor, and the deletes.
 */
export function purgeStatements(kind: "sqlite" | "mysql"): Stmt[] {
  const d = kind === "sqlite" ? new SqliteDialect({} as DataSource) : new MysqlDialect({} as DataSource);
  const out: Stmt[] = [];
  const drive = <T>(program: Program<T>): T => {
    let step = program.next([]);
    while (!step.done) {
      const s = step.value;
      const stmts = isMany(s) ? s.many : isGate(s) ? [] : [s];
      out.push(...stmts);
      const answer = (x: Stmt): Row[] => {
        if (/FROM conversations/.test(x.sql)) return [{ conv_id: "chat:a:b" }];
        if (/FROM user_inbox/.test(x.sql)) return [{ user_id: "bob" }];
        if (/FROM messages/.test(x.sql)) return [{ seq: 1, msg_from: "a", msg_id: "m1", created_at: 0 }];
        if (/FROM inbox/.test(x.sql)) return [{ seq: 1, conv_id: "chat:a:b", created_at: 0 }];
        return [{ n: 0 }];
      };
      step = program.next((isMany(s) ? s.many.map(answer) : isGate(s) ? [] : answer(s)) as Row[]);
    }
    return step.value;
  };
  const req = { chatBefore: 10, sessionBefore: 10, limit: 500 };
  for (const cursor of [null, { phase: "messages", key: "chat:a:a", seq: null }, { phase: "inbox", key: "", seq: 0 }, { phase: "inbox", key: "bob", seq: 7 }] as const) {
    drive(purgePlanProgram(d, { ...req, cursor }));
  }
  drive(purgeDeleteProgram(d, { messages: [{ convId: "chat:a:b", seq: 1, msgFrom: "a", msgId: "m1" }], inbox: [{ userId: "bob", seq: 1 }], next: null }));
  return out;
}

/**
 * A database migrated by an earlier build whose Retention1795000000004 migration added two
 * created_at indexes: the next `tlim migrate` drops them, and the schema is then the entities'
 * exactly (that migration's record stays, listed as applied).
 */
export async function checkRetentionIndexesDropped(url: string, drift: () => Promise<unknown[]>): Promise<void> {
  const sqlite = url.startsWith("sqlite:");
  const base = createDataSource(url);
  const upToDelivery = new DataSource({ ...base.options, migrations: migrationsFor(parseDbUrl(url).kind).slice(0, 4) });
  await upToDelivery.initialize();
  const indexes = async (ds: DataSource) => ((await ds.query(sqlite
    ? "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('IDX_messages_created', 'IDX_inbox_created')"
    : "SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME IN ('IDX_messages_created', 'IDX_inbox_created')")) as unknown[]).length;
  try {
    expect((await upToDelivery.runMigrations({ transaction: "each" })).map((m) => m.name)).toEqual([INIT, READS, HTTP_API, DELIVERY]);
    // What the earlier build's migration did.
    const q = (s: string) => (sqlite ? s : s.replaceAll('"', "`"));
    await upToDelivery.query(q('CREATE INDEX "IDX_messages_created" ON "messages" ("created_at")'));
    await upToDelivery.query(q('CREATE INDEX "IDX_inbox_created" ON "inbox" ("created_at")'));
    await upToDelivery.query(q(`INSERT INTO "tlim_migrations" ("timestamp", "name") VALUES (1795000000004, 'Retention1795000000004')`));
    expect(await indexes(upToDelivery)).toBe(2);
  } finally {
    await upToDelivery.destroy();
  }
  expect(await migrationStatus(url)).toEqual({ applied: [INIT, READS, HTTP_API, DELIVERY, "Retention1795000000004"], pending: [DROP_RETENTION] });
  expect(await runMigrations(url)).toEqual([DROP_RETENTION]);
  expect(await migrationStatus(url)).toEqual({ applied: [INIT, READS, HTTP_API, DELIVERY, "Retention1795000000004", DROP_RETENTION], pending: [] });
  const ds = createDataSource(url);
  await ds.initialize();
  try {
    expect(await indexes(ds)).toBe(0);
  } finally {
    await ds.destroy();
  }
  expect(await drift()).toEqual([]);
  // Running it on a database without them changes nothing (as on every new database).
  expect(await runMigrations(url)).toEqual([]);
}
