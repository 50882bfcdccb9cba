// The Store over SQL, written once against the Dialect (dialect.ts holds every difference).
// The hot path, commitBatch, is raw parameterised SQL: no entity hydration, no repo.save.
// Write path as in DESIGN §3: dedupe, resolve recipients, lock the conversation and inbox heads
// touched, number in memory in arrival order, multi-row inserts, write the heads back; one
// transaction per batch.
import type { DataSource } from "typeorm";
import { RetryBatch } from "../types.js";
import type {
  ChatPeer,
  CommitOptions,
  CommitOutcome,
  ConvId,
  CursorAdvance,
  HistoryFilter,
  InboxItem,
  InboxRef,
  Member,
  NewMessage,
  OnlineDevice,
  Page,
  Pubact,
  ReadMark,
  Session,
  SessionChanges,
  Store,
  StoredFile,
  StoredMessage,
  Style,
  User,
} from "../types.js";
import { dialectFor, gate, many, stmt, type Dialect, type Program, type Row, type Stmt } from "./dialect.js";

const MSG_COLS = [
  "conv_id", "seq", "msg_id", "msg_from", "msg_to", "msg_type", "msg_time", "body", "session_id",
  "compress", "encode", "encrypt", "version", "created_at", "revoked", "hidden",
] as const;
const MSG_SELECT = MSG_COLS.map((c) => `m.${c}`).join(", ");
const INBOX_COLS = ["user_id", "seq", "conv_id", "conv_seq", "created_at"] as const;
const CURSOR_COLS = ["user_id", "device", "acked_seq", "updated_at"] as const;
const ONLINE_COLS = ["user_id", "resource", "via", "updated_at"] as const;
const SESSION_COLS = [
  "session_id", "session_type", "session_name", "session_user", "session_pic", "session_valid",
  "session_create_time", "session_modify_time", "session_delete_time",
] as const;
const MEMBER_COLS = ["session_id", "user_id", "user_name", "acct_login", "pic", "ts"] as const;
const READ_COLS = ["author", "msg_id", "reader", "status", "conv_id", "updated_at"] as const;
const CHAT_COLS = ["user_id", "peer_id", "created_at", "updated_at"] as const;
const USER_COLS = ["user_id", "user_name", "acct_login", "user_email", "pic_url", "app_push_code", "updated_at"] as const;
const PUBACT_COLS = ["id", "title", "content", "user_id", "ts", "session_id"] as const;
const STYLE_COLS = ["style_id", "style_name", "style_value", "user_id"] as const;
const FILE_COLS = ["file_id", "file_name", "content_type", "size", "user_id", "created_at"] as const;
/** SessionChanges field → column. */
const SESSION_CHANGE_COLS: Record<keyof SessionChanges, string> = {
  sessionName: "session_name",
  sessionPic: "session_pic",
  sessionValid: "session_valid",
  sessionModifyTime: "session_modify_time",
};

/** Rows per IN (…) list. */
const IN_CHUNK = 500;
/** Rows per multi-row INSERT, before the parameter and size limits. */
const INSERT_CHUNK = 1000;

/** Retries of a whole batch: once after a duplicate-key error (another instance stored one of the
 * messages between our check and our insert), a few times after a deadlock or lock timeout. */
const DUPLICATE_RETRIES = 1;
const TRANSIENT_RETRIES = 3;

/**
 * Counter rows (conversations, user_inbox) this process has seen committed. They are never
 * deleted, so a known row needs no insert before it is locked: a batch of known conversations
 * locks with one SELECT … FOR UPDATE per table. Another instance's new rows are simply unknown
 * here (and inserted-if-missing as before); the set is emptied when it grows past `max`.
 */
class KnownCounters {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 500_000) {}
  has(table: string, id: string): boolean {
    return this.ids.has(`${table}\u0000${id}`);
  }
  addAll(table: string, ids: readonly string[]): void {
    if (this.ids.size + ids.length > this.max) this.ids.clear();
    for (const id of ids) this.ids.add(`${table}\u0000${id}`);
  }
}

export class SqlStore implements Store {
  private readonly dialect: Dialect;
  private readonly known = new KnownCounters();

  constructor(private readonly ds: DataSource) {
    this.dialect = dialectFor(ds);
  }

  /** MySQL: yes, on another pooled connection. SQLite: one connection, commits run in turn. */
  get concurrentCommits(): boolean {
    return this.dialect.kind === "mysql";
  }

  async commitBatch(batch: NewMessage[], opts: CommitOptions = {}): Promise<CommitOutcome[]> {
    if (batch.length === 0) return [];
    let duplicates = 0;
    let transients = 0;
    for (;;) {
      const now = Date.now();
      const seen: Seen = { conversations: [], user_inbox: [] };
      let lockedNow = false;
      const locked = () => {
        lockedNow = true;
        opts.locked?.();
      };
      let gateFailed = false;
      const ready = opts.ready?.catch((err: unknown) => {
        gateFailed = true;
        throw err;
      });
      ready?.catch(() => {}); // awaited only if the program reaches its gate
      try {
        const out = await this.dialect.run(() => commitProgram(this.dialect, batch, now, locked, ready, this.known, seen), { tx: true });
        this.known.addAll("conversations", seen.conversations);
        this.known.addAll("user_inbox", seen.user_inbox);
        return out;
      } catch (err) {
        // The batch before runs again: this one rolled back and runs again after it.
        if (gateFailed) throw new RetryBatch(err);
        const retryable = this.dialect.isDuplicateKey(err) || this.dialect.isTransient(err);
        // Once a pipelined batch held its locks, the next batch may be numbered after it: it must
        // not run again in place (it would be numbered after that one but settle before it).
        if (retryable && opts.ready !== undefined && lockedNow) throw new RetryBatch(err);
        if (this.dialect.isDuplicateKey(err) && duplicates++ < DUPLICATE_RETRIES) continue;
        if (this.dialect.isTransient(err) && transients++ < TRANSIENT_RETRIES) continue;
        throw err;
      }
    }
  }

  inboxAfter(userId: string, afterSeq: number, limit: number): Promise<InboxItem[]> {
    if (limit <= 0) return Promise.resolve([]);
    const lim = this.dialect.limitOffset(limit, 0);
    return this.dialect.run(function* () {
      const rows = yield stmt(
        `SELECT i.seq AS inbox_seq, ${MSG_SELECT} FROM inbox i
         JOIN messages m ON m.conv_id = i.conv_id AND m.seq = i.conv_seq
         WHERE i.user_id = ? AND i.seq > ? AND m.revoked = 0
         ORDER BY i.seq ${lim.sql}`,
        userId, afterSeq, ...lim.params,
      );
      return rows.map((r) => ({ userId, inboxSeq: num(r.inbox_seq), message: toMessage(r) }));
    }, { tx: false });
  }

  inboxSeqOf(userId: string, convId: ConvId, convSeq: number): Promise<number | null> {
    return this.dialect.run(function* () {
      const rows = yield stmt("SELECT seq FROM inbox WHERE user_id = ? AND conv_id = ? AND conv_seq = ?", userId, convId, convSeq);
      return rows[0] ? num(rows[0].seq) : null;
    }, { tx: false });
  }

  inboxSeqOfMsgId(userId: string, msgId: string): Promise<number | null> {
    const d = this.dialect;
    const lim = d.limitOffset(1, 0);
    return d.run(function* () {
      // msg_id index first (few rows), then the (user_id, conv_id, conv_seq) inbox index; left
      // alone, SQLite would rather walk the user's whole inbox backwards for the ORDER BY.
      const rows = yield stmt(
        `SELECT i.seq FROM messages m
         ${d.joinInOrder} inbox i ON i.user_id = ? AND i.conv_id = m.conv_id AND i.conv_seq = m.seq
         WHERE m.msg_id = ? ORDER BY i.seq DESC ${lim.sql}`,
        userId, msgId, ...lim.params,
      );
      return rows[0] ? num(rows[0].seq) : null;
    }, { tx: false });
  }

  cursorGet(userId: string, device: string): Promise<number> {
    return this.dialect.run(function* () {
      const rows = yield stmt("SELECT acked_seq FROM device_cursors WHERE user_id = ? AND device = ?", userId, device);
      return rows[0] ? num(rows[0].acked_seq) : 0;
    }, { tx: false });
  }

  async cursorAdvance(advances: readonly CursorAdvance[]): Promise<void> {
    if (advances.length === 0) return;
    const d = this.dialect;
    const now = Date.now();
    // One row per device (the highest seq), sorted by key: one lock order for concurrent upserts.
    const best = new Map<string, unknown[]>();
    for (const a of advances) {
      const k = msgKey(a.userId, a.device);
      const seen = best.get(k);
      if (!seen || (seen[2] as number) < a.seq) best.set(k, [a.userId, a.device, a.seq, now]);
    }
    const rows = [...best].sort(([a], [b]) => cmp(a, b)).map(([, row]) => row);
    const stmts = chunks(rows, maxRows(d, CURSOR_COLS.length)).map((chunk) => ({
      sql: d.upsert("device_cursors", CURSOR_COLS, ["user_id", "device"], chunk.length, { acked_seq: "max", updated_at: "new" }),
      params: flatten(chunk),
    }));
    await d.run(function* () {
      yield* many(stmts, { commit: true });
    }, { tx: true });
  }

  cursorsOf(userId: string): Promise<Record<string, number>> {
    return this.dialect.run(function* () {
      const rows = yield stmt("SELECT device, acked_seq FROM device_cursors WHERE user_id = ? ORDER BY device", userId);
      const out: Record<string, number> = {};
      for (const r of rows) out[str(r.device)] = num(r.acked_seq);
      return out;
    }, { tx: false });
  }

  async onlineDevicePut(device: OnlineDevice): Promise<void> {
    const d = this.dialect;
    await d.run(function* () {
      yield stmt(d.upsert("online_devices", ONLINE_COLS, ["user_id", "resource"], 1, { via: "new", updated_at: "new" }), device.userId, device.resource, device.via, Date.now());
    }, { tx: false });
  }

  async onlineDeviceRemove(userId: string, resource: string): Promise<void> {
    await this.dialect.run(function* () {
      yield stmt("DELETE FROM online_devices WHERE user_id = ? AND resource = ?", userId, resource);
    }, { tx: false });
  }

  onlineDevices(): Promise<OnlineDevice[]> {
    return this.dialect.run(function* () {
      const rows = yield stmt("SELECT user_id, resource, via FROM online_devices ORDER BY user_id, resource");
      return rows.map((r) => ({ userId: str(r.user_id), resource: str(r.resource), via: str(r.via) }));
    }, { tx: false });
  }

  findMessage(msgFrom: string, msgId: string): Promise<StoredMessage | null> {
    return this.dialect.run(function* () {
      const rows = yield stmt(`SELECT ${MSG_SELECT} FROM messages m WHERE m.msg_from = ? AND m.msg_id = ?`, msgFrom, msgId);
      return rows[0] ? toMessage(rows[0]) : null;
    }, { tx: false });
  }

  findMessageInConv(convId: ConvId, msgId: string): Promise<StoredMessage | null> {
    const d = this.dialect;
    return d.run(function* () {
      const lim = d.limitOffset(1, 0);
      const rows = yield stmt(
        `SELECT ${MSG_SELECT} FROM messages m WHERE m.conv_id = ? AND m.msg_id = ? ORDER BY m.seq ${lim.sql}`,
        convId, msgId, ...lim.params,
      );
      return rows[0] ? toMessage(rows[0]) : null;
    }, { tx: false });
  }

  messagesByMsgId(msgId: string): Promise<StoredMessage[]> {
    return this.dialect.run(function* () {
      const rows = yield stmt(`SELECT ${MSG_SELECT} FROM messages m WHERE m.msg_id = ? ORDER BY m.created_at, m.conv_id, m.seq`, msgId);
      return rows.map(toMessage);
    }, { tx: false });
  }

  history(convId: ConvId, offset: number, limit: number, filter: HistoryFilter = {}): Promise<Page<StoredMessage>> {
    const d = this.dialect;
    // Both statements walk the (conv_id, seq) primary key: no sort, no scan beyond the conversation.
    let where = "m.conv_id = ? AND m.revoked = 0 AND m.hidden = 0";
    const params: unknown[] = [convId];
    if (filter.msgType !== undefined) {
      where += " AND m.msg_type = ?";
      params.push(filter.msgType);
    }
    return d.run(function* () {
      const count = yield stmt(`SELECT COUNT(*) AS n FROM messages m WHERE ${where}`, ...params);
      const total = num(count[0]?.n ?? 0);
      if (limit <= 0 || offset >= total) return { total, items: [] };
      const lim = d.limitOffset(limit, offset);
      const before = filter.beforeSeq === undefined ? "" : " AND m.seq < ?";
      const rows = yield stmt(
        `SELECT ${MSG_SELECT} FROM messages m WHERE ${where}${before} ORDER BY m.seq DESC ${lim.sql}`,
        ...params, ...(filter.beforeSeq === undefined ? [] : [filter.beforeSeq]), ...lim.params,
      );
      return { total, items: rows.map(toMessage) };
    }, { tx: false });
  }

  conversationClear(convId: ConvId, users: string[]): Promise<number> {
    const d = this.dialect;
    const ids = sortedUnique(users);
    return d.run(function* () {
      // The conversation's counter row is what commitBatch locks: a commit into this conversation
      // runs entirely before or after the clear.
      yield stmt(`SELECT last_seq FROM conversations WHERE conv_id = ?${d.forUpdate}`, convId);
      const count = yield stmt("SELECT COUNT(*) AS n FROM messages WHERE conv_id = ?", convId);
      for (const chunk of chunks(ids, IN_CHUNK)) {
        yield stmt(`DELETE FROM inbox WHERE user_id IN (${marks(chunk.length)}) AND conv_id = ?`, ...chunk, convId);
      }
      yield stmt("DELETE FROM message_reads WHERE conv_id = ?", convId);
      yield stmt("DELETE FROM messages WHERE conv_id = ?", convId);
      return num(count[0]?.n ?? 0);
    }, { tx: true });
  }

  readsOf(author: string, msgId: string): Promise<ReadMark[]> {
    return this.dialect.run(function* () {
      const rows = yield stmt(
        "SELECT author, msg_id, reader, status, updated_at FROM message_reads WHERE author = ? AND msg_id = ? ORDER BY reader",
        author, msgId,
      );
      return rows.map(toReadMark);
    }, { tx: false });
  }

  readCounts(author: string, msgIds: string[]): Promise<Record<string, number>> {
    const ids = sortedUnique(msgIds);
    if (ids.length === 0) return Promise.resolve({});
    return this.dialect.run(function* () {
      const out: Record<string, number> = {};
      for (const chunk of chunks(ids, IN_CHUNK)) {
        const rows = yield stmt(
          `SELECT msg_id, COUNT(*) AS n FROM message_reads WHERE author = ? AND msg_id IN (${chunk.map(() => "?").join(", ")}) GROUP BY msg_id`,
          author, ...chunk,
        );
        for (const r of rows) out[str(r.msg_id)] = num(r.n);
      }
      return out;
    }, { tx: false });
  }

  async sessionCreate(session: Session, members: Member[]): Promise<void> {
    const d = this.dialect;
    await d.run(function* () {
      yield stmt(d.insert("sessions", SESSION_COLS, 1), ...sessionValues(session));
      const rows = members.map(memberValues);
      for (const chunk of chunkRows(rows, maxRows(d, MEMBER_COLS.length), d.maxStatementBytes)) {
        yield { sql: d.insert("session_members", MEMBER_COLS, chunk.length), params: flatten(chunk) };
      }
    }, { tx: true });
  }

  sessionGet(sessionId: string): Promise<Session | null> {
    return this.dialect.run(function* () {
      const rows = yield stmt(`SELECT ${SESSION_COLS.join(", ")} FROM sessions WHERE session_id = ?`, sessionId);
      return rows[0] ? toSession(rows[0]) : null;
    }, { tx: false });
  }

  sessionMembers(sessionId: string): Promise<Member[]> {
    return this.dialect.run(function* () {
      const rows = yield stmt(
        `SELECT ${MEMBER_COLS.join(", ")} FROM session_members WHERE session_id = ? ORDER BY ts, user_id`,
        sessionId,
      );
      return rows.map(toMember);
    }, { tx: false });
  }

  sessionUpdate(sessionId: string, changes: SessionChanges): Promise<boolean> {
    const sets = (Object.keys(changes) as Array<keyof SessionChanges>).filter((k) => changes[k] !== undefined);
    return this.dialect.run(function* () {
      const found = yield stmt("SELECT session_id FROM sessions WHERE session_id = ?", sessionId);
      if (found.length === 0) return false;
      if (sets.length > 0) {
        yield stmt(
          `UPDATE sessions SET ${sets.map((k) => `${SESSION_CHANGE_COLS[k]} = ?`).join(", ")} WHERE session_id = ?`,
          ...sets.map((k) => changes[k]), sessionId,
        );
      }
      return true;
    }, { tx: true });
  }

  sessionDelete(sessionId: string): Promise<boolean> {
    return this.dialect.run(function* () {
      const found = yield stmt("SELECT session_id FROM sessions WHERE session_id = ?", sessionId);
      yield stmt("DELETE FROM session_members WHERE session_id = ?", sessionId);
      yield stmt("DELETE FROM sessions WHERE session_id = ?", sessionId);
      return found.length > 0;
    }, { tx: true });
  }

  async sessionMembersPut(sessionId: string, members: Member[]): Promise<void> {
    const d = this.dialect;
    // Sorted: one lock order for concurrent upserts on MySQL. The join time of a member already
    // in stays; the profile snapshot is refreshed.
    const rows = [...members].sort((a, b) => cmp(a.userId, b.userId)).map((m) => memberValues({ ...m, sessionId }));
    if (rows.length === 0) return;
    await d.run(function* () {
      for (const chunk of chunkRows(rows, maxRows(d, MEMBER_COLS.length), d.maxStatementBytes)) {
        yield { sql: d.upsert("session_members", MEMBER_COLS, ["session_id", "user_id"], chunk.length, { user_name: "new", acct_login: "new", pic: "new" }), params: flatten(chunk) };
      }
    }, { tx: true });
  }

  sessionMembersRemove(sessionId: string, userIds: string[]): Promise<number> {
    const ids = sortedUnique(userIds);
    if (ids.length === 0) return Promise.resolve(0);
    return this.dialect.run(function* () {
      let removed = 0;
      for (const chunk of chunks(ids, IN_CHUNK)) {
        const where = `session_id = ? AND user_id IN (${marks(chunk.length)})`;
        const count = yield stmt(`SELECT COUNT(*) AS n FROM session_members WHERE ${where}`, sessionId, ...chunk);
        removed += num(count[0]?.n ?? 0);
        yield stmt(`DELETE FROM session_members WHERE ${where}`, sessionId, ...chunk);
      }
      return removed;
    }, { tx: true });
  }

  sessionsOf(userId: string, valid: number): Promise<Session[]> {
    return this.dialect.run(function* () {
      const rows = yield stmt(
        `SELECT ${SESSION_COLS.map((c) => `s.${c}`).join(", ")} FROM session_members sm
         JOIN sessions s ON s.session_id = sm.session_id
         WHERE sm.user_id = ? AND s.session_valid = ?
         ORDER BY COALESCE(s.session_modify_time, s.session_create_time) DESC, s.session_id`,
        userId, valid,
      );
      return rows.map(toSession);
    }, { tx: false });
  }

  chatsOf(userId: string): Promise<ChatPeer[]> {
    return this.dialect.run(function* () {
      const rows = yield stmt(`SELECT ${CHAT_COLS.join(", ")} FROM chats WHERE user_id = ? ORDER BY updated_at DESC, peer_id`, userId);
      return rows.map((r) => ({ userId: str(r.user_id), peerId: str(r.peer_id), createdAt: num(r.created_at), updatedAt: num(r.updated_at) }));
    }, { tx: false });
  }

  async usersPut(users: User[]): Promise<void> {
    const d = this.dialect;
    const rows = dedupeBy(users, (u) => u.userId).sort((a, b) => cmp(a.userId, b.userId)).map(userValues);
    if (rows.length === 0) return;
    const set = { user_name: "new", acct_login: "new", user_email: "new", pic_url: "new", app_push_code: "new", updated_at: "new" } as const;
    await d.run(function* () {
      for (const chunk of chunkRows(rows, maxRows(d, USER_COLS.length), d.maxStatementBytes)) {
        yield { sql: d.upsert("users", USER_COLS, ["user_id"], chunk.length, set), params: flatten(chunk) };
      }
    }, { tx: true });
  }

  usersRemove(userIds: string[]): Promise<number> {
    const ids = sortedUnique(userIds);
    if (ids.length === 0) return Promise.resolve(0);
    return this.dialect.run(function* () {
      let removed = 0;
      for (const chunk of chunks(ids, IN_CHUNK)) {
        const count = yield stmt(`SELECT COUNT(*) AS n FROM users WHERE user_id IN (${marks(chunk.length)})`, ...chunk);
        removed += num(count[0]?.n ?? 0);
        yield stmt(`DELETE FROM users WHERE user_id IN (${marks(chunk.length)})`, ...chunk);
      }
      return removed;
    }, { tx: true });
  }

  usersGet(userIds: string[]): Promise<User[]> {
    const ids = sortedUnique(userIds);
    if (ids.length === 0) return Promise.resolve([]);
    return this.dialect.run(function* () {
      const out: User[] = [];
      for (const chunk of chunks(ids, IN_CHUNK)) {
        const rows = yield stmt(`SELECT ${USER_COLS.join(", ")} FROM users WHERE user_id IN (${marks(chunk.length)})`, ...chunk);
        out.push(...rows.map(toUser));
      }
      return out;
    }, { tx: false });
  }

  async userPushCodeSet(userId: string, code: string | null): Promise<void> {
    const sql = this.dialect.upsert("users", USER_COLS, ["user_id"], 1, { app_push_code: "new", updated_at: "new" });
    await this.dialect.run(function* () {
      yield stmt(sql, userId, userId, userId, null, null, code, Date.now());
    }, { tx: false });
  }

  async pubactAdd(p: Pubact): Promise<void> {
    const d = this.dialect;
    await d.run(function* () {
      yield stmt(d.insert("pubacts", PUBACT_COLS, 1), p.id, p.title, p.content, p.userId, p.ts, p.sessionId);
    }, { tx: false });
  }

  pubactsOf(sessionId: string): Promise<Pubact[]> {
    return this.dialect.run(function* () {
      const rows = yield stmt(`SELECT ${PUBACT_COLS.join(", ")} FROM pubacts WHERE session_id = ? ORDER BY ts DESC, id`, sessionId);
      return rows.map((r) => ({ id: str(r.id), title: str(r.title), content: str(r.content), userId: str(r.user_id), ts: str(r.ts), sessionId: str(r.session_id) }));
    }, { tx: false });
  }

  pubactUpdate(id: string, changes: Partial<Pick<Pubact, "title" | "content">>): Promise<boolean> {
    const sets = (["title", "content"] as const).filter((k) => changes[k] !== undefined);
    return this.dialect.run(function* () {
      const found = yield stmt("SELECT id FROM pubacts WHERE id = ?", id);
      if (found.length === 0) return false;
      if (sets.length > 0) yield stmt(`UPDATE pubacts SET ${sets.map((k) => `${k} = ?`).join(", ")} WHERE id = ?`, ...sets.map((k) => changes[k]), id);
      return true;
    }, { tx: true });
  }

  pubactDelete(id: string): Promise<boolean> {
    return this.dialect.run(function* () {
      const found = yield stmt("SELECT id FROM pubacts WHERE id = ?", id);
      yield stmt("DELETE FROM pubacts WHERE id = ?", id);
      return found.length > 0;
    }, { tx: true });
  }

  stylePut(style: Style): Promise<Style> {
    const d = this.dialect;
    const sql = d.upsert("styles", STYLE_COLS, ["user_id", "style_name"], 1, { style_value: "new" });
    return d.run(function* () {
      yield stmt(sql, style.styleId, style.styleName, style.styleValue, style.userId);
      const rows = yield stmt(`SELECT ${STYLE_COLS.join(", ")} FROM styles WHERE user_id = ? AND style_name = ?`, style.userId, style.styleName);
      return toStyle(rows[0]!);
    }, { tx: true });
  }

  stylesOf(userId: string): Promise<Style[]> {
    return this.dialect.run(function* () {
      const rows = yield stmt(`SELECT ${STYLE_COLS.join(", ")} FROM styles WHERE user_id = ? ORDER BY style_name`, userId);
      return rows.map(toStyle);
    }, { tx: false });
  }

  async fileAdd(f: StoredFile): Promise<void> {
    const d = this.dialect;
    await d.run(function* () {
      yield stmt(d.insert("files", FILE_COLS, 1), f.fileId, f.fileName, f.contentType, f.size, f.userId, f.createdAt);
    }, { tx: false });
  }

  fileGet(fileId: string): Promise<StoredFile | null> {
    return this.dialect.run(function* () {
      const rows = yield stmt(`SELECT ${FILE_COLS.join(", ")} FROM files WHERE file_id = ?`, fileId);
      const r = rows[0];
      return r
        ? { fileId: str(r.file_id), fileName: str(r.file_name), contentType: str(r.content_type), size: num(r.size), userId: strOrNull(r.user_id), createdAt: num(r.created_at) }
        : null;
    }, { tx: false });
  }

  async ping(): Promise<void> {
    await this.dialect.run(function* () {
      yield stmt("SELECT 1 AS ok");
    }, { tx: false });
  }

  async close(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// commitBatch as one program (runs inside the dialect's transaction).

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
function* commitProgram(
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
    for (const chunk of chunkRows(messageRows, maxRows(d, MSG_COLS.length), d.maxStatementBytes)) {
      writes.push({ sql: d.insert("messages", MSG_COLS, chunk.length), params: flatten(chunk) });
    }
    for (const chunk of chunkRows(inboxRows, maxRows(d, INBOX_COLS.length), d.maxStatementBytes)) {
      writes.push({ sql: d.insert("inbox", INBOX_COLS, chunk.length), params: flatten(chunk) });
    }
    writes.push(
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
      stmt(`SELECT session_id, session_valid, session_delete_time FROM sessions WHERE session_id IN (${list}) ORDER BY session_id${d.forUpdate}`, ...chunk),
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
interface Seen {
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
  for (const chunk of chunks(ids, Math.min(IN_CHUNK, maxRows(d, cols.length)))) {
    if (!chunk.every(isKnown)) stmts.push({ sql: d.insertIgnore(table, cols, [key], chunk.length), params: flatten(chunk.map(initial)) });
    selects.push(stmts.length);
    stmts.push(stmt(`SELECT ${key}, last_seq FROM ${table} WHERE ${key} IN (${marks(chunk.length)}) ORDER BY ${key}${d.forUpdate}`, ...chunk));
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
    for (const chunk of chunkRows(rows, maxRows(d, READ_COLS.length), d.maxStatementBytes)) {
      out.push({ sql: d.upsert("message_reads", READ_COLS, ["author", "msg_id", "reader"], chunk.length, { status: "new", updated_at: "new" }), params: flatten(chunk) });
    }
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
  return [...out, ...upsertRows(d, "chats", CHAT_COLS, ["user_id", "peer_id"], { updated_at: "new" }, rows)];
}

/** Multi-row upserts in chunks (the counters, the 1:1 pairs); rows come sorted by key. */
function upsertRows(
  d: Dialect,
  table: string,
  cols: readonly string[],
  key: readonly string[],
  set: Record<string, "new">,
  rows: unknown[][],
): Stmt[] {
  return chunks(rows, maxRows(d, cols.length)).map((chunk) => ({ sql: d.upsert(table, cols, key, chunk.length, set), params: flatten(chunk) }));
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Rows → one parameter list. A plain loop: Array.prototype.flat was 5.7 % of CPU under load
 * (docs/performance.md). */
function flatten(rows: readonly unknown[][]): unknown[] {
  const out: unknown[] = [];
  for (const row of rows) for (const v of row) out.push(v);
  return out;
}

function msgKey(msgFrom: string, msgId: string): string {
  return `${msgFrom}\u0000${msgId}`;
}

function readKey(author: string, msgId: string, reader: string): string {
  return `${author}\u0000${msgId}\u0000${reader}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `?, ?, …` for an IN list of n values. */
function marks(n: number): string {
  return new Array(n).fill("?").join(", ");
}

function dedupeBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  return [...new Map(items.map((t) => [key(t), t])).values()];
}

function bump(counters: Map<string, number>, id: string): number {
  const next = counters.get(id)! + 1;
  counters.set(id, next);
  return next;
}

function sortedUnique(ids: readonly string[]): string[] {
  // Plain code-unit order; any total order works as long as every writer uses the same one.
  return [...new Set(ids)].sort(cmp);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function maxRows(d: Dialect, cols: number): number {
  return Math.max(1, Math.min(INSERT_CHUNK, Math.floor(d.maxParams / cols)));
}

/** Chunks rows by count and by approximate size (strings count 3 bytes per UTF-16 unit). */
function chunkRows(rows: readonly unknown[][], rowLimit: number, byteLimit: number): unknown[][][] {
  const out: unknown[][][] = [];
  let current: unknown[][] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = row.reduce<number>((n, v) => n + (typeof v === "string" ? v.length * 3 : 8) + 4, 16);
    if (current.length > 0 && (current.length >= rowLimit || bytes + size > byteLimit)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** bigint columns come back as numbers from both drivers; Number() also covers COUNT(*) etc. */
function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

function str(v: unknown): string {
  return String(v);
}

function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function messageValues(m: StoredMessage): unknown[] {
  return [
    m.convId, m.seq, m.msgId, m.msgFrom, m.msgTo, m.msgType, m.msgTime, m.body, m.sessionId,
    m.compress, m.encode, m.encrypt, m.version, m.createdAt, m.revoked ? 1 : 0, m.hidden ? 1 : 0,
  ];
}

function toMessage(r: Row): StoredMessage {
  return {
    convId: str(r.conv_id),
    seq: num(r.seq),
    msgId: str(r.msg_id),
    msgFrom: str(r.msg_from),
    msgTo: str(r.msg_to),
    msgType: str(r.msg_type),
    msgTime: str(r.msg_time),
    body: str(r.body),
    sessionId: strOrNull(r.session_id),
    compress: str(r.compress),
    encode: str(r.encode),
    encrypt: str(r.encrypt),
    version: str(r.version),
    createdAt: num(r.created_at),
    revoked: num(r.revoked) !== 0,
    hidden: num(r.hidden) !== 0,
  };
}

function toReadMark(r: Row): ReadMark {
  return {
    author: str(r.author),
    msgId: str(r.msg_id),
    reader: str(r.reader),
    status: num(r.status),
    updatedAt: num(r.updated_at),
  };
}

function sessionValues(s: Session): unknown[] {
  return [
    s.sessionId, s.sessionType, s.sessionName, s.sessionUser, s.sessionPic, s.sessionValid,
    s.sessionCreateTime, s.sessionModifyTime, s.sessionDeleteTime,
  ];
}

function toSession(r: Row): Session {
  return {
    sessionId: str(r.session_id),
    sessionType: num(r.session_type),
    sessionName: str(r.session_name),
    sessionUser: str(r.session_user),
    sessionPic: strOrNull(r.session_pic),
    sessionValid: num(r.session_valid),
    sessionCreateTime: str(r.session_create_time),
    sessionModifyTime: strOrNull(r.session_modify_time),
    sessionDeleteTime: strOrNull(r.session_delete_time),
  };
}

function userValues(u: User): unknown[] {
  return [u.userId, u.userName, u.acctLogin, u.userEmail, u.picUrl, u.appPushCode, u.updatedAt];
}

function toUser(r: Row): User {
  return {
    userId: str(r.user_id),
    userName: str(r.user_name),
    acctLogin: str(r.acct_login),
    userEmail: strOrNull(r.user_email),
    picUrl: strOrNull(r.pic_url),
    appPushCode: strOrNull(r.app_push_code),
    updatedAt: num(r.updated_at),
  };
}

function toStyle(r: Row): Style {
  return { styleId: str(r.style_id), styleName: str(r.style_name), styleValue: num(r.style_value), userId: str(r.user_id) };
}

function memberValues(m: Member): unknown[] {
  return [m.sessionId, m.userId, m.userName, m.acctLogin, m.pic, m.ts];
}

function toMember(r: Row): Member {
  return {
    sessionId: str(r.session_id),
    userId: str(r.user_id),
    userName: str(r.user_name),
    acctLogin: str(r.acct_login),
    pic: strOrNull(r.pic),
    ts: str(r.ts),
  };
}
