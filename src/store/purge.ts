// Retention's choices, shared by every store (docs/reliability.md "Retention"). A purge pass
// needs no index beyond the primary keys:
//  1. messages: the conversations are walked by conv_id; in each one whose kind has a horizon,
//     the messages are read in seq order and the leading ones committed before the horizon go
//     (with their read marks). A conversation's seqs follow commit order, so what is old is a
//     prefix: the walk stops at the first message it keeps, and what remains is contiguous.
//  2. inbox: the inboxes are walked by user_id; each is read in seq order (commit order too), its
//     entries old for their conversation's kind go, and the walk of that inbox stops at the first
//     entry committed at or after the later horizon (nothing after it is old for either kind).
// Each call of `purgeBefore` removes at most `limit` messages and `limit` inbox entries and reads
// a bounded number of rows, then hands back a cursor; the caller calls again until it is null.
import type { PurgeCursor, PurgeRequest } from "./types.js";

export const PURGE_START: PurgeCursor = { phase: "messages", key: "", seq: 0 };
export const INBOX_START: PurgeCursor = { phase: "inbox", key: "", seq: 0 };

/** Rows one call may read (keys listed plus rows looked at), in multiples of `limit`. */
const READ_FACTOR = 4;

export type Kind = "chat" | "session";

/** The kind of an inbox entry's conversation (types.ts chatConvId / sessionConvId). */
export function kindOfConv(convId: string): Kind {
  return convId.startsWith("chat:") ? "chat" : "session";
}

export function horizonOf(req: PurgeRequest, kind: string): number | null {
  return kind === "chat" ? req.chatBefore : req.sessionBefore;
}

/** Rows committed at or after this are kept whatever their kind; null: nothing goes. */
export function lastHorizon(req: PurgeRequest): number | null {
  const hs = [req.chatBefore, req.sessionBefore].filter((h): h is number => h !== null);
  return hs.length === 0 ? null : Math.max(...hs);
}

export function limitOf(req: PurgeRequest): number {
  return Math.max(1, Math.floor(req.limit));
}

/** How much one call may still read. */
export class Budget {
  readonly limit: number;
  private read = 0;
  constructor(req: PurgeRequest) {
    this.limit = limitOf(req);
  }
  spend(rows: number): void {
    this.read += rows;
  }
  get spent(): boolean {
    return this.read >= READ_FACTOR * this.limit;
  }
}

export interface Dated {
  createdAt: number;
}

/**
 * A conversation read in seq order from its start (`rows`, at most `window` of them): the leading
 * rows before `horizon`, at most `room`, and whether the conversation is done (nothing more of it
 * goes now) or the call ran out of room in it.
 */
export function oldPrefix<T extends Dated>(rows: readonly T[], horizon: number, room: number, window: number): { take: T[]; done: boolean } {
  const take: T[] = [];
  for (const r of rows) {
    if (r.createdAt >= horizon) return { take, done: true };
    if (take.length === room) return { take, done: false };
    take.push(r);
  }
  return { take, done: rows.length < window };
}

export interface InboxRow extends Dated {
  seq: number;
  convId: string;
}

/**
 * An inbox read in seq order after the cursor (`rows`, at most `window`): the entries old for
 * their kind, at most `room`; `lastSeq`, the last entry looked at (taken or kept); `done` when
 * nothing more of this inbox goes now.
 */
export function inboxPick<T extends InboxRow>(
  rows: readonly T[],
  req: PurgeRequest,
  room: number,
  window: number,
  afterSeq: number,
): { take: T[]; done: boolean; lastSeq: number } {
  const last = lastHorizon(req) ?? -Infinity;
  const take: T[] = [];
  let lastSeq = afterSeq;
  for (const r of rows) {
    if (r.createdAt >= last) return { take, done: true, lastSeq };
    const h = horizonOf(req, kindOfConv(r.convId));
    if (h !== null && r.createdAt < h) {
      if (take.length === room) return { take, done: false, lastSeq };
      take.push(r);
    }
    lastSeq = r.seq;
  }
  return { take, done: rows.length < window, lastSeq };
}

/** Rows to read from one inbox: room + 1 when one horizon covers every kind (what is old is a
 * prefix), else a whole `limit` + 1 (kept entries of the other kind may come first). */
export function inboxWindow(req: PurgeRequest, room: number): number {
  const sameHorizon = req.chatBefore !== null && req.chatBefore === req.sessionBefore;
  return (sameHorizon ? room : limitOf(req)) + 1;
}
