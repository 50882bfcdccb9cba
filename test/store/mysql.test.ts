// MySQL/MariaDB: the server from TLIM_TEST_MYSQL_URL must be reachable; if it is not, these tests
// fail, they are never skipped (docs/architecture.md "One store contract; a missing server fails the tests").
import mysql from "mysql2/promise";
import { describe, expect, it } from "vitest";
import { schemaDrift } from "../support/schema-drift.js";
import { GroupCommitWriter } from "../../src/core/writer.js";
import { openStore } from "../../src/store/open.js";
import { migrationStatus, runMigrations } from "../../src/store/sql/migrations/run.js";
import { chatConvId, type Store } from "../../src/store/types.js";
import { createTestDatabase, type TestDatabase } from "../support/mysql.js";
import { chat, describeStoreContract } from "./contract.js";
import { ALL_MIGRATIONS, checkRetentionIndexesDropped, checkUpgradeFromInit, purgeStatements } from "./upgrade.js";

describeStoreContract(
  "MySQL/MariaDB",
  async () => {
    const db = await createTestDatabase("store");
    try {
      const store = await openStore(db.url, { migrate: true });
      return {
        store,
        second: () => openStore(db.url),
        cleanup: async () => {
          await store.close();
          await db.drop();
        },
      };
    } catch (err) {
      await db.drop();
      throw err;
    }
  },
  { multiInstance: true },
);

async function withDb(fn: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createTestDatabase("schema");
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

/** A migrated store on a fresh database, closed afterwards. */
function withStore(fn: (store: Store, url: string) => Promise<void>): Promise<void> {
  return withDb(async ({ url }) => {
    const store = await openStore(url, { migrate: true });
    try {
      await fn(store, url);
    } finally {
      await store.close();
    }
  });
}

async function raw<T>(url: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection(url);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe("MySQL/MariaDB schema and connection", () => {
  it("migrates on request only, once", () =>
    withDb(async ({ url }) => {
      await expect(openStore(url)).rejects.toThrow(/needs migrations \(Init1795000000000, ReadsRevokeDissolve1795000000001, HttpApi1795000000002, Delivery1795000000003, DropRetentionIndexes1795000000005\).*tlim migrate/);
      expect(await migrationStatus(url)).toEqual({ applied: [], pending: ALL_MIGRATIONS });
      expect(await runMigrations(url)).toEqual(ALL_MIGRATIONS);
      expect(await migrationStatus(url)).toEqual({ applied: ALL_MIGRATIONS, pending: [] });
      expect(await runMigrations(url)).toEqual([]);
    }));

  it("upgrades a database created by the Init migration, keeping its rows", () => withDb(({ url }) => checkUpgradeFromInit(url)));

  it("drops the created_at indexes an earlier build's retention migration made", () =>
    withDb(({ url }) => checkRetentionIndexesDropped(url, () => schemaDrift(url))));

  it("has exactly the schema of the entities after the migrations (no drift)", () =>
    withDb(async ({ url }) => {
      await runMigrations(url);
      expect(await schemaDrift(url)).toEqual([]);
    }));

  it("dissolve's inbox purge and the write path's lookups use an index, never a scan of every inbox", () =>
    withDb(async ({ url }) => {
      await runMigrations(url);
      await raw(url, async (c) => {
        const plan = async (sql: string) => (await c.query<mysql.RowDataPacket[]>(`EXPLAIN ${sql}`))[0][0]!;
        const inbox = await plan("DELETE FROM inbox WHERE user_id IN ('a', 'b') AND conv_id = 'session:s' AND conv_seq <> 3");
        expect(inbox.type).not.toBe("ALL");
        expect(String(inbox.key)).toMatch(/PRIMARY|IDX_inbox_user_conv/);
        const messages = await plan("DELETE FROM messages WHERE conv_id = 'session:s' AND seq <> 3");
        expect(messages.type).not.toBe("ALL");
        const reads = await plan("DELETE FROM message_reads WHERE conv_id = 'session:s'");
        expect(reads.key).toBe("IDX_message_reads_conv");
        // Retention reads and deletes by primary key only, in key order, never sorting
        // (src/store/purge.ts): every statement the purge issues, as the adapter builds it. On
        // empty tables MariaDB plans anything as a scan (it costs nothing): give them rows first.
        const store = await openStore(url);
        try {
          for (let i = 0; i < 20; i++) {
            const sent = Array.from({ length: 10 }, (_, j) => chat(`a${i}`, `b${j}`));
            await store.commitBatch(sent);
            await store.commitBatch(sent.map((m) => chat(m.msgTo, m.msgFrom, { hidden: true, effects: { reads: [{ author: m.msgFrom, msgId: m.msgId, status: 2 }] } })));
          }
        } finally {
          await store.close();
        }
        await c.query("ANALYZE TABLE conversations, messages, user_inbox, inbox, message_reads");
        const purge = purgeStatements("mysql");
        expect(purge.length).toBeGreaterThanOrEqual(8);
        for (const s of purge) {
          const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: `EXPLAIN ${s.sql}`, values: s.params as unknown[] });
          const p = rows[0]!;
          expect(p.key, s.sql).toBe("PRIMARY");
          // The first page of keys walks the primary key from its start (a LIMIT bounds it).
          expect(/\bWHERE\b/.test(s.sql) ? ["range", "ref", "const"] : ["index"], s.sql).toContain(p.type);
          expect(String(p.Extra), s.sql).not.toMatch(/filesort/);
        }
      });
    }));

  it("is utf8mb4 everywhere, binary collation, MEDIUMTEXT bodies", () =>
    withDb(async ({ url }) => {
      await runMigrations(url);
      const name = new URL(url).pathname.slice(1);
      await raw(url, async (c) => {
        const [tables] = await c.query<mysql.RowDataPacket[]>(
          "SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> 'tlim_migrations'",
          [name],
        );
        expect(tables.length).toBe(14);
        for (const t of tables) expect(t.TABLE_COLLATION).toBe("utf8mb4_bin");
        const [cols] = await c.query<mysql.RowDataPacket[]>(
          "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND CHARACTER_SET_NAME IS NOT NULL AND TABLE_NAME <> 'tlim_migrations'",
          [name],
        );
        expect(cols.length).toBeGreaterThan(30);
        for (const col of cols) expect([col.TABLE_NAME, col.COLUMN_NAME, col.CHARACTER_SET_NAME, col.COLLATION_NAME]).toEqual([col.TABLE_NAME, col.COLUMN_NAME, "utf8mb4", "utf8mb4_bin"]);
        expect(cols.find((col) => col.TABLE_NAME === "messages" && col.COLUMN_NAME === "body")?.DATA_TYPE).toBe("mediumtext");
      });
    }));

  it("works with synchronize (tests only)", () =>
    withDb(async ({ url }) => {
      const store = await openStore(url, { synchronize: true });
      try {
        const [o] = await store.commitBatch([chat("a", "b", { body: "[\"😀\"]" })]);
        expect(o).toMatchObject({ status: "stored", message: { seq: 1, body: "[\"😀\"]" } });
      } finally {
        await store.close();
      }
    }));

  it("leaves revoked messages out of history and inbox, but finds them", () =>
    withStore(async (store, url) => {
      const ms = [chat("a", "b"), chat("a", "b"), chat("b", "a")];
      await store.commitBatch(ms);
      await raw(url, (c) => c.query("UPDATE messages SET revoked = 1 WHERE msg_id = ?", [ms[1]!.msgId]));
      const h = await store.history(chatConvId("a", "b"), 0, 10);
      expect(h.total).toBe(2);
      expect(h.items.map((m) => m.seq)).toEqual([3, 1]);
      expect((await store.inboxAfter("b", 0, 10)).map((i) => i.inboxSeq)).toEqual([1, 3]);
      expect(await store.findMessage("a", ms[1]!.msgId)).toMatchObject({ seq: 2, revoked: true });
    }));

  it("recreates counter rows deleted behind its back (it remembers which rows exist)", () =>
    withStore(async (store, url) => {
      await store.commitBatch([chat("a", "b"), chat("c", "d")]); // the store now knows these counter rows
      // A manual purge of one conversation and its users' inbox heads, rows and counters.
      await raw(url, async (c) => {
        await c.query("DELETE FROM inbox WHERE user_id IN ('a', 'b')");
        await c.query("DELETE FROM messages WHERE conv_id = ?", [chatConvId("a", "b")]);
        await c.query("DELETE FROM conversations WHERE conv_id = ?", [chatConvId("a", "b")]);
        await c.query("DELETE FROM user_inbox WHERE user_id IN ('a', 'b')");
      });
      const out = await store.commitBatch([chat("a", "b"), chat("c", "d")]);
      expect(out.map((o) => o.status === "stored" && [o.message.seq, o.inbox.map((r) => r.inboxSeq)])).toEqual([[1, [1, 1]], [2, [2, 2]]]);
    }));

  it("keeps arrival order per conversation when the writer pipelines batches", () =>
    withStore(async (store) => {
      let inFlight = 0;
      let most = 0;
      const commitBatch = store.commitBatch.bind(store);
      store.commitBatch = async (batch, opts) => {
        most = Math.max(most, ++inFlight);
        try {
          return await commitBatch(batch, opts);
        } finally {
          inFlight--;
        }
      };
      const writer = new GroupCommitWriter(store, { maxBatch: 40, maxInFlight: 2 });
      // 8 senders × 150 messages to the same peer, submitted in a known order, faster than commits.
      const sent = Array.from({ length: 1200 }, (_, i) => chat(`s${i % 8}`, "peer"));
      const outcomes = await Promise.all(sent.map((m) => writer.submit(m)));
      expect(most).toBe(2);
      const bySender = new Map<string, number[]>();
      for (const o of outcomes) {
        if (o.status !== "stored") throw new Error(`not stored: ${o.status}`);
        bySender.set(o.message.msgFrom, [...(bySender.get(o.message.msgFrom) ?? []), o.message.seq]);
      }
      for (const seqs of bySender.values()) expect(seqs).toEqual(Array.from({ length: 150 }, (_, k) => k + 1));
      // The shared peer's inbox is numbered in arrival order across all conversations.
      const inbox = outcomes.map((o) => (o.status === "stored" ? o.inbox.find((r) => r.userId === "peer")!.inboxSeq : 0));
      expect(inbox).toEqual(Array.from({ length: 1200 }, (_, k) => k + 1));
    }));

  it("runs a pipelined batch again, in order, when another instance's duplicate fails it after its locks", () =>
    withStore(async (store, url) => {
      const other = await mysql.createConnection(url);
      try {
        // Another instance is storing (s, dup) right now: its row is inserted, not yet committed.
        await other.query("START TRANSACTION");
        await other.query(
          `INSERT INTO messages (conv_id, seq, msg_id, msg_from, msg_to, msg_type, msg_time, body, session_id, compress, encode, encrypt, version, created_at, revoked, hidden)
           VALUES ('chat:s:x', 1, 'dup', 's', 'x', 'MTT-000', '1', '[{"text":"theirs"}]', NULL, '0', '0', '0', '2.1.0', 1, 0, 0)`,
        );
        const settled: string[] = [];
        const writer = new GroupCommitWriter(store, { maxBatch: 2, maxInFlight: 2 }, {
          committed: (o) => o.status === "stored" && settled.push(`${o.message.msgId}#${o.message.seq}`),
        });
        // Batch 1: (s, a) and (s, dup); batch 2: (s, b) and (s, c): all to the same peer.
        const sent = ["a", "dup", "b", "c"].map((id) => chat("s", "peer", { msgId: id }));
        const outcomes = Promise.all(sent.map((m) => writer.submit(m)));
        // Batch 1 now waits on the unique (msg_from, msg_id) index; batch 2 waits for batch 1.
        await new Promise((r) => setTimeout(r, 300));
        await other.query("COMMIT"); // batch 1's insert fails with ER_DUP_ENTRY, after its locks
        const out = await outcomes;
        expect(out.map((o) => o.status)).toEqual(["stored", "duplicate", "stored", "stored"]);
        expect(out.map((o) => (o.status === "stored" ? o.message.seq : o.status === "duplicate" ? `theirs:${o.message.convId}` : "?"))).toEqual([1, "theirs:chat:s:x", 2, 3]);
        // Numbered in arrival order, delivered in numbering order.
        expect(settled).toEqual(["a#1", "b#2", "c#3"]);
        expect(writer.stats.reruns).toBeGreaterThanOrEqual(1);
        expect(writer.stats.failures).toBe(0);
        const [rows] = await other.query("SELECT msg_id, seq FROM messages WHERE conv_id = ? ORDER BY seq", [chatConvId("s", "peer")]);
        expect(rows).toEqual([{ msg_id: "a", seq: 1 }, { msg_id: "b", seq: 2 }, { msg_id: "c", seq: 3 }]);
      } finally {
        await other.end();
      }
    }));

  it("fails fast when the server cannot be reached", async () => {
    const started = Date.now();
    await expect(openStore("mysql://root@127.0.0.1:1/nope")).rejects.toThrow(/cannot open database/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
