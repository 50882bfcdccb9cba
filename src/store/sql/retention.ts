// Retention (docs/reliability.md "Retention"): one call of the purge as a store program, run in
// one short transaction (`dialect.run(program, { tx: true })`), so the write path, which commits
// in transactions of its own, never waits long behind it.
//
// The walk (src/store/purge.ts) reads only by primary key: conversations by conv_id, each
// conversation's messages by (conv_id, seq), inbox heads by user_id, each inbox by (user_id, seq).
// So retention costs the write path no index. Selected rows are deleted by their keys (`pairIn`),
// never by a DELETE with a limit. Only portable SQL: `?` parameters, `pairIn`, `limitOffset` after
// an ORDER BY, IN lists of at most 500 items, and no comparison with '' (NULL on Oracle).
import { purgeWalk, type KeyRow, type PurgeRead, type WalkRow } from "../purge.js";
import type { PurgeRequest, PurgeResult } from "../types.js";
import { stmt, type Dialect, type Program } from "./dialect.js";
import { chunks, num, str } from "./rows.js";

/** Pairs per `pairIn` list (two parameters each). */
const PAIRS = 250;

const TABLES = {
  messages: { keys: "conversations", key: "conv_id", keyCols: "conv_id, kind", rows: "messages", rowCols: "seq, msg_from, msg_id, created_at" },
  inbox: { keys: "user_inbox", key: "user_id", keyCols: "user_id", rows: "inbox", rowCols: "seq, conv_id, created_at" },
} as const;

function* answer(d: Dialect, r: PurgeRead): Program<KeyRow[] | WalkRow[]> {
  const t = TABLES[r.phase];
  const lim = d.limitOffset(r.n, 0);
  if (r.op === "keys") {
    // "" is the start (and no comparison with '', which Oracle reads as NULL).
    const start = r.from.key === "";
    const where = start ? "" : ` WHERE ${t.key} ${r.from.seq === null ? ">" : ">="} ?`;
    const rows = yield stmt(`SELECT ${t.keyCols} FROM ${t.keys}${where} ORDER BY ${t.key} ${lim.sql}`, ...(start ? [] : [r.from.key]), ...lim.params);
    return rows.map((k) => ({ key: str(k[t.key]), kind: k.kind === undefined ? undefined : str(k.kind) }));
  }
  const rows = yield stmt(`SELECT ${t.rowCols} FROM ${t.rows} WHERE ${t.key} = ? AND seq > ? ORDER BY seq ${lim.sql}`, r.key, r.afterSeq, ...lim.params);
  return rows.map((m) => ({
    seq: num(m.seq),
    createdAt: num(m.created_at),
    ...(r.phase === "messages" ? { msgFrom: str(m.msg_from), msgId: str(m.msg_id) } : { convId: str(m.conv_id) }),
  }));
}

export function* purgeProgram(d: Dialect, req: PurgeRequest): Program<PurgeResult> {
  const walk = purgeWalk(req);
  let step = walk.next([]);
  while (!step.done) step = walk.next(yield* answer(d, step.value));
  const plan = step.value;

  // A purged message's read marks: message_reads is keyed by (author = msg_from, msg_id, reader),
  // and (msg_from, msg_id) names one message.
  let reads = 0;
  for (const chunk of chunks(plan.messages.map((m) => [m.msgFrom, m.msgId] as const), PAIRS)) {
    const where = d.pairIn("author", "msg_id", chunk.length);
    const params = chunk.flat();
    const count = yield stmt(`SELECT COUNT(*) AS n FROM message_reads WHERE ${where}`, ...params);
    const n = num(count[0]?.n ?? 0);
    if (n > 0) yield stmt(`DELETE FROM message_reads WHERE ${where}`, ...params);
    reads += n;
  }
  for (const chunk of chunks(plan.messages.map((m) => [m.convId, m.seq] as const), PAIRS)) {
    yield stmt(`DELETE FROM messages WHERE ${d.pairIn("conv_id", "seq", chunk.length)}`, ...chunk.flat());
  }
  for (const chunk of chunks(plan.inbox.map((e) => [e.userId, e.seq] as const), PAIRS)) {
    yield stmt(`DELETE FROM inbox WHERE ${d.pairIn("user_id", "seq", chunk.length)}`, ...chunk.flat());
  }
  return { messages: plan.messages.length, inbox: plan.inbox.length, reads, cursor: plan.next };
}
