// Retention (docs/reliability.md "Retention"): one call of the purge as two store programs: the
// walk, reads outside any transaction, then its deletes in one short transaction, so the write
// path, which commits in transactions of its own, never waits long behind it.
//
// The walk (src/store/purge.ts) reads only by primary key: conversations by conv_id, each
// conversation's messages by (conv_id, seq), inbox heads by user_id, each inbox by (user_id, seq).
// So retention costs the write path no index. Selected rows are deleted by their keys (`pairIn`),
// never by a DELETE with a limit. Only portable SQL: `?` parameters, `pairIn`, `limitOffset` after
// an ORDER BY, IN lists of at most 500 items, and no comparison with '' (NULL on Oracle).
import { purgeWalk, type KeyRow, type PurgePlan, type PurgeRead, type WalkRow } from "../purge.js";
import type { PurgeRequest, PurgeResult } from "../types.js";
import { flatten, many, stmt, type Dialect, type Program, type Stmt } from "./dialect.js";
import { chunks, num, str } from "./rows.js";

/** Pairs per `pairIn` list (two parameters each). */
const PAIRS = 250;

const TABLES = {
  messages: { keys: "conversations", key: "conv_id", rows: "messages", rowCols: "seq, msg_from, msg_id, created_at" },
  inbox: { keys: "user_inbox", key: "user_id", rows: "inbox", rowCols: "seq, conv_id, created_at" },
} as const;

function* answer(d: Dialect, r: PurgeRead): Program<KeyRow[] | WalkRow[]> {
  const t = TABLES[r.phase];
  const lim = d.limitOffset(r.n, 0);
  if (r.op === "keys") {
    // "" is the start (and no comparison with '', which Oracle reads as NULL).
    const start = r.from.key === "";
    const where = start ? "" : ` WHERE ${t.key} ${r.from.seq === null ? ">" : ">="} ?`;
    const rows = yield stmt(`SELECT ${t.key} FROM ${t.keys}${where} ORDER BY ${t.key} ${lim.sql}`, ...(start ? [] : [r.from.key]), ...lim.params);
    return rows.map((k) => ({ key: str(k[t.key]) }));
  }
  const rows = yield stmt(`SELECT ${t.rowCols} FROM ${t.rows} WHERE ${t.key} = ? AND seq > ? ORDER BY seq ${lim.sql}`, r.key, r.afterSeq, ...lim.params);
  return rows.map((m) => ({
    seq: num(m.seq),
    createdAt: num(m.created_at),
    ...(r.phase === "messages" ? { msgFrom: str(m.msg_from), msgId: str(m.msg_id) } : { convId: str(m.conv_id) }),
  }));
}

/** The walk: reads only, outside any transaction (on SQLite a transaction holds the write lock). */
export function* purgePlanProgram(d: Dialect, req: PurgeRequest): Program<PurgePlan> {
  const walk = purgeWalk(req);
  let step = walk.next([]);
  while (!step.done) step = walk.next(yield* answer(d, step.value));
  return step.value;
}

/** The plan's deletes, in one short transaction. Rows gone already (another instance's purge)
 * are simply not there; read marks are counted, then always deleted (one may have come since). */
export function* purgeDeleteProgram(d: Dialect, plan: PurgePlan): Program<PurgeResult> {
  let reads = 0;
  const deletes: Stmt[] = [];
  for (const chunk of chunks(plan.messages.map((m) => [m.msgFrom, m.msgId] as const), PAIRS)) {
    // message_reads is keyed by (author = msg_from, msg_id, reader); (msg_from, msg_id) names one message.
    const where = d.pairIn("author", "msg_id", chunk.length);
    const count = yield stmt(`SELECT COUNT(*) AS n FROM message_reads WHERE ${where}`, ...flatten(chunk));
    reads += num(count[0]?.n ?? 0);
    deletes.push(stmt(`DELETE FROM message_reads WHERE ${where}`, ...flatten(chunk)));
  }
  for (const chunk of chunks(plan.messages.map((m) => [m.convId, m.seq] as const), PAIRS)) {
    deletes.push(stmt(`DELETE FROM messages WHERE ${d.pairIn("conv_id", "seq", chunk.length)}`, ...flatten(chunk)));
  }
  for (const chunk of chunks(plan.inbox.map((e) => [e.userId, e.seq] as const), PAIRS)) {
    deletes.push(stmt(`DELETE FROM inbox WHERE ${d.pairIn("user_id", "seq", chunk.length)}`, ...flatten(chunk)));
  }
  yield* many(deletes, { commit: true });
  return { messages: plan.messages.length, inbox: plan.inbox.length, reads, cursor: plan.next };
}
