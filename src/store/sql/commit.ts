// commitBatch as one program, shared by every database: the batch planner (dedupe, recipients,
// which counter rows to lock, numbering in arrival order) and the statements it needs, written
// against the Dialect (dialect.ts); the adapter turns them into its database's statements.
// The write path as in docs/architecture.md: dedupe, resolve recipients, lock the conversation and
// inbox heads touched, number in memory in arrival order, multi-row inserts, write the heads back;
// one transaction per batch.
import type { CommitOutcome, InboxRef, NewMessage, StoredMessage } from "../types.js";
import { gate, many, stmt, type Dialect, type Program, type Row, type Stmt } from "./dialect.js";
import {
  CHAT_COLS, chunks, cmp, dedupeBy, IN_CHUNK, INBOX_COLS, marks, messageValues, MSG_COLS, MSG_SELECT, msgKey, num,
  READ_COLS, readKey, sortedUnique, toMessage,
} from "./rows.js";

/** Retries of a whole batch: once after a duplicate-key error (another instance stored one of the
 * messages between our check and our insert), a few times after a deadlock or lock timeout. */
export const DUPLICATE_RETRIES = 1;
export const TRANSIENT_RETRIES = 3;

/**
 * Counter rows (conversations, user_inbox) this process has seen committed. They are never
 * deleted, so a known row needs no insert before it is locked: a batch of known conversations
 * locks with one SELECT … FOR UPDATE per table. Another instance's new rows are simply unknown
 * here (and inserted-if-missing as before); the set is emptied when it grows past `max`.
 */
export class KnownCounters {
  /** One set per table: a lookup builds no key string. */
  private readonly tables = new Map<string, Set<string>>();
  private size = 0;
  constructor(private readonly max = 500_000) {}
  has(table: string, id: string): boolean {
    return this.tables.get(table)?.has(id) ?? false;
  }
  addAll(table: string, ids: readonly string[]): void {
    let set = this.tables.get(table);
    if (!set) this.tables.set(table, (set = new Set()));
    for (const id of ids) {
      if (set.has(id)) continue;
      if (this.size >= this.max) {
        for (const t of this.tables.values()) t.clear();
        this.size = 0;
      }
      set.add(id);
      this.size++;
    }
  }
}


interface Plan {
  /** Index of the first occurrence of each (msg_from, msg_id), in batch order. */
  firsts: number[];
  /** Later occurrence → its first occurrence. */
  repeats: Map<number, number>;
}

function planBatch(batch: readonly NewMessage[]): Plan {
  const seen = new Map<string, number>();
  const firsts: number[] = [];
  const repeats = new Map<number, number>();
  batch.forEach((m, i) => {
    const k = msgKey(m.msgFrom, m.msgId);
    const first = seen.get(k);
    if (first === undefined) {
      seen.set(k, i);
      firsts.push(i);
    } else {
      repeats.set(i, first);
    }
  });
  return { firsts, repeats };
}

/**
 * The batch in as few round trips as the data allows (each one waits behind the event loop):
 *   1. dedupe, the sessions' state and members (locked), and — when every message names its
 *      recipients, as 1:1 messages do — the counter rows too;
 *   2. the counter rows, when session members had to be read first;
 *   3. every write, with the commit.
 * A 1:1 batch is two round trips on MySQL (`START TRANSACTION` rides with step 1).
 */
export function* commitProgram(
  d: Dialect,
  batch: readonly NewMessage[],
  now: number,
  locked: () => void,
  ready: Promise<void> | undefined,
  known: KnownCounters,
  seen: Seen,
): Program<CommitOutcome[]> {
  const outcomes: CommitOutcome[] = new Array(batch.length);
  const plan = planBatch(batch);
  const firsts = plan.firsts.map((i) => batch[i]!);

  // Step 1. Dedupe with one query per IN_CHUNK messages. No in-memory cache of recent ids: this
  // query is paid per batch, not per message, and a cache could not see another instance's revokes.
  const dedupe = dedupeStmts(d, firsts);
  const sessionIds = sortedUnique(firsts.flatMap((m) => (Array.isArray(m.recipients) ? [] : [m.recipients.sessionMembersOf])));
  const sessions = sessionStmts(d, sessionIds);
  // Counters of every first occurrence (a duplicate's rows exist already; locking them is harmless).
  const early = sessionIds.length === 0
    ? counterLocks(d, batch, plan.firsts, (i) => batch[i]!.recipients as readonly string[], now, known)
    : null;
  const step1 = yield* many([...dedupe, ...sessions, ...(early?.stmts ?? [])]);
  const existing = readExisting(step1.slice(0, dedupe.length));
  const fresh: number[] = [];
  for (const i of plan.firsts) {
    const found = existing.get(msgKey(batch[i]!.msgFrom, batch[i]!.msgId));
    if (found) outcomes[i] = { status: "duplicate", message: found };
    else fresh.push(i);
  }
  const { state, members } = readSessions(sessionIds, step1.slice(dedupe.length, dedupe.length + sessions.length));

  // Recipients: explicit lists, or the session members just read.
  const recipients = resolveRecipients(batch, fresh, outcomes, state, members);
  const accepted = fresh.filter((i) => recipients.has(i));

  if (accepted.length > 0) {
    // Step 2. Lock the counters: conversations, then inbox heads, each sorted (one lock order
    // for all writers, after the sessions).
    let counters: Counters;
    if (early) {
      counters = early.read(step1.slice(dedupe.length + sessions.length));
    } else {
      const locks = counterLocks(d, batch, accepted, (i) => recipients.get(i)!, now, known);
      counters = locks.read(yield* many(locks.stmts));
    }
    if (counters.missing.length > 0) {
      // A row believed to exist was not there (never, unless deleted by hand): insert and lock
      // those now; any lock-order conflict this causes ends in a deadlock error and a retry.
      const repair = counterLocks(d, batch, accepted, (i) => recipients.get(i)!, now, null);
      counters = repair.read(yield* many(repair.stmts));
      if (counters.missing.length > 0) throw new Error(`counter rows missing after insert: ${counters.missing.join(", ")}`);
    }
    const { convSeq, inboxSeq } = counters;
    seen.conversations = [...convSeq.keys()];
    seen.user_inbox = [...inboxSeq.keys()];
    locked();

    // Number in memory, in batch order.
    const messageRows: unknown[][] = [];
    const inboxRows: unknown[][] = [];
    const convIds: string[] = [];
    const users: string[] = [];
    for (const i of accepted) {
      const m = batch[i]!;
      const seq = bump(convSeq, m.convId);
      const message: StoredMessage = {
        convId: m.convId, seq, msgId: m.msgId, msgFrom: m.msgFrom, msgTo: m.msgTo, msgType: m.msgType,
        msgTime: m.msgTime, body: m.body, sessionId: m.sessionId, compress: m.compress, encode: m.encode,
        encrypt: m.encrypt, version: m.version, createdAt: now, revoked: false, hidden: m.hidden ?? false,
      };
      const inbox: InboxRef[] = recipients.get(i)!.map((userId) => ({ userId, inboxSeq: bump(inboxSeq, userId) }));
      outcomes[i] = { status: "stored", message, inbox };
      messageRows.push(messageValues(message));
      convIds.push(m.convId);
      for (const ref of inbox) {
        inboxRows.push([ref.userId, ref.inboxSeq, m.convId, seq, now]);
        users.push(ref.userId);
      }
    }

    // Step 3. Messages, inbox entries, the counters (rows exist and are locked: multi-row UPDATEs
    // of last_seq), the conversation lists, then the effects in batch order (a revoke may name a
    // message stored earlier in the same batch); committed with the last of them.
    const writes: Stmt[] = [];
    writes.push(
      ...d.insertRows("messages", MSG_COLS, messageRows),
      ...d.insertRows("inbox", INBOX_COLS, inboxRows),
      ...updateCounters("conversations", "conv_id", sortedUnique(convIds), convSeq, now),
      ...updateCounters("user_inbox", "user_id", sortedUnique(users), inboxSeq, null),
      ...touchConversations(d, accepted.map((i) => batch[i]!), now),
      ...effectStmts(d, batch, accepted, outcomes, (i) => recipients.get(i)!, now),
    );
    // Pipelined: commit only after the batch before has (docs/reliability.md "Order").
    if (ready) yield* gate(ready);
    yield* many(writes, { commit: true });
  } else {
    locked(); // nothing to store: step 1's locks are all this batch takes
  }

  // Repeats within the batch share their first occurrence's fate.
  for (const [i, first] of plan.repeats) {
    const o = outcomes[first]!;
    outcomes[i] = o.status === "rejected" ? o : { status: "duplicate", message: { ...o.message } };
  }
  return outcomes;
}

const CONV_COLS = ["conv_id", "kind", "last_seq", "created_at", "updated_at"] as const;
const USER_INBOX_COLS = ["user_id", "last_seq"] as const;

function dedupeStmts(d: Dialect, msgs: readonly NewMessage[]): Stmt[] {
  return chunks(msgs, IN_CHUNK).map((chunk) => stmt(
    `SELECT ${MSG_SELECT} FROM messages m WHERE ${d.pairIn("m.msg_from", "m.msg_id", chunk.length)}`,
    ...chunk.flatMap((m) => [m.msgFrom, m.msgId]),
  ));
}

function readExisting(results: readonly Row[][]): Map<string, StoredMessage> {
  const found = new Map<string, StoredMessage>();
  for (const rows of results) {
    for (const r of rows) {
      const m = toMessage(r);
      found.set(msgKey(m.msgFrom, m.msgId), m);
    }
  }
  return found;
}

type SessionState = Map<string, { valid: number; dissolved: boolean }>;

/** Per chunk of sessions: their rows, locked, then their members. */
function sessionStmts(d: Dialect, sessionIds: readonly string[]): Stmt[] {
  return chunks(sessionIds, IN_CHUNK).flatMap((chunk) => {
    const list = marks(chunk.length);
    return [
      // Locked (sorted, before the counters: one lock order for all writers) so that a dissolve
      // committing meanwhile is seen: without the lock a post could be accepted from the state
      // before the dissolve and land in the purged conversation once the dissolve commits.
      stmt(d.lockedSelect("session_id, session_valid, session_delete_time", "sessions", `session_id IN (${list})`, "session_id"), ...chunk),
      stmt(`SELECT session_id, user_id FROM session_members WHERE session_id IN (${list}) ORDER BY session_id, ts, user_id`, ...chunk),
    ];
  });
}

function readSessions(sessionIds: readonly string[], results: readonly Row[][]): { state: SessionState; members: Map<string, string[]> } {
  const state: SessionState = new Map();
  const members = new Map<string, string[]>(sessionIds.map((id) => [id, []]));
  for (let k = 0; k < results.length; k += 2) {
    for (const r of results[k]!) {
      state.set(String(r.session_id), { valid: num(r.session_valid), dissolved: r.session_delete_time !== null && r.session_delete_time !== undefined });
    }
    for (const r of results[k + 1]!) members.get(String(r.session_id))!.push(String(r.user_id));
  }
  return { state, members };
}

/** Sets `rejected` outcomes; returns the recipient list of every message that may be stored. */
function resolveRecipients(
  batch: readonly NewMessage[],
  fresh: readonly number[],
  outcomes: CommitOutcome[],
  state: SessionState,
  members: ReadonlyMap<string, string[]>,
): Map<number, string[]> {
  const memberSets = new Map([...members].map(([id, list]) => [id, new Set(list)]));
  const out = new Map<number, string[]>();
  for (const i of fresh) {
    const m = batch[i]!;
    if (Array.isArray(m.recipients)) {
      out.set(i, [...new Set(m.recipients)]);
    } else {
      const id = m.recipients.sessionMembersOf;
      const server = m.recipients.fromServer === true;
      const st = state.get(id);
      const list = members.get(id)!;
      if (st === undefined) outcomes[i] = { status: "rejected", reason: "no-session" };
      else if (st.dissolved || (!server && st.valid !== 0)) outcomes[i] = { status: "rejected", reason: "session-closed" };
      else if (!server && !memberSets.get(id)!.has(m.msgFrom)) outcomes[i] = { status: "rejected", reason: "not-member" };
      else out.set(i, list);
    }
    // A dissolve closes its session for the rest of the batch: later posts are rejected as they
    // would be in the next batch (the dissolve's purge would otherwise delete them again).
    if (out.has(i) && m.effects?.dissolve && m.sessionId !== null && state.has(m.sessionId)) state.set(m.sessionId, { valid: 1, dissolved: true });
  }
  return out;
}

interface Counters {
  convSeq: Map<string, number>;
  inboxSeq: Map<string, number>;
  /** Ids whose counter row the locking SELECT did not find. */
  missing: string[];
}

/** The counter rows a batch locked (known to exist once it commits). */
export interface Seen {
  conversations: string[];
  user_inbox: string[];
}

function kinds(batch: readonly NewMessage[], indexes: readonly number[]): Map<string, string> {
  return new Map(indexes.map((i) => [batch[i]!.convId, batch[i]!.sessionId === null ? "chat" : "session"]));
}

/**
 * The statements that make sure a counter row exists for every conversation and recipient of
 * `indexes` and lock them (conversations, then inbox heads, each sorted), and how to read
 * last_seq back from their results.
 */
function counterLocks(
  d: Dialect,
  batch: readonly NewMessage[],
  indexes: readonly number[],
  recipientsOf: (i: number) => readonly string[],
  now: number,
  known: KnownCounters | null,
): { stmts: Stmt[]; read(results: readonly Row[][]): Counters } {
  const kindOf = kinds(batch, indexes);
  const convIds = sortedUnique(indexes.map((i) => batch[i]!.convId));
  const users = sortedUnique(indexes.flatMap((i) => recipientsOf(i)));
  const isKnown = (table: string) => (id: string) => known !== null && known.has(table, id);
  const conv = lockStmts(d, "conversations", "conv_id", CONV_COLS, convIds, (id) => [id, kindOf.get(id), 0, now, now], isKnown("conversations"));
  const inbox = lockStmts(d, "user_inbox", "user_id", USER_INBOX_COLS, users, (id) => [id, 0], isKnown("user_inbox"));
  return {
    stmts: [...conv.stmts, ...inbox.stmts],
    read: (results) => {
      const missing: string[] = [];
      const convSeq = readCounters("conv_id", convIds, conv.selects.map((k) => results[k]!), missing);
      const inboxSeq = readCounters("user_id", users, inbox.selects.map((k) => results[conv.stmts.length + k]!), missing);
      return { convSeq, inboxSeq, missing };
    },
  };
}

/**
 * Per chunk: unless every row is known to exist, insert-if-missing the whole chunk (not only the
 * unknown rows: each statement must take its locks in ascending order, or two instances
 * deadlock), then read them all locked, sorted. `selects`: which statements are the SELECTs.
 */
function lockStmts(
  d: Dialect,
  table: string,
  key: string,
  cols: readonly string[],
  ids: readonly string[],
  initial: (id: string) => unknown[],
  isKnown: (id: string) => boolean,
): { stmts: Stmt[]; selects: number[] } {
  const stmts: Stmt[] = [];
  const selects: number[] = [];
  for (const chunk of chunks(ids, IN_CHUNK)) {
    if (!chunk.every(isKnown)) stmts.push(...d.insertIgnoreRows(table, cols, [key], chunk.map(initial)));
    selects.push(stmts.length);
    stmts.push(stmt(d.lockedSelect(`${key}, last_seq`, table, `${key} IN (${marks(chunk.length)})`, key), ...chunk));
  }
  return { stmts, selects };
}

function readCounters(key: string, ids: readonly string[], results: readonly Row[][], missing: string[]): Map<string, number> {
  const seqs = new Map<string, number>();
  for (const rows of results) for (const r of rows) seqs.set(String(r[key]), num(r.last_seq));
  for (const id of ids) if (!seqs.has(id)) missing.push(id);
  return seqs;
}

/**
 * Writes the counters back: one `UPDATE … SET last_seq = CASE key WHEN … END` per chunk (the rows
 * exist and are locked). Not an upsert: InnoDB's duplicate-key path for every row cost more.
 */
function updateCounters(table: string, key: string, ids: readonly string[], seqs: ReadonlyMap<string, number>, updatedAt: number | null): Stmt[] {
  return chunks(ids, IN_CHUNK).map((chunk) => {
    const cases = chunk.map(() => "WHEN ? THEN ?").join(" ");
    const params: unknown[] = [];
    for (const id of chunk) params.push(id, seqs.get(id));
    if (updatedAt !== null) params.push(updatedAt);
    params.push(...chunk);
    const touch = updatedAt !== null ? ", updated_at = ?" : "";
    return { sql: `UPDATE ${table} SET last_seq = CASE ${key} ${cases} END${touch} WHERE ${key} IN (${marks(chunk.length)})`, params };
  });
}

/**
 * The effects of the stored messages (`accepted`, batch order), written inside the batch's
 * transaction; any failure rolls the whole batch back. Consecutive read marks are written as one
 * multi-row upsert (receipts are the common case); a dissolve first flushes the pending ones, so
 * it deletes what came before it in the batch.
 */
function effectStmts(
  d: Dialect,
  batch: readonly NewMessage[],
  accepted: readonly number[],
  outcomes: readonly CommitOutcome[],
  recipientsOf: (i: number) => readonly string[],
  now: number,
): Stmt[] {
  const out: Stmt[] = [];
  /** (author, msg_id, reader) → row; a later receipt for the same key replaces the earlier. */
  let reads = new Map<string, unknown[]>();
  const flushReads = (): void => {
    if (reads.size === 0) return;
    // Sorted by key: one lock order for concurrent upserts on MySQL.
    const rows = [...reads].sort(([a], [b]) => cmp(a, b)).map(([, row]) => row);
    reads = new Map();
    out.push(...d.upsertRows("message_reads", READ_COLS, ["author", "msg_id", "reader"], rows, { status: "new", updated_at: "new" }));
  };

  for (const i of accepted) {
    const m = batch[i]!;
    const e = m.effects;
    if (!e) continue;
    const seq = (outcomes[i] as Extract<CommitOutcome, { status: "stored" }>).message.seq;

    if (e.revoke && e.revoke.length > 0) {
      // Only this conversation, never the notice itself (it may list its own id).
      const refs = dedupeBy(e.revoke, (r) => msgKey(r.msgFrom, r.msgId)).sort((a, b) => cmp(msgKey(a.msgFrom, a.msgId), msgKey(b.msgFrom, b.msgId)));
      for (const chunk of chunks(refs, IN_CHUNK)) {
        out.push(stmt(
          `UPDATE messages SET revoked = 1 WHERE conv_id = ? AND seq <> ? AND ${d.pairIn("msg_from", "msg_id", chunk.length)}`,
          m.convId, seq, ...chunk.flatMap((r) => [r.msgFrom, r.msgId]),
        ));
      }
    }

    for (const r of e.reads ?? []) {
      reads.set(readKey(r.author, r.msgId, m.msgFrom), [r.author, r.msgId, m.msgFrom, r.status, m.convId, now]);
    }

    if (e.dissolve) {
      if (m.sessionId === null) throw new Error(`dissolve effect on message '${m.msgId}' from '${m.msgFrom}', which has no session`);
      flushReads();
      // The notice is already queued for every member (recipients were read at the start).
      out.push(
        stmt("DELETE FROM session_members WHERE session_id = ?", m.sessionId),
        stmt("UPDATE sessions SET session_valid = 1, session_delete_time = ? WHERE session_id = ?", String(now), m.sessionId),
        stmt("DELETE FROM messages WHERE conv_id = ? AND seq <> ?", m.convId, seq),
        // The members' inbox entries, through the (user_id, conv_id, conv_seq) index: never a
        // scan of every inbox inside the batch's transaction. Entries of members who left before
        // point at deleted messages and are never read again (every inbox read joins messages).
        ...chunks(sortedUnique(recipientsOf(i)), IN_CHUNK).map((users) =>
          stmt(`DELETE FROM inbox WHERE user_id IN (${marks(users.length)}) AND conv_id = ? AND conv_seq <> ?`, ...users, m.convId, seq)),
        stmt("DELETE FROM message_reads WHERE conv_id = ?", m.convId),
      );
    }
  }
  flushReads();
  return out;
}

/**
 * Last activity of the conversations the batch's visible messages went to: one UPDATE of the
 * sessions' modify time (their rows are already locked in step 1) and one multi-row upsert of the
 * 1:1 pairs, both directions, sorted (one lock order on MySQL).
 */
function touchConversations(d: Dialect, stored: readonly NewMessage[], now: number): Stmt[] {
  const visible = stored.filter((m) => !m.hidden);
  const sessions = sortedUnique(visible.flatMap((m) => (m.sessionId === null ? [] : [m.sessionId])));
  const out = chunks(sessions, IN_CHUNK).map((chunk) =>
    stmt(`UPDATE sessions SET session_modify_time = ? WHERE session_id IN (${marks(chunk.length)})`, String(now), ...chunk));
  const pairs = new Map<string, unknown[]>();
  for (const m of visible) {
    if (m.sessionId !== null) continue;
    pairs.set(msgKey(m.msgFrom, m.msgTo), [m.msgFrom, m.msgTo, now, now]);
    pairs.set(msgKey(m.msgTo, m.msgFrom), [m.msgTo, m.msgFrom, now, now]);
  }
  const rows = [...pairs].sort(([a], [b]) => cmp(a, b)).map(([, row]) => row);
  return [...out, ...d.upsertRows("chats", CHAT_COLS, ["user_id", "peer_id"], rows, { updated_at: "new" })];
}

function bump(counters: Map<string, number>, id: string): number {
  const next = counters.get(id)! + 1;
  counters.set(id, next);
  return next;
}
