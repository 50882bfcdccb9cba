// The Store over SQL, written once against the Dialect (dialect.ts); one adapter per database
// (adapters/) turns its statements into that database's. The hot path, commitBatch, is the
// program in commit.ts: raw parameterised SQL, no entity hydration, no repo.save.
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
  Member,
  NewMessage,
  OnlineDevice,
  Page,
  Pubact,
  PurgeRequest,
  PurgeResult,
  ReadMark,
  Session,
  SessionChanges,
  Store,
  StoredFile,
  StoredMessage,
  Style,
  User,
} from "../types.js";
import { dialectFor } from "./adapters/index.js";
import { commitProgram, DUPLICATE_RETRIES, KnownCounters, TRANSIENT_RETRIES, type Seen } from "./commit.js";
import { flatten, many, stmt, type Dialect } from "./dialect.js";
import {
  CHAT_COLS, chunks, cmp, CURSOR_COLS, dedupeBy, FILE_COLS, IN_CHUNK, marks, MEMBER_COLS, memberValues, MSG_SELECT, msgKey,
  num, ONLINE_COLS, PUBACT_COLS, SESSION_CHANGE_COLS, SESSION_COLS, sessionValues, sortedUnique, str, strOrNull, STYLE_COLS,
  toMember, toMessage, toReadMark, toSession, toStyle, toUser, USER_COLS, userValues,
} from "./rows.js";
import { purgeDeleteProgram, purgePlanProgram } from "./retention.js";

export class SqlStore implements Store {
  private readonly dialect: Dialect;
  private readonly known = new KnownCounters();

  /** `dialect`: the adapter to use instead of the DataSource's own (the offline statement tests). */
  constructor(private readonly ds: DataSource, dialect?: Dialect) {
    this.dialect = dialect ?? dialectFor(ds);
  }

  /** Yes on a pool of connections; SQLite has one connection and commits run in turn. */
  get concurrentCommits(): boolean {
    return this.dialect.concurrentCommits;
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
    const stmts = d.upsertRows("device_cursors", CURSOR_COLS, ["user_id", "device"], rows, { acked_seq: "max", updated_at: "new" });
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
      yield* many(d.upsertRows("online_devices", ONLINE_COLS, ["user_id", "resource"], [[device.userId, device.resource, device.via, Date.now()]], { via: "new", updated_at: "new" }));
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
      yield stmt(d.lockedSelect("last_seq", "conversations", "conv_id = ?", "conv_id"), convId);
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

  readBy(reader: string, messages: Array<{ author: string; msgId: string }>): Promise<Array<{ author: string; msgId: string }>> {
    const pairs = dedupeBy(messages, (m) => msgKey(m.author, m.msgId)).map((m) => [m.author, m.msgId] as const);
    if (pairs.length === 0) return Promise.resolve([]);
    const d = this.dialect;
    return d.run(function* () {
      const out: Array<{ author: string; msgId: string }> = [];
      for (const chunk of chunks(pairs, 250)) {
        const rows = yield stmt(`SELECT author, msg_id FROM message_reads WHERE reader = ? AND ${d.pairIn("author", "msg_id", chunk.length)}`, reader, ...flatten(chunk));
        for (const r of rows) out.push({ author: str(r.author), msgId: str(r.msg_id) });
      }
      return out;
    }, { tx: false });
  }

  async sessionCreate(session: Session, members: Member[]): Promise<void> {
    const d = this.dialect;
    await d.run(function* () {
      yield* many([...d.insertRows("sessions", SESSION_COLS, [sessionValues(session)]), ...d.insertRows("session_members", MEMBER_COLS, members.map(memberValues))]);
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
    // One row per member (the last given wins, as one upsert after another would): SQL Server's
    // MERGE refuses a source with a key twice.
    const rows = dedupeBy(members, (m) => m.userId).sort((a, b) => cmp(a.userId, b.userId)).map((m) => memberValues({ ...m, sessionId }));
    if (rows.length === 0) return;
    await d.run(function* () {
      yield* many(d.upsertRows("session_members", MEMBER_COLS, ["session_id", "user_id"], rows, { user_name: "new", acct_login: "new", pic: "new" }));
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
      yield* many(d.upsertRows("users", USER_COLS, ["user_id"], rows, set));
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
    const stmts = this.dialect.upsertRows("users", USER_COLS, ["user_id"], [[userId, userId, userId, null, null, code, Date.now()]], { app_push_code: "new", updated_at: "new" });
    await this.dialect.run(function* () {
      yield* many(stmts);
    }, { tx: false });
  }

  async pubactAdd(p: Pubact): Promise<void> {
    const d = this.dialect;
    await d.run(function* () {
      yield* many(d.insertRows("pubacts", PUBACT_COLS, [[p.id, p.title, p.content, p.userId, p.ts, p.sessionId]]));
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
    const upsert = d.upsertRows("styles", STYLE_COLS, ["user_id", "style_name"], [[style.styleId, style.styleName, style.styleValue, style.userId]], { style_value: "new" });
    return d.run(function* () {
      yield* many(upsert);
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
      yield* many(d.insertRows("files", FILE_COLS, [[f.fileId, f.fileName, f.contentType, f.size, f.userId, f.createdAt]]));
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
    const sql = `SELECT 1 AS ok${this.dialect.fromDual}`;
    await this.dialect.run(function* () {
      yield stmt(sql);
    }, { tx: false });
  }

  async close(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }

  /** Retention: one batch of the purge, one short transaction (retention.ts). */
  async purgeBefore(req: PurgeRequest): Promise<PurgeResult> {
    const plan = await this.dialect.run(() => purgePlanProgram(this.dialect, req), { tx: false });
    return this.dialect.run(() => purgeDeleteProgram(this.dialect, plan), { tx: true });
  }
}

