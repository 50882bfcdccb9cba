// Scenario 1: the physical write ceiling of the database on this machine, measured in the same
// run: raw mysql2 multi-row INSERTs of message-shaped rows (a message table with a unique
// (msg_from, msg_id), 1000 rows per statement, autocommit, 200-byte JSON body), with 1 and with 4 connections; and the same rows
// into SQLite with tlim's settings (WAL, synchronous=FULL), 1000 rows per transaction.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import mysql from "mysql2/promise";
import { createBenchDb, mysqlOptions } from "../lib/db.js";
import { CpuMeter, findPid } from "../lib/proc.js";
import { progress, row, type ResultRow } from "../lib/report.js";
import { Latencies, round, sleep } from "../lib/stats.js";

const DDL_MYSQL = `CREATE TABLE msg (
  id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
  conv_id varchar(64) NOT NULL, seq bigint NOT NULL, msg_id varchar(64) NOT NULL,
  msg_from varchar(64) NOT NULL, msg_to varchar(64) NOT NULL, msg_type varchar(20) NOT NULL,
  body text NOT NULL, created_at bigint NOT NULL,
  UNIQUE KEY uq_from_msgid (msg_from, msg_id), KEY ix_conv_seq (conv_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

const DDL_SQLITE = [
  `CREATE TABLE msg (id INTEGER PRIMARY KEY AUTOINCREMENT, conv_id TEXT NOT NULL, seq INTEGER NOT NULL,
    msg_id TEXT NOT NULL, msg_from TEXT NOT NULL, msg_to TEXT NOT NULL, msg_type TEXT NOT NULL,
    body TEXT NOT NULL, created_at INTEGER NOT NULL)`,
  "CREATE UNIQUE INDEX uq_from_msgid ON msg (msg_from, msg_id)",
  "CREATE INDEX ix_conv_seq ON msg (conv_id, seq)",
];
const COLS = "conv_id, seq, msg_id, msg_from, msg_to, msg_type, body, created_at";
const ROWS_PER_STATEMENT = 1000;
const POOL_STATEMENTS = 64;

/** 1,000 users, 1:1 conversations between neighbours, a 200-byte JSON body. */
function makePool(): unknown[][][] {
  const seqs = new Map<string, number>();
  const pool: unknown[][][] = [];
  let k = 0;
  for (let s = 0; s < POOL_STATEMENTS; s++) {
    const rows: unknown[][] = [];
    for (let r = 0; r < ROWS_PER_STATEMENT; r++, k++) {
      const a = k % 1000;
      const b = (a + 1 + (k % 3)) % 1000;
      const from = `user${a}`;
      const to = `user${b}`;
      const conv = a < b ? `c:${from}|${to}` : `c:${to}|${from}`;
      const seq = (seqs.get(conv) ?? 0) + 1;
      seqs.set(conv, seq);
      let body = JSON.stringify({ k: "MTT-000", from, to, seq, text: "" });
      body = body.replace('"text":""', `"text":"${"x".repeat(Math.max(0, 200 - body.length))}"`);
      rows.push([conv, seq, randomUUID(), from, to, "chat", body, Date.now()]);
    }
    pool.push(rows);
  }
  return pool;
}

/** The next statement's rows: a pool entry with fresh msg_ids (the unique key) and seqs. */
function nextRows(pool: unknown[][][], n: number): unknown[][] {
  const rows = pool[n % POOL_STATEMENTS]!;
  const cycle = Math.floor(n / POOL_STATEMENTS);
  if (cycle > 0) {
    for (const r of rows) {
      r[1] = (r[1] as number) + 10_000;
      r[2] = `${(r[2] as string).slice(0, 36)}-${cycle}`;
    }
  }
  return rows;
}

export async function runMysqlCeiling(connections: number, warmupS: number, measureS: number): Promise<ResultRow> {
  const variant = `MariaDB, raw mysql2 INSERT, ${ROWS_PER_STATEMENT} rows/stmt, ${connections} conn`;
  progress(`ceiling: ${variant}: preparing`);
  const db = await createBenchDb("mariadb", "ceiling");
  const conns: mysql.Connection[] = [];
  try {
    for (let i = 0; i < connections; i++) conns.push(await mysql.createConnection(mysqlOptions(db.url)));
    await conns[0]!.query(DDL_MYSQL);
    const pool = makePool();
    let next = 0;
    let measuring = false;
    let running = true;
    let rowsInWindow = 0;
    const lat = new Latencies();
    const worker = async (c: mysql.Connection) => {
      while (running) {
        const rows = nextRows(pool, next++);
        const t0 = performance.now();
        await c.query(`INSERT INTO msg (${COLS}) VALUES ?`, [rows]);
        if (measuring) {
          rowsInWindow += rows.length;
          lat.add(performance.now() - t0);
        }
      }
    };
    const workers = conns.map(worker);
    progress(`ceiling: ${variant}: warm-up ${warmupS} s`);
    await sleep(warmupS * 1000);
    const meter = new CpuMeter({ mariadb: findPid(["mariadbd", "mysqld"]), driver: process.pid });
    meter.start();
    measuring = true;
    const t0 = performance.now();
    await sleep(measureS * 1000);
    measuring = false;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = meter.stop();
    running = false;
    await Promise.all(workers);
    const [[count]] = (await conns[0]!.query("SELECT COUNT(*) AS n FROM msg")) as unknown as [[{ n: number }]];
    const rate = rowsInWindow / seconds;
    const s = lat.summary();
    progress(`ceiling: ${variant}: ${Math.round(rate)} rows/s`);
    return row({
      scenario: "1 ceiling",
      variant,
      rate,
      unit: "rows/s",
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      notes: `statement latency; MariaDB CPU ${Math.round(cpu.cpu.mariadb ?? 0)} %, client ${Math.round(cpu.cpu.driver ?? 0)} %`,
      extra: {
        connections,
        rowsPerStatement: ROWS_PER_STATEMENT,
        seconds: round(seconds, 3),
        rowsInWindow,
        rowsInTable: Number(count.n),
        cpuPctOfCore: Object.fromEntries(Object.entries(cpu.cpu).map(([k, v]) => [k, round(v, 1)])),
        machineBusyPct: round(cpu.machineBusyPct, 1),
        otherCpuPctOfCore: round(cpu.otherPctOfCore, 1),
      },
    });
  } finally {
    for (const c of conns) await c.end().catch(() => undefined);
    await db.drop().catch(() => undefined);
  }
}

export async function runSqliteCeiling(warmupS: number, measureS: number): Promise<ResultRow> {
  const variant = `SQLite (WAL, synchronous=FULL), prepared INSERT, ${ROWS_PER_STATEMENT} rows/tx`;
  progress(`ceiling: ${variant}`);
  const dir = mkdtempSync(join(tmpdir(), "tlim-bench-ceiling-"));
  const db = new Database(join(dir, "ceiling.sqlite"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    for (const s of DDL_SQLITE) db.exec(s);
    const PER = 100; // rows per INSERT statement (9 params each, well under the limit)
    const ins = db.prepare(`INSERT INTO msg (${COLS}) VALUES ${new Array(PER).fill("(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`);
    const tx = db.transaction((rows: unknown[][]) => {
      for (let i = 0; i < rows.length; i += PER) ins.run(rows.slice(i, i + PER).flat());
    });
    const pool = makePool();
    let n = 0;
    const lat = new Latencies();
    const until = (ms: number, measure: boolean) => {
      let rows = 0;
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const batch = nextRows(pool, n++);
        const t0 = performance.now();
        tx(batch);
        if (measure) lat.add(performance.now() - t0);
        rows += batch.length;
      }
      return rows;
    };
    until(warmupS * 1000, false);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const rows = until(measureS * 1000, true);
    const seconds = (performance.now() - t0) / 1000;
    const c1 = process.cpuUsage(c0);
    const rate = rows / seconds;
    const s = lat.summary();
    progress(`ceiling: SQLite: ${Math.round(rate)} rows/s`);
    return row({
      scenario: "1 ceiling",
      variant,
      rate,
      unit: "rows/s",
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      notes: `transaction latency; in-process, CPU ${Math.round(((c1.user + c1.system) / 1e6 / seconds) * 100)} %`,
      extra: { rowsPerTransaction: ROWS_PER_STATEMENT, seconds: round(seconds, 3), rows },
    });
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
