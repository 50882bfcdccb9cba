// Retention (docs/reliability.md "Retention"): one batch of the purge as a store program, run in
// one short transaction (`dialect.run(program, { tx: true })`), so the write path, which commits
// in transactions of its own, never waits long behind it.
//
// Each kind's horizon is a range of `created_at` searched through IDX_messages_created and
// IDX_inbox_created, oldest first: when both kinds share one horizon it is one range with no
// filter; when they differ, each kind has its own range and a filter (messages: session_id,
// inbox: the conv_id prefix), and the caller's resume points keep the search from walking again
// over what the other kind keeps. Selected rows are deleted by their keys (`pairIn`), never by a
// DELETE with a limit. Only portable SQL: `?` parameters, `pairIn`, `limitOffset` after an
// ORDER BY, IN lists of at most 500 items.
import type { PurgeRequest, PurgeResult } from "../types.js";
import { stmt, type Dialect, type Program, type Row } from "./dialect.js";
import { chunks, num, str } from "./rows.js";

/** Pairs per `pairIn` list (two parameters each). */
const PAIRS = 250;

type Kind = "chat" | "session" | null;

interface Range {
  /** null: both kinds. */
  kind: Kind;
  from: number;
  before: number;
}

/** One range for both kinds when the horizons are equal, else one per kind that has a horizon. */
export function purgeRanges(req: PurgeRequest): Range[] {
  const { chatBefore, sessionBefore } = req;
  const chatFrom = req.chatFrom ?? 0;
  const sessionFrom = req.sessionFrom ?? 0;
  // One horizon: the created_at range is exact (nothing before it is kept), so it always starts at
  // 0 and a row committed under a clock that went back is still found.
  if (chatBefore !== null && chatBefore === sessionBefore) return [{ kind: null, from: 0, before: chatBefore }];
  const out: Range[] = [];
  if (chatBefore !== null) out.push({ kind: "chat", from: chatFrom, before: chatBefore });
  if (sessionBefore !== null) out.push({ kind: "session", from: sessionFrom, before: sessionBefore });
  return out;
}

const MESSAGE_KIND: Record<"chat" | "session", string> = {
  chat: " AND session_id IS NULL",
  session: " AND session_id IS NOT NULL",
};

/** conv_id prefixes (types.ts chatConvId / sessionConvId). */
const INBOX_KIND: Record<"chat" | "session", string> = { chat: "chat:%", session: "session:%" };

export function* purgeProgram(d: Dialect, req: PurgeRequest): Program<PurgeResult> {
  const limit = Math.max(0, Math.floor(req.limit));
  const out: PurgeResult = { messages: 0, inbox: 0, reads: 0, chatFrom: req.chatFrom ?? 0, sessionFrom: req.sessionFrom ?? 0 };
  for (const r of purgeRanges(req)) {
    // Everything of the range before `safe` is gone once this transaction commits.
    let safe = r.before;

    const mRoom = limit - out.messages;
    let messages: Row[] = [];
    if (mRoom > 0) {
      const lim = d.limitOffset(mRoom, 0);
      messages = yield stmt(
        `SELECT conv_id, seq, msg_from, msg_id, created_at FROM messages
         WHERE created_at >= ? AND created_at < ?${r.kind === null ? "" : MESSAGE_KIND[r.kind]}
         ORDER BY created_at, conv_id, seq ${lim.sql}`,
        r.from, r.before, ...lim.params,
      );
      if (messages.length === mRoom) safe = Math.min(safe, num(messages[messages.length - 1]!.created_at));
    } else {
      safe = r.from;
    }

    const iRoom = limit - out.inbox;
    let inbox: Row[] = [];
    if (iRoom > 0) {
      const lim = d.limitOffset(iRoom, 0);
      inbox = yield stmt(
        `SELECT user_id, seq, created_at FROM inbox
         WHERE created_at >= ? AND created_at < ?${r.kind === null ? "" : " AND conv_id LIKE ?"}
         ORDER BY created_at, user_id, seq ${lim.sql}`,
        r.from, r.before, ...(r.kind === null ? [] : [INBOX_KIND[r.kind]]), ...lim.params,
      );
      if (inbox.length === iRoom) safe = Math.min(safe, num(inbox[inbox.length - 1]!.created_at));
    } else {
      safe = r.from;
    }

    // A purged message's read marks: message_reads is keyed by (author = msg_from, msg_id, reader),
    // and (msg_from, msg_id) names one message.
    const authored = messages.map((m) => [str(m.msg_from), str(m.msg_id)] as const);
    for (const chunk of chunks(authored, PAIRS)) {
      const where = d.pairIn("author", "msg_id", chunk.length);
      const params = chunk.flat();
      const count = yield stmt(`SELECT COUNT(*) AS n FROM message_reads WHERE ${where}`, ...params);
      const n = num(count[0]?.n ?? 0);
      if (n > 0) yield stmt(`DELETE FROM message_reads WHERE ${where}`, ...params);
      out.reads += n;
    }
    for (const chunk of chunks(inbox.map((e) => [str(e.user_id), num(e.seq)] as const), PAIRS)) {
      yield stmt(`DELETE FROM inbox WHERE ${d.pairIn("user_id", "seq", chunk.length)}`, ...chunk.flat());
    }
    for (const chunk of chunks(messages.map((m) => [str(m.conv_id), num(m.seq)] as const), PAIRS)) {
      yield stmt(`DELETE FROM messages WHERE ${d.pairIn("conv_id", "seq", chunk.length)}`, ...chunk.flat());
    }
    out.messages += messages.length;
    out.inbox += inbox.length;

    safe = Math.max(safe, r.from);
    if (r.kind !== "session") out.chatFrom = safe;
    if (r.kind !== "chat") out.sessionFrom = safe;
  }
  return out;
}
