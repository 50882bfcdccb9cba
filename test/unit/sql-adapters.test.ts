// Every statement the Oracle and SQL Server adapters can issue, rendered and checked offline
// (neither database runs on the machines tlim is developed on; docs/databases.md).
//
// Each Store method is called, with inputs that take every branch of its program (1:1 and session
// batches, duplicates, revokes, read receipts, a dissolve, chunks past the IN-list and parameter
// limits), on a SqlStore whose adapter records each statement instead of sending it. A small
// responder answers the reads the programs depend on (counter rows, sessions and members) so the
// write path runs to its commit. Each recorded statement is then rewritten exactly as the adapter
// sends it and checked: SQL Server by a T-SQL parser plus rules, Oracle by rules for what it
// refuses (test/support/sql-checks.ts). The same recording runs for SQLite and MySQL as a control.
import { describe, expect, it } from "vitest";
import type { DataSource } from "typeorm";
import { MysqlDialect } from "../../src/store/sql/adapters/mysql.js";
import { OracleDialect, oracleSql } from "../../src/store/sql/adapters/oracle.js";
import { SqliteDialect } from "../../src/store/sql/adapters/sqlite.js";
import { MSSQL_MAX_PARAMS, SqlServerDialect, sqlServerBatch } from "../../src/store/sql/adapters/sqlserver.js";
import { isGate, isMany, many, stmt, type Dialect, type Program, type Row, type Stmt } from "../../src/store/sql/dialect.js";
import { SCHEMA } from "../../src/store/sql/migrations/schema-1795000000003.js";
import { oracleTable } from "../../src/store/sql/migrations/oracle/1795000000000-Init.js";
import { sqlServerTable } from "../../src/store/sql/migrations/mssql/1795000000000-Init.js";
import { SqlStore } from "../../src/store/sql/sqlStore.js";
import { createDataSource, parseDbUrl } from "../../src/store/sql/datasource.js";
import { openStore } from "../../src/store/open.js";
import { chatConvId, sessionConvId, type NewMessage, type Store } from "../../src/store/types.js";
import { checkOracle, checkTsql } from "../support/sql-checks.js";

/** Answers the reads a program's later steps depend on; everything else reads no rows. */
function respond(s: Stmt, members: readonly string[]): Row[] {
  const sql = s.sql;
  let m = /^SELECT (conv_id|user_id), last_seq FROM (conversations|user_inbox)/.exec(sql);
  if (m) return s.params.map((id) => ({ [m![1]!]: id, last_seq: 0 }));
  if (/^SELECT session_id, session_valid, session_delete_time FROM sessions/.test(sql)) {
    return s.params.map((id) => ({ session_id: id, session_valid: 0, session_delete_time: null }));
  }
  if (/^SELECT session_id, user_id FROM session_members/.test(sql)) {
    return s.params.flatMap((id) => members.map((u) => ({ session_id: id, user_id: u })));
  }
  // Retention's walk: keys, then rows old enough to purge (more than one batch of them).
  if (/^SELECT conv_id FROM conversations/.test(sql)) {
    return [{ conv_id: "chat:alice:bob" }, { conv_id: "session:s1" }];
  }
  if (/^SELECT seq, msg_from, msg_id, created_at FROM messages/.test(sql)) {
    return Array.from({ length: 600 }, (_, i) => ({ seq: i + 1, msg_from: "alice", msg_id: `m${i}`, created_at: 0 }));
  }
  if (/^SELECT user_id FROM user_inbox/.test(sql)) return members.map((u) => ({ user_id: u }));
  if (/^SELECT seq, conv_id, created_at FROM inbox/.test(sql)) {
    return Array.from({ length: 600 }, (_, i) => ({ seq: i + 1, conv_id: i % 2 ? "chat:alice:bob" : "session:s1", created_at: 0 }));
  }
  m = /^SELECT style_id/.exec(sql);
  if (m) return [{ style_id: "s1", style_name: "theme", style_value: 1, user_id: "alice" }];
  return [];
}

/** A dialect that records what it is asked to run (the adapter's statements, before its rewrite). */
class Recording {
  readonly stmts: Stmt[] = [];
  members: string[] = ["alice", "bob", "carol"];
  constructor(readonly adapter: Dialect) {}

  dialect(): Dialect {
    const rec = this;
    return Object.assign(Object.create(this.adapter) as Dialect, {
      async run<T>(program: () => Program<T>): Promise<T> {
        const p = program();
        let step = p.next();
        while (!step.done) {
          const s = step.value;
          if (isGate(s)) {
            await s.gate;
            step = p.next([]);
          } else if (isMany(s)) {
            rec.stmts.push(...s.many);
            step = p.next(s.many.map((x) => respond(x, rec.members)) as unknown as Row[]);
          } else {
            rec.stmts.push(s);
            step = p.next(respond(s, rec.members));
          }
        }
        return step.value;
      },
    });
  }
}

const fakeDs = {} as DataSource;

function msg(from: string, to: string, id: string, extra: Partial<NewMessage> = {}): NewMessage {
  return {
    convId: chatConvId(from, to), msgId: id, msgFrom: from, msgTo: to, msgType: "MTT-1", msgTime: "1700000000000",
    body: JSON.stringify([{ text: "x".repeat(40) }]), sessionId: null, compress: "0", encode: "0", encrypt: "", version: "1",
    recipients: [to, from], ...extra,
  };
}

function sessionMsg(from: string, sessionId: string, id: string, extra: Partial<NewMessage> = {}): NewMessage {
  return { ...msg(from, sessionId, id), convId: sessionConvId(sessionId), sessionId, recipients: { sessionMembersOf: sessionId }, msgType: "MTS-1", ...extra };
}

/** Calls every Store method, through every branch worth a distinct statement. */
async function exercise(store: Store): Promise<void> {
  const many = <T,>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
  await store.commitBatch([msg("alice", "bob", "m1"), msg("bob", "alice", "m2"), msg("alice", "bob", "m1")]);
  await store.commitBatch([sessionMsg("alice", "s1", "m3"), sessionMsg("bob", "s2", "m4", { hidden: true })]);
  await store.commitBatch([
    msg("alice", "bob", "r1", { msgType: "MTT-101", effects: { revoke: [{ msgFrom: "alice", msgId: "m1" }] } }),
    msg("bob", "alice", "rr", { msgType: "MTT-100", hidden: true, effects: { reads: [{ author: "alice", msgId: "m1", status: 1 }, { author: "alice", msgId: "m9", status: 2 }] } }),
    sessionMsg("alice", "s1", "d1", { msgType: "MTS-107", effects: { dissolve: true, reads: [] } }),
  ]);
  // Past the IN-list chunk (500) and SQL Server's parameter limit: 1,200 messages, 1,200 peers.
  await store.commitBatch(many(1200, (i) => msg("alice", `u${i}`, `big${i}`)), { locked: () => undefined, ready: Promise.resolve() });
  await store.inboxAfter("alice", 0, 50);
  await store.inboxSeqOf("alice", chatConvId("alice", "bob"), 1);
  await store.inboxSeqOfMsgId("alice", "m1");
  await store.cursorGet("alice", "web");
  await store.cursorAdvance([{ userId: "alice", device: "web", seq: 3 }, { userId: "bob", device: "phone", seq: 1 }]);
  await store.cursorAdvance(many(700, (i) => ({ userId: `u${i}`, device: "d", seq: i })));
  await store.cursorsOf("alice");
  await store.onlineDevicePut({ userId: "alice", resource: "laptop", via: "" });
  await store.onlineDeviceRemove("alice", "laptop");
  await store.onlineDevices();
  await store.findMessage("alice", "m1");
  await store.findMessageInConv(chatConvId("alice", "bob"), "m1");
  await store.messagesByMsgId("m1");
  await store.history(chatConvId("alice", "bob"), 0, 20);
  await store.history(sessionConvId("s1"), 5, 20, { msgType: "MTS-1", beforeSeq: 40 });
  await store.conversationClear(chatConvId("alice", "bob"), ["alice", "bob"]);
  await store.readsOf("alice", "m1");
  await store.readCounts("alice", many(700, (i) => `m${i}`));
  await store.readBy("alice", many(700, (i) => ({ author: `u${i % 7}`, msgId: `m${i}` })));
  const session = { sessionId: "s9", sessionType: 1, sessionName: "team", sessionUser: "alice", sessionPic: null, sessionValid: 0, sessionCreateTime: "1", sessionModifyTime: null, sessionDeleteTime: null };
  const member = (u: string) => ({ sessionId: "s9", userId: u, userName: u, acctLogin: u, pic: null, ts: "1" });
  await store.sessionCreate(session, many(600, (i) => member(`u${i}`)));
  await store.sessionGet("s9");
  await store.sessionMembers("s9");
  await store.sessionUpdate("s9", { sessionName: "t2", sessionPic: "p", sessionValid: 1, sessionModifyTime: "2" });
  await store.sessionDelete("s9");
  await store.sessionMembersPut("s9", many(600, (i) => member(`u${i}`)));
  await store.sessionMembersRemove("s9", many(700, (i) => `u${i}`));
  await store.sessionsOf("alice", 0);
  await store.chatsOf("alice");
  const user = (u: string) => ({ userId: u, userName: u, acctLogin: u, userEmail: null, picUrl: null, appPushCode: null, updatedAt: 1 });
  await store.usersPut(many(700, (i) => user(`u${i}`)));
  await store.usersRemove(many(700, (i) => `u${i}`));
  await store.usersGet(many(700, (i) => `u${i}`));
  await store.userPushCodeSet("alice", "code");
  await store.userPushCodeSet("alice", null);
  await store.pubactAdd({ id: "p1", title: "t", content: "c".repeat(10_000), userId: "alice", ts: "1", sessionId: "s1" });
  await store.pubactsOf("s1");
  await store.pubactUpdate("p1", { title: "t2", content: "c2" });
  await store.pubactDelete("p1");
  await store.stylePut({ styleId: "s1", styleName: "theme", styleValue: 1, userId: "alice" });
  await store.stylesOf("alice");
  await store.fileAdd({ fileId: "f1", fileName: "a.png", contentType: "image/png", size: 10, userId: "alice", createdAt: 1 });
  await store.fileGet("f1");
  // Every shape of the retention walk: from the start, within a key, after a key; both phases.
  for (const cursor of [null, { phase: "messages", key: "chat:a:b", seq: 0 }, { phase: "inbox", key: "", seq: 0 }, { phase: "inbox", key: "bob", seq: 7 }, { phase: "inbox", key: "bob", seq: null }] as const) {
    await store.purgeBefore({ chatBefore: 1000, sessionBefore: 2000, limit: 500, cursor });
    await store.purgeBefore({ chatBefore: 1000, sessionBefore: null, limit: 500, cursor });
  }
  await store.ping();
}

async function record(adapter: Dialect): Promise<Stmt[]> {
  const rec = new Recording(adapter);
  await exercise(new SqlStore(fakeDs, rec.dialect()));
  return rec.stmts;
}

/** Oracle's NOT NULL columns, as its Init migration creates them. */
function oracleNotNull(): Record<string, Set<string>> {
  const out: Record<string, Set<string>> = {};
  for (const t of SCHEMA) {
    const ddl = oracleTable(t)[0]!;
    out[t.name] = new Set(t.cols.filter((c) => new RegExp(`^\\s+"?${c.name}"? [^\\n]* NOT NULL,?$`, "im").test(ddl)).map((c) => c.name));
  }
  return out;
}

const distinct = (stmts: readonly Stmt[]) => [...new Map(stmts.map((s) => [s.sql, s])).values()];

describe("offline statement checks", () => {
  it("SQL Server: every statement the adapter issues parses as T-SQL and stays within 2,098 parameters", async () => {
    const stmts = await record(new SqlServerDialect(fakeDs));
    expect(distinct(stmts).length).toBeGreaterThan(60);
    const problems: string[] = [];
    for (const s of stmts) {
      const { sql, params } = sqlServerBatch([s]);
      expect(params.length).toBeLessThanOrEqual(MSSQL_MAX_PARAMS);
      for (const p of checkTsql(sql, params)) problems.push(`${p}\n    in: ${sql.slice(0, 300)}`);
    }
    expect([...new Set(problems)]).toEqual([]);
  });

  it("SQL Server: the commit's batches (one round trip per step) parse too", () => {
    // Several statements as the adapter joins them, numbered across the batch.
    const d = new SqlServerDialect(fakeDs);
    const batch = sqlServerBatch([
      { sql: d.lockedSelect("conv_id, last_seq", "conversations", "conv_id IN (?, ?)", "conv_id"), params: ["a", "b"] },
      ...d.upsertRows("chats", ["user_id", "peer_id", "created_at", "updated_at"], ["user_id", "peer_id"], [["a", "b", 1, 1], ["b", "a", 1, 1]], { updated_at: "new" }),
    ]);
    expect(batch.sql).toContain("@p2");
    expect(batch.params).toHaveLength(10);
    expect(checkTsql(batch.sql, batch.params)).toEqual([]);
  });

  it("Oracle: no statement breaks a rule Oracle enforces (binds, reserved words, IN lists, '' into NOT NULL, FROM dual…)", async () => {
    const stmts = await record(new OracleDialect(fakeDs));
    expect(distinct(stmts).length).toBeGreaterThan(60);
    const notNull = oracleNotNull();
    const problems: string[] = [];
    for (const s of stmts) {
      const sql = oracleSql(s.sql);
      for (const row of s.rows ?? [s.params]) {
        for (const p of checkOracle(sql, row, { notNull })) problems.push(`${p}\n    in: ${sql.slice(0, 300)}`);
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });

  it("Oracle: bulk writes use array binding, one statement per chunk", async () => {
    const stmts = await record(new OracleDialect(fakeDs));
    const bulk = stmts.filter((s) => s.rows);
    expect(bulk.length).toBeGreaterThan(10);
    for (const s of bulk) expect(s.params).toEqual([]);
    // 1,200 messages in one batch: two array-bound INSERTs (chunks of 1,000), not 1,200 statements.
    const inserts = stmts.filter((s) => /^INSERT INTO messages /.test(s.sql));
    expect(inserts.map((s) => s.rows!.length).sort((a, b) => a - b)).toContain(1000);
  });

  it("the Oracle and SQL Server schemas pass their checks", () => {
    const problems: string[] = [];
    for (const t of SCHEMA) {
      for (const sql of oracleTable(t)) problems.push(...checkOracle(sql, []));
      for (const sql of sqlServerTable(t)) problems.push(...checkTsql(sql, []));
    }
    expect(problems).toEqual([]);
  });

  it("the control: SQLite and MySQL record the same operations (nothing adapter-specific was skipped)", async () => {
    const sqlite = await record(new SqliteDialect(fakeDs));
    const mysql = await record(new MysqlDialect(fakeDs));
    const oracle = await record(new OracleDialect(fakeDs));
    const mssql = await record(new SqlServerDialect(fakeDs));
    // Same statements per operation, up to chunking: every adapter saw every kind of statement.
    // MERGE is how Oracle and SQL Server write an upsert or insert-if-missing; FROM dual is Oracle's.
    const kinds = (stmts: Stmt[]) => new Set(stmts.map((s) =>
      /^(\w+)(?: INTO)? (\w+)/.exec(s.sql.replace(/ FROM dual/, "").replace(/^MERGE/, "INSERT").replace(/^SELECT .*? FROM /, "SELECT "))?.slice(1).join(" ")));
    expect(kinds(oracle)).toEqual(kinds(sqlite));
    expect(kinds(mssql)).toEqual(kinds(mysql));
  });
});

describe("Oracle and SQL Server URLs and connections", () => {
  it("parses oracle://, mssql:// and sqlserver:// URLs (default ports, service name, TLS flags)", () => {
    expect(parseDbUrl("oracle://tlim:p%40ss@db.example:1522/FREEPDB1")).toEqual({ kind: "oracle", host: "db.example", port: 1522, user: "tlim", password: "p@ss", database: "FREEPDB1" });
    expect(parseDbUrl("oracle://tlim:x@db/ORCL")).toMatchObject({ port: 1521 });
    expect(parseDbUrl("mssql://sa:x@db/tlim")).toEqual({ kind: "mssql", host: "db", port: 1433, user: "sa", password: "x", database: "tlim", encrypt: true, trustServerCertificate: false });
    expect(parseDbUrl("sqlserver://sa:x@db:1444/tlim?encrypt=false&trustServerCertificate=true")).toMatchObject({ kind: "mssql", port: 1444, encrypt: false, trustServerCertificate: true });
    expect(() => parseDbUrl("mssql://sa:x@db/tlim?encrypt=maybe")).toThrow(/encrypt must be true or false/);
    expect(() => parseDbUrl("oracle://sa:secret@db/")).toThrow(/missing service name/);
    expect(() => parseDbUrl("oracle://sa:secret@db/")).not.toThrow(/secret/);
  });

  it("their entities are valid for TypeORM, and with no server openStore fails fast, naming the URL without its password", async () => {
    for (const url of ["oracle://tlim:secret@127.0.0.1:1/FREEPDB1", "mssql://sa:secret@127.0.0.1:1/tlim"]) {
      const ds = createDataSource(url);
      await (ds as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
      expect(ds.entityMetadatas).toHaveLength(SCHEMA.length);
      const started = Date.now();
      const err = await openStore(url).then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(/^cannot open database (oracle|mssql):\/\/\w+:\*\*\*@127\.0\.0\.1:1\//);
      expect(err?.message).not.toContain("secret");
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  });
});

describe("Oracle array binding", () => {
  it("fixes bind types per column: CLOB for bodies, NUMBER for numbers, VARCHAR sized in bytes, NULL-only columns as VARCHAR", async () => {
    const calls: Array<{ sql: string; rows: unknown[][]; opts: Record<string, unknown> }> = [];
    const oracledb = { OUT_FORMAT_OBJECT: 4002, DB_TYPE_CLOB: "CLOB", DB_TYPE_NUMBER: "NUMBER", DB_TYPE_VARCHAR: "VARCHAR" };
    const conn = {
      execute: async () => ({ rows: [] }),
      executeMany: async (sql: string, rows: unknown[][], opts: Record<string, unknown>) => void calls.push({ sql, rows, opts }),
      commit: async () => undefined,
      rollback: async () => undefined,
    };
    const ds = {
      driver: { oracle: oracledb },
      createQueryRunner: () => ({ connect: async () => conn, release: async () => undefined }),
    } as unknown as DataSource;
    const store = new SqlStore(ds, new OracleDialect(ds));
    await store.pubactAdd({ id: "p1", title: "tïtle", content: "c", userId: "alice", ts: "1", sessionId: "s1" });
    await store.fileAdd({ fileId: "f1", fileName: "a.png", contentType: "image/png", size: 10, userId: null, createdAt: 1 });
    expect(calls[0]!.sql).toBe('INSERT INTO pubacts (id, title, content, user_id, ts, session_id) VALUES (:1, :2, :3, :4, :5, :6)');
    expect(calls[0]!.opts).toMatchObject({ autoCommit: true });
    expect(calls[0]!.opts.bindDefs).toEqual([
      { type: "VARCHAR", maxSize: 2 }, { type: "VARCHAR", maxSize: 6 }, { type: "CLOB" }, { type: "VARCHAR", maxSize: 5 },
      { type: "VARCHAR", maxSize: 1 }, { type: "VARCHAR", maxSize: 2 },
    ]);
    expect(calls[1]!.sql).toBe('INSERT INTO files (file_id, file_name, content_type, "SIZE", user_id, created_at) VALUES (:1, :2, :3, :4, :5, :6)');
    expect(calls[1]!.opts.bindDefs).toEqual([
      { type: "VARCHAR", maxSize: 2 }, { type: "VARCHAR", maxSize: 5 }, { type: "VARCHAR", maxSize: 9 }, { type: "NUMBER" },
      { type: "VARCHAR", maxSize: 1 }, { type: "NUMBER" },
    ]);
  });
});

describe("Oracle commits", () => {
  it("commits a step whose last statement sends nothing (an empty array bind) explicitly, and never twice", async () => {
    const log: string[] = [];
    const conn = {
      execute: async (sql: string, _b: unknown, opts: Record<string, unknown>) => (log.push(`execute ${sql} autoCommit=${opts.autoCommit}`), { rows: [] }),
      executeMany: async (sql: string, _r: unknown, opts: Record<string, unknown>) => void log.push(`executeMany ${sql} autoCommit=${opts.autoCommit}`),
      commit: async () => void log.push("commit"),
      rollback: async () => void log.push("rollback"),
    };
    const ds = {
      driver: { oracle: { OUT_FORMAT_OBJECT: 4002, DB_TYPE_CLOB: "CLOB", DB_TYPE_NUMBER: "NUMBER", DB_TYPE_VARCHAR: "VARCHAR" } },
      createQueryRunner: () => ({ connect: async () => conn, release: async () => undefined }),
    } as unknown as DataSource;
    const d = new OracleDialect(ds);
    await d.run(function* () {
      yield* many([stmt("DELETE FROM inbox WHERE user_id = ?", "a"), { sql: "INSERT INTO inbox (user_id) VALUES (?)", params: [], rows: [] }], { commit: true });
    }, { tx: true });
    expect(log).toEqual(["execute DELETE FROM inbox WHERE user_id = :1 autoCommit=false", "commit"]);
    log.length = 0;
    await d.run(function* () {
      yield* many([stmt("DELETE FROM inbox WHERE user_id = ?", "a")], { commit: true });
    }, { tx: true });
    expect(log).toEqual(["execute DELETE FROM inbox WHERE user_id = :1 autoCommit=true"]);
  });
});

describe("SQL Server batches", () => {
  /** A stand-in for the mssql module: records each request, answers SELECTs like respond(). */
  function fakeMssql(fail?: RegExp) {
    const log: Array<{ sql: string; params: number; tx: boolean }> = [];
    const txLog: string[] = [];
    class Request {
      private readonly inputs: unknown[] = [];
      constructor(private readonly parent: { isTx?: boolean }) {}
      input(_name: string, v: unknown) {
        this.inputs.push(v);
      }
      async query(sql: string) {
        log.push({ sql, params: this.inputs.length, tx: this.parent.isTx === true });
        if (fail?.test(sql)) throw Object.assign(new Error("deadlock victim"), { number: 1205 });
        // Each statement of the batch; SELECTs get a record set built from their own parameters.
        const sets: Row[][] = [];
        for (const part of sql.split(/;\n/)) {
          if (!/^\s*SELECT\b/i.test(part)) continue;
          const params = [...part.matchAll(/@p(\d+)/g)].map((m) => this.inputs[Number(m[1])]);
          sets.push(respond({ sql: part.replace(/@p\d+/g, "?").replace(/ WITH \(UPDLOCK, ROWLOCK\)/, "").replace(/\[session_user\]/g, "session_user"), params }, ["alice", "bob"]));
        }
        return { recordsets: sets };
      }
    }
    const tx = { isTx: true, begin: async () => void txLog.push("begin"), commit: async () => void txLog.push("commit"), rollback: async () => void txLog.push("rollback") };
    const pool = { transaction: () => tx };
    const ds = { driver: { mssql: { Request }, obtainMasterConnection: async () => pool } } as unknown as DataSource;
    return { ds, log, txLog };
  }

  it("sends each step as few batches as 2,098 parameters allow, inside one transaction, and maps record sets to SELECTs", async () => {
    const { ds, log, txLog } = fakeMssql();
    const store = new SqlStore(ds, new SqlServerDialect(ds));
    const out = await store.commitBatch(Array.from({ length: 300 }, (_, i) => msg("alice", `peer${i}`, `x${i}`)));
    expect(out.every((o) => o.status === "stored")).toBe(true);
    expect(txLog).toEqual(["begin", "commit"]);
    expect(log[0]!.sql).toBe("SET XACT_ABORT ON"); // the first error ends the batch and the transaction
    expect(log.every((r) => r.tx && r.params <= MSSQL_MAX_PARAMS)).toBe(true);
    expect(log.length).toBeGreaterThan(3); // 300 × 16 message values alone need three requests
    for (const r of log) expect(checkTsql(r.sql, new Array(r.params).fill(0))).toEqual([]);
  });

  it("classifies a batch's failure by its first error (mssql throws the last one)", () => {
    const d = new SqlServerDialect({} as DataSource);
    // 2627: duplicate key; 3621: "the statement has been terminated", which follows it.
    expect(d.isDuplicateKey(Object.assign(new Error("terminated"), { number: 3621, precedingErrors: [{ number: 2627 }] }))).toBe(true);
    expect(d.isTransient(Object.assign(new Error("terminated"), { number: 3621, precedingErrors: [{ number: 2627 }] }))).toBe(false);
    expect(d.isDuplicateKey(Object.assign(new Error("dup"), { number: 2601 }))).toBe(true);
  });

  it("rolls back on a failing statement and reports a deadlock as transient", async () => {
    const { ds, txLog } = fakeMssql(/^INSERT INTO messages/m);
    const d = new SqlServerDialect(ds);
    const store = new SqlStore(ds, d);
    const err = await store.commitBatch([msg("alice", "bob", "y1")]).then(() => null, (e: unknown) => e);
    expect(d.isTransient(err)).toBe(true);
    // The store retries a transient failure a few times; each attempt rolled back.
    expect(txLog.filter((t) => t === "commit")).toEqual([]);
    expect(txLog.filter((t) => t === "rollback").length).toBe(txLog.filter((t) => t === "begin").length);
  });
});
