// Retention's walk, shared by every store (docs/reliability.md "Retention"). A purge pass needs
// no index beyond the primary keys:
//  1. messages: the conversations are walked by conv_id; in each one whose kind has a horizon,
//     the messages are read in seq order, a page at a time, and the leading ones committed before
//     the horizon go (with their read marks). A conversation's seqs follow commit order, so what
//     is old is a prefix: the walk stops at the first message it keeps, and what remains is
//     contiguous.
//  2. inbox: the inboxes are walked by user_id; each is read in seq order (commit order too), its
//     entries old for their conversation's kind go, and the walk of that inbox stops at the first
//     entry committed at or after the later horizon (nothing after it is old for either kind).
// One call of `purgeBefore` removes at most `limit` messages or `limit` inbox entries, reads at
// most about READ_FACTOR × `limit` rows, and returns where the next call goes on.
//
// `purgeWalk` decides; a store only answers its reads (keys of a table from a cursor, rows of one
// key after a seq) and then deletes what the plan names, in one transaction.
import type { PurgeCursor, PurgeRequest } from "./types.js";

export const PURGE_START: PurgeCursor = { phase: "messages", key: "", seq: 0 };
const INBOX_START: PurgeCursor = { phase: "inbox", key: "", seq: 0 };

/** Rows one call may read (keys listed plus rows looked at), in multiples of `limit`. */
const READ_FACTOR = 4;
/** Rows read from one conversation or inbox at a time: a few first (most have nothing old, and
 * their first row says so), then pages of PAGE. */
const FIRST_PAGE = 4;
const PAGE = 100;

export type Kind = "chat" | "session";

/** The kind of an inbox entry's conversation (types.ts chatConvId / sessionConvId). */
export function kindOfConv(convId: string): Kind {
  return convId.startsWith("chat:") ? "chat" : "session";
}

/** A conversation or an inbox head. */
export interface KeyRow {
  key: string;
}

/** A message (`msgFrom`, `msgId` set) or an inbox entry (`convId` set). */
export interface WalkRow {
  seq: number;
  createdAt: number;
  convId?: string;
  msgFrom?: string;
  msgId?: string;
}

export type PurgeRead =
  /** The keys of conversations or inbox heads from the cursor on (the cursor's `key` itself when
   * its `seq` is not null), ascending, at most `n`. */
  | { op: "keys"; phase: PurgeCursor["phase"]; from: PurgeCursor; n: number }
  /** The rows of one conversation or inbox with seq > afterSeq, ascending, at most `n`. */
  | { op: "rows"; phase: PurgeCursor["phase"]; key: string; afterSeq: number; n: number };

export interface PurgePlan {
  /** Messages to delete, with their read marks. */
  messages: Array<{ convId: string; seq: number; msgFrom: string; msgId: string }>;
  /** Inbox entries to delete. */
  inbox: Array<{ userId: string; seq: number }>;
  /** Where the next call goes on; null: the pass is complete. */
  next: PurgeCursor | null;
}

type Answer = KeyRow[] | WalkRow[];

export function* purgeWalk(req: PurgeRequest): Generator<PurgeRead, PurgePlan, Answer> {
  const plan: PurgePlan = { messages: [], inbox: [], next: null };
  const last = [req.chatBefore, req.sessionBefore].reduce<number | null>((a, h) => (h === null ? a : Math.max(a ?? h, h)), null);
  if (last === null) return plan;
  const horizonOf = (kind: string) => (kind === "chat" ? req.chatBefore : req.sessionBefore);
  const limit = Math.max(1, Math.floor(req.limit));
  let read = 0;
  const cursor = req.cursor ?? PURGE_START;
  const phase = cursor.phase;
  const taken = () => (phase === "messages" ? plan.messages.length : plan.inbox.length);

  const keys = (yield { op: "keys", phase, from: cursor, n: limit }) as KeyRow[];
  read += keys.length;
  for (const k of keys) {
    // Entries of this inbox up to here were looked at and are kept (an earlier call's).
    let after = phase === "inbox" && k.key === cursor.key ? (cursor.seq ?? 0) : 0;
    if (taken() === limit || read >= READ_FACTOR * limit) {
      plan.next = { phase, key: k.key, seq: after };
      return plan;
    }
    const horizon = phase === "messages" ? horizonOf(kindOfConv(k.key)) : last;
    if (horizon === null) continue; // a kind kept forever
    for (let page = FIRST_PAGE; ; page = PAGE) {
      const rows = (yield { op: "rows", phase, key: k.key, afterSeq: after, n: page }) as WalkRow[];
      read += rows.length;
      let done = rows.length < page;
      let full = false;
      for (const r of rows) {
        if (r.createdAt >= horizon) {
          done = true;
          break;
        }
        const h = phase === "messages" ? horizon : horizonOf(kindOfConv(r.convId ?? ""));
        if (h !== null && r.createdAt < h) {
          if (taken() === limit) {
            full = true;
            break;
          }
          if (phase === "messages") plan.messages.push({ convId: k.key, seq: r.seq, msgFrom: r.msgFrom ?? "", msgId: r.msgId ?? "" });
          else plan.inbox.push({ userId: k.key, seq: r.seq });
        }
        after = r.seq;
      }
      if (done && !full) break;
      if (full || taken() === limit || read >= READ_FACTOR * limit) {
        // A conversation's taken prefix is deleted by then, so it is read again from its start.
        plan.next = { phase, key: k.key, seq: phase === "inbox" ? after : 0 };
        return plan;
      }
    }
  }
  // The list was cut at `limit` keys: go on after the last one; else this phase is complete.
  if (keys.length === limit) plan.next = { phase, key: keys[keys.length - 1]!.key, seq: null };
  else plan.next = phase === "messages" ? INBOX_START : null;
  return plan;
}
