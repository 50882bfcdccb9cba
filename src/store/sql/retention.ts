// Retention (docs/reliability.md "Retention"): one call of the purge as a store program, run in
// one short transaction (`dialect.run(program, { tx: true })`), so the write path, which commits
// in transactions of its own, never waits long behind it.
//
// The walk (src/store/purge.ts) reads only by primary key: conversations by conv_id, each
// conversation's messages by (conv_id, seq), inbox heads by user_id, each inbox by (user_id, seq).
// So retention costs the write path no index. Selected rows are deleted by their keys (`pairIn`),
// never by a DELETE with a limit. Only portable SQL: `?` parameters, `pairIn`, `limitOffset` after
// an ORDER BY, IN lists of at most 500 items, and no comparison with '' (NULL on Oracle).
import {
  Budget,
  horizonOf,
  INBOX_START,
  inboxPick,
  inboxWindow,
  oldPrefix,
  PURGE_START,
  type InboxRow,
} from "../purge.js";
import type { PurgeCursor, PurgeRequest, PurgeResult } from "../types.js";
import { stmt, type Dialect, type Program, type Row } from "./dialect.js";
import { chunks, num, str } from "./rows.js";

/** Pairs per `pairIn` list (two parameters each). */
const PAIRS = 250;

export function* purgeProgram(d: Dialect, req: PurgeRequest): Program<PurgeResult> {
  const cursor = req.cursor ?? PURGE_START;
  if (req.chatBefore === null && req.sessionBefore === null) return { messages: 0, inbox: 0, reads: 0, cursor: null };
  const budget = new Budget(req);
  const out: PurgeResult = { messages: 0, inbox: 0, reads: 0, cursor };
  if (cursor.phase === "messages") {
    const r = yield* purgeMessages(d, req, cursor, budget);
    out.messages = r.messages;
    out.reads = r.reads;
    out.cursor = r.next ?? INBOX_START;
  } else {
    const r = yield* purgeInbox(d, req, cursor, budget);
    out.inbox = r.inbox;
    out.cursor = r.next;
  }
  return out;
}

/** The keys of `table` from the cursor on, ascending, at most `n`. */
function* keysFrom(d: Dialect, table: string, key: string, cols: string, from: PurgeCursor, n: number): Program<Row[]> {
  const lim = d.limitOffset(n, 0);
  // "" is the start (and no comparison with '', which Oracle reads as NULL).
  const where = from.key === "" ? "" : ` WHERE ${key} ${from.seq === null ? ">" : ">="} ?`;
  return yield stmt(`SELECT ${cols} FROM ${table}${where} ORDER BY ${key} ${lim.sql}`, ...(from.key === "" ? [] : [from.key]), ...lim.params);
}

/** Messages of conversations from `from` on; `next`: where the next call starts, null when the
 * last conversation is done. */
function* purgeMessages(d: Dialect, req: PurgeRequest, from: PurgeCursor, budget: Budget): Program<{ messages: number; reads: number; next: PurgeCursor | null }> {
  const limit = budget.limit;
  const convs = yield* keysFrom(d, "conversations", "conv_id", "conv_id, kind", from, limit);
  budget.spend(convs.length);
  const gone: Array<{ convId: string; seq: number; msgFrom: string; msgId: string }> = [];
  let next: PurgeCursor | null = null;
  for (const c of convs) {
    const convId = str(c.conv_id);
    const room = limit - gone.length;
    if (room === 0 || budget.spent) {
      next = { phase: "messages", key: convId, seq: 0 };
      break;
    }
    const horizon = horizonOf(req, str(c.kind));
    if (horizon === null) continue;
    const window = room + 1;
    const lim = d.limitOffset(window, 0);
    const rows = (yield stmt(`SELECT seq, msg_from, msg_id, created_at FROM messages WHERE conv_id = ? ORDER BY seq ${lim.sql}`, convId, ...lim.params))
      .map((m) => ({ convId, seq: num(m.seq), msgFrom: str(m.msg_from), msgId: str(m.msg_id), createdAt: num(m.created_at) }));
    budget.spend(rows.length);
    const { take, done } = oldPrefix(rows, horizon, room, window);
    gone.push(...take);
    if (!done) {
      next = { phase: "messages", key: convId, seq: 0 };
      break;
    }
  }
  // The list was cut at `limit` conversations: go on after the last one.
  if (next === null && convs.length === limit) next = { phase: "messages", key: str(convs[convs.length - 1]!.conv_id), seq: null };

  // A purged message's read marks: message_reads is keyed by (author = msg_from, msg_id, reader),
  // and (msg_from, msg_id) names one message.
  let reads = 0;
  for (const chunk of chunks(gone.map((m) => [m.msgFrom, m.msgId] as const), PAIRS)) {
    const where = d.pairIn("author", "msg_id", chunk.length);
    const params = chunk.flat();
    const count = yield stmt(`SELECT COUNT(*) AS n FROM message_reads WHERE ${where}`, ...params);
    const n = num(count[0]?.n ?? 0);
    if (n > 0) yield stmt(`DELETE FROM message_reads WHERE ${where}`, ...params);
    reads += n;
  }
  for (const chunk of chunks(gone.map((m) => [m.convId, m.seq] as const), PAIRS)) {
    yield stmt(`DELETE FROM messages WHERE ${d.pairIn("conv_id", "seq", chunk.length)}`, ...chunk.flat());
  }
  return { messages: gone.length, reads, next };
}

/** Inbox entries of users from the cursor on; `next` as for messages. */
function* purgeInbox(d: Dialect, req: PurgeRequest, cursor: PurgeCursor, budget: Budget): Program<{ inbox: number; next: PurgeCursor | null }> {
  const limit = budget.limit;
  const users = yield* keysFrom(d, "user_inbox", "user_id", "user_id", cursor, limit);
  budget.spend(users.length);
  const gone: Array<{ userId: string; seq: number }> = [];
  let next: PurgeCursor | null = null;
  for (const u of users) {
    const userId = str(u.user_id);
    const afterSeq = userId === cursor.key ? (cursor.seq ?? 0) : 0;
    const room = limit - gone.length;
    if (room === 0 || budget.spent) {
      next = { phase: "inbox", key: userId, seq: afterSeq };
      break;
    }
    const window = inboxWindow(req, room);
    const lim = d.limitOffset(window, 0);
    const rows: InboxRow[] = (yield stmt(`SELECT seq, conv_id, created_at FROM inbox WHERE user_id = ? AND seq > ? ORDER BY seq ${lim.sql}`, userId, afterSeq, ...lim.params))
      .map((e) => ({ seq: num(e.seq), convId: str(e.conv_id), createdAt: num(e.created_at) }));
    budget.spend(rows.length);
    const { take, done, lastSeq } = inboxPick(rows, req, room, window, afterSeq);
    for (const e of take) gone.push({ userId, seq: e.seq });
    if (!done) {
      next = { phase: "inbox", key: userId, seq: lastSeq };
      break;
    }
  }
  if (next === null && users.length === limit) next = { phase: "inbox", key: str(users[users.length - 1]!.user_id), seq: null };
  for (const chunk of chunks(gone.map((e) => [e.userId, e.seq] as const), PAIRS)) {
    yield stmt(`DELETE FROM inbox WHERE ${d.pairIn("user_id", "seq", chunk.length)}`, ...chunk.flat());
  }
  return { inbox: gone.length, next };
}
