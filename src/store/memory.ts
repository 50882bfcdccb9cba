// In-memory Store for unit tests. Same semantics as SqlStore (test/store/contract.ts runs against
// both), including the column-size limits the databases enforce.
import type {
  CommitOptions,
  OnlineDevice,
  ChatPeer,
  CommitOutcome,
  CursorAdvance,
  ConvId,
  HistoryFilter,
  InboxItem,
  InboxRef,
  Member,
  NewMessage,
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
} from "./types.js";
import { purgeWalk } from "./purge.js";

/** Mirrors the varchar sizes of the schema (src/store/sql/datasource.ts LENGTHS). */
const LIMITS = {
  message: { convId: 140, msgId: 64, msgFrom: 64, msgTo: 64, msgType: 20, msgTime: 20, sessionId: 64, compress: 20, encode: 20, encrypt: 50, version: 10 },
  recipient: 64,
  device: { userId: 64, device: 128 },
  session: { sessionId: 64, sessionName: 256, sessionUser: 64, sessionPic: 256, sessionCreateTime: 20, sessionModifyTime: 20, sessionDeleteTime: 20 },
  member: { sessionId: 64, userId: 64, userName: 256, acctLogin: 64, pic: 256, ts: 20 },
  read: { author: 64, msgId: 64 },
  user: { userId: 64, userName: 256, acctLogin: 64, userEmail: 256, picUrl: 256, appPushCode: 256 },
  pubact: { id: 64, title: 256, userId: 64, ts: 20, sessionId: 64 },
  style: { styleId: 64, styleName: 64, userId: 64 },
  file: { fileId: 64, fileName: 256, contentType: 128, userId: 64 },
} as const;

interface InboxEntry {
  seq: number;
  convId: ConvId;
  convSeq: number;
  /** Commit time (ms), as inbox.created_at: what retention compares. */
  createdAt: number;
}

interface Conv {
  lastSeq: number;
  /** By seq, in ascending order (insertion order); a dissolve deletes from it. */
  messages: Map<number, StoredMessage>;
}

interface Inbox {
  lastSeq: number;
  /** Ascending seq; a dissolve deletes from it. */
  entries: InboxEntry[];
}

interface ReadRow extends ReadMark {
  convId: ConvId;
}

type Rejection = Extract<CommitOutcome, { status: "rejected" }>["reason"];

export class MemoryStore implements Store {
  private readonly convs = new Map<ConvId, Conv>();
  private readonly byKey = new Map<string, StoredMessage>();
  private readonly inboxes = new Map<string, Inbox>();
  private readonly cursors = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();
  private readonly members = new Map<string, Member[]>();
  private readonly reads = new Map<string, ReadRow>(); // key(author, msgId, reader)
  private readonly chats = new Map<string, ChatPeer>(); // key(userId, peerId)
  private readonly users = new Map<string, User>();
  private readonly pubacts = new Map<string, Pubact>();
  private readonly styles = new Map<string, Style>(); // key(userId, styleName)
  private readonly files = new Map<string, StoredFile>();
  private readonly online = new Map<string, OnlineDevice>(); // key(userId, resource)
  private closed = false;

  readonly concurrentCommits = false;

  async commitBatch(batch: NewMessage[], opts: CommitOptions = {}): Promise<CommitOutcome[]> {
    opts.locked?.();
    this.check();
    for (const m of batch) {
      checkLengths("messages", m, LIMITS.message);
      if (Array.isArray(m.recipients)) for (const r of m.recipients) checkLength("inbox.user_id", r, LIMITS.recipient);
    }
    const now = Date.now();
    const outcomes: CommitOutcome[] = new Array(batch.length);

    // 1. Decide every message's fate without writing anything, so that a failure (an invalid
    // effect) leaves the store untouched, as the databases' rollback does.
    const firstOf = new Map<string, number>();
    const repeats = new Map<number, number>();
    const accepted: Array<{ i: number; recipients: string[] }> = [];
    const dissolvedInBatch = new Set<string>();
    batch.forEach((m, i) => {
      const k = key(m.msgFrom, m.msgId);
      const first = firstOf.get(k);
      if (first !== undefined) {
        repeats.set(i, first);
        return;
      }
      firstOf.set(k, i);
      const existing = this.byKey.get(k);
      if (existing) {
        outcomes[i] = { status: "duplicate", message: { ...existing } };
        return;
      }
      const recipients = this.recipientsOf(m, dissolvedInBatch);
      if (typeof recipients === "string") {
        outcomes[i] = { status: "rejected", reason: recipients };
        return;
      }
      for (const r of m.effects?.reads ?? []) checkLengths("message_reads", r, LIMITS.read);
      if (m.effects?.dissolve) {
        if (m.sessionId === null) throw new Error(`dissolve effect on message '${m.msgId}' from '${m.msgFrom}', which has no session`);
        // A dissolve closes its session for the rest of the batch.
        dissolvedInBatch.add(m.sessionId);
      }
      accepted.push({ i, recipients });
    });

    // 2. Store, then apply the effects in batch order (as SqlStore does: a revoke may name a
    // message stored later in the same batch).
    for (const { i, recipients } of accepted) outcomes[i] = this.store(batch[i]!, recipients, now);
    for (const { i } of accepted) this.touch(batch[i]!, now);
    for (const { i } of accepted) {
      const o = outcomes[i] as Extract<CommitOutcome, { status: "stored" }>;
      this.applyEffects(batch[i]!, o.message.seq, now);
    }

    // Repeats within the batch share their first occurrence's fate.
    for (const [i, first] of repeats) {
      const o = outcomes[first]!;
      outcomes[i] = o.status === "rejected" ? o : { status: "duplicate", message: { ...o.message } };
    }
    return outcomes;
  }

  async inboxAfter(userId: string, afterSeq: number, limit: number): Promise<InboxItem[]> {
    this.check();
    const out: InboxItem[] = [];
    if (limit <= 0) return out;
    for (const e of this.inboxes.get(userId)?.entries ?? []) {
      if (e.seq <= afterSeq) continue;
      const message = this.convs.get(e.convId)?.messages.get(e.convSeq);
      if (message && !message.revoked) out.push({ userId, inboxSeq: e.seq, message: { ...message } });
      if (out.length >= limit) break;
    }
    return out;
  }

  async inboxSeqOf(userId: string, convId: ConvId, convSeq: number): Promise<number | null> {
    this.check();
    const e = (this.inboxes.get(userId)?.entries ?? []).find((x) => x.convId === convId && x.convSeq === convSeq);
    return e ? e.seq : null;
  }

  async inboxSeqOfMsgId(userId: string, msgId: string): Promise<number | null> {
    this.check();
    const entries = this.inboxes.get(userId)?.entries ?? [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (this.convs.get(e.convId)?.messages.get(e.convSeq)?.msgId === msgId) return e.seq;
    }
    return null;
  }

  async cursorGet(userId: string, device: string): Promise<number> {
    this.check();
    return this.cursors.get(key(userId, device)) ?? 0;
  }

  async cursorAdvance(advances: readonly CursorAdvance[]): Promise<void> {
    this.check();
    // All or nothing, as one transaction would be.
    for (const { userId, device } of advances) checkLengths("device_cursors", { userId, device }, LIMITS.device);
    for (const { userId, device, seq } of advances) {
      const k = key(userId, device);
      this.cursors.set(k, Math.max(this.cursors.get(k) ?? seq, seq));
    }
  }

  async cursorsOf(userId: string): Promise<Record<string, number>> {
    this.check();
    const out: Record<string, number> = {};
    const prefix = key(userId, "");
    for (const [k, seq] of [...this.cursors].sort(([a], [b]) => cmp(a, b))) {
      if (k.startsWith(prefix)) out[k.slice(prefix.length)] = seq;
    }
    return out;
  }

  async onlineDevicePut(device: OnlineDevice): Promise<void> {
    this.check();
    checkLengths("online_devices", device, { userId: 64, resource: 128, via: 64 });
    this.online.set(key(device.userId, device.resource), { ...device });
  }

  async onlineDeviceRemove(userId: string, resource: string): Promise<void> {
    this.check();
    this.online.delete(key(userId, resource));
  }

  async onlineDevices(): Promise<OnlineDevice[]> {
    this.check();
    return [...this.online.values()].sort((a, b) => (key(a.userId, a.resource) < key(b.userId, b.resource) ? -1 : 1)).map((d) => ({ ...d }));
  }

  async findMessage(msgFrom: string, msgId: string): Promise<StoredMessage | null> {
    this.check();
    const m = this.byKey.get(key(msgFrom, msgId));
    return m ? { ...m } : null;
  }

  async findMessageInConv(convId: ConvId, msgId: string): Promise<StoredMessage | null> {
    this.check();
    for (const m of this.convs.get(convId)?.messages.values() ?? []) if (m.msgId === msgId) return { ...m };
    return null;
  }

  async messagesByMsgId(msgId: string): Promise<StoredMessage[]> {
    this.check();
    const out: StoredMessage[] = [];
    for (const conv of this.convs.values()) for (const m of conv.messages.values()) if (m.msgId === msgId) out.push({ ...m });
    return out.sort((a, b) => a.createdAt - b.createdAt || cmp(a.convId, b.convId) || a.seq - b.seq);
  }

  async history(convId: ConvId, offset: number, limit: number, filter: HistoryFilter = {}): Promise<Page<StoredMessage>> {
    this.check();
    const visible = [...(this.convs.get(convId)?.messages.values() ?? [])]
      .filter((m) => !m.revoked && !m.hidden && (filter.msgType === undefined || m.msgType === filter.msgType))
      .reverse();
    const narrowed = filter.beforeSeq === undefined ? visible : visible.filter((m) => m.seq < filter.beforeSeq!);
    const start = Math.max(0, Math.floor(offset));
    return { total: visible.length, items: narrowed.slice(start, start + Math.max(0, Math.floor(limit))).map((m) => ({ ...m })) };
  }

  async conversationClear(convId: ConvId, users: string[]): Promise<number> {
    this.check();
    const conv = this.convs.get(convId);
    if (!conv) return 0;
    const n = conv.messages.size;
    for (const m of conv.messages.values()) {
      const k = key(m.msgFrom, m.msgId);
      if (this.byKey.get(k) === m) this.byKey.delete(k);
    }
    conv.messages.clear();
    for (const u of users) {
      const box = this.inboxes.get(u);
      if (box) box.entries = box.entries.filter((e) => e.convId !== convId);
    }
    for (const [k, r] of this.reads) if (r.convId === convId) this.reads.delete(k);
    return n;
  }

  /** The walk of src/store/purge.ts over sorted keys, as the SQL store does it by primary key. */
  async purgeBefore(req: PurgeRequest): Promise<PurgeResult> {
    this.check();
    const walk = purgeWalk(req);
    let step = walk.next([]);
    while (!step.done) {
      const r = step.value;
      if (r.op === "keys") {
        const all = r.phase === "messages" ? this.convs.keys() : this.inboxes.keys();
        const after = (k: string) => r.from.key === "" || (r.from.seq === null ? k > r.from.key : k >= r.from.key);
        const keys = [...all].filter(after).sort(cmp).slice(0, r.n);
        step = walk.next(keys.map((key) => ({ key })));
      } else if (r.phase === "messages") {
        const rows = [...this.convs.get(r.key)!.messages.values()].filter((m) => m.seq > r.afterSeq).sort((x, y) => x.seq - y.seq);
        step = walk.next(rows.slice(0, r.n));
      } else {
        step = walk.next(this.inboxes.get(r.key)!.entries.filter((e) => e.seq > r.afterSeq).slice(0, r.n));
      }
    }
    const plan = step.value;
    let reads = 0;
    for (const { convId, seq } of plan.messages) {
      const m = this.convs.get(convId)!.messages.get(seq)!;
      this.convs.get(convId)!.messages.delete(seq);
      const k = key(m.msgFrom, m.msgId);
      if (this.byKey.get(k) === m) this.byKey.delete(k);
      for (const [rk, rd] of this.reads) {
        if (rd.author === m.msgFrom && rd.msgId === m.msgId) {
          this.reads.delete(rk);
          reads++;
        }
      }
    }
    for (const userId of new Set(plan.inbox.map((e) => e.userId))) {
      const gone = new Set(plan.inbox.filter((e) => e.userId === userId).map((e) => e.seq));
      const box = this.inboxes.get(userId)!;
      box.entries = box.entries.filter((e) => !gone.has(e.seq));
    }
    return { messages: plan.messages.length, inbox: plan.inbox.length, reads, cursor: plan.next };
  }

  async readsOf(author: string, msgId: string): Promise<ReadMark[]> {
    this.check();
    return [...this.reads.values()]
      .filter((r) => r.author === author && r.msgId === msgId)
      .sort((a, b) => cmp(a.reader, b.reader))
      .map(({ author, msgId, reader, status, updatedAt }) => ({ author, msgId, reader, status, updatedAt }));
  }

  async readBy(reader: string, messages: Array<{ author: string; msgId: string }>): Promise<Array<{ author: string; msgId: string }>> {
    this.check();
    const wanted = new Set(messages.map((m) => key(m.author, m.msgId)));
    return [...this.reads.values()].filter((r) => r.reader === reader && wanted.delete(key(r.author, r.msgId))).map(({ author, msgId }) => ({ author, msgId }));
  }

  async readCounts(author: string, msgIds: string[]): Promise<Record<string, number>> {
    this.check();
    const wanted = new Set(msgIds);
    const out: Record<string, number> = {};
    for (const r of this.reads.values()) {
      if (r.author === author && wanted.has(r.msgId)) out[r.msgId] = (out[r.msgId] ?? 0) + 1;
    }
    return out;
  }

  async sessionCreate(session: Session, members: Member[]): Promise<void> {
    this.check();
    checkLengths("sessions", session, LIMITS.session);
    for (const m of members) checkLengths("session_members", m, LIMITS.member);
    if (this.sessions.has(session.sessionId)) throw new Error(`duplicate key: session '${session.sessionId}' exists`);
    const ids = new Set<string>();
    for (const m of members) {
      const k = key(m.sessionId, m.userId);
      if (ids.has(k)) throw new Error(`duplicate key: member '${m.userId}' of session '${m.sessionId}'`);
      ids.add(k);
    }
    this.sessions.set(session.sessionId, { ...session });
    for (const m of members) {
      const list = this.members.get(m.sessionId) ?? [];
      list.push({ ...m });
      this.members.set(m.sessionId, list);
    }
  }

  async sessionGet(sessionId: string): Promise<Session | null> {
    this.check();
    const s = this.sessions.get(sessionId);
    return s ? { ...s } : null;
  }

  async sessionMembers(sessionId: string): Promise<Member[]> {
    this.check();
    return this.sortedMembers(sessionId).map((m) => ({ ...m }));
  }

  async sessionUpdate(sessionId: string, changes: SessionChanges): Promise<boolean> {
    this.check();
    const session = this.sessions.get(sessionId);
    if (!session) return false;
    const next = { ...session };
    for (const [k, v] of Object.entries(changes) as Array<[keyof SessionChanges, unknown]>) {
      if (v !== undefined) (next as Record<string, unknown>)[k] = v;
    }
    checkLengths("sessions", next, LIMITS.session);
    this.sessions.set(sessionId, next);
    return true;
  }

  async sessionDelete(sessionId: string): Promise<boolean> {
    this.check();
    this.members.delete(sessionId);
    return this.sessions.delete(sessionId);
  }

  async sessionMembersPut(sessionId: string, members: Member[]): Promise<void> {
    this.check();
    const rows = members.map((m) => ({ ...m, sessionId }));
    for (const m of rows) checkLengths("session_members", m, LIMITS.member);
    const list = this.members.get(sessionId) ?? [];
    for (const m of rows) {
      const known = list.find((x) => x.userId === m.userId);
      // The join time of a member already in stays; the profile snapshot is refreshed.
      if (known) Object.assign(known, { userName: m.userName, acctLogin: m.acctLogin, pic: m.pic });
      else list.push(m);
    }
    this.members.set(sessionId, list);
  }

  async sessionMembersRemove(sessionId: string, userIds: string[]): Promise<number> {
    this.check();
    const gone = new Set(userIds);
    const list = this.members.get(sessionId) ?? [];
    const kept = list.filter((m) => !gone.has(m.userId));
    this.members.set(sessionId, kept);
    return list.length - kept.length;
  }

  async sessionsOf(userId: string, valid: number): Promise<Session[]> {
    this.check();
    const activity = (s: Session) => s.sessionModifyTime ?? s.sessionCreateTime;
    return [...this.sessions.values()]
      .filter((s) => s.sessionValid === valid && (this.members.get(s.sessionId) ?? []).some((m) => m.userId === userId))
      .sort((a, b) => cmp(activity(b), activity(a)) || cmp(a.sessionId, b.sessionId))
      .map((s) => ({ ...s }));
  }

  async chatsOf(userId: string): Promise<ChatPeer[]> {
    this.check();
    return [...this.chats.values()]
      .filter((c) => c.userId === userId)
      .sort((a, b) => b.updatedAt - a.updatedAt || cmp(a.peerId, b.peerId))
      .map((c) => ({ ...c }));
  }

  async usersPut(users: User[]): Promise<void> {
    this.check();
    for (const u of users) checkLengths("users", u, LIMITS.user);
    for (const u of users) this.users.set(u.userId, { ...u });
  }

  async usersRemove(userIds: string[]): Promise<number> {
    this.check();
    return [...new Set(userIds)].filter((id) => this.users.delete(id)).length;
  }

  async usersGet(userIds: string[]): Promise<User[]> {
    this.check();
    return [...new Set(userIds)].flatMap((id) => {
      const u = this.users.get(id);
      return u ? [{ ...u }] : [];
    });
  }

  async userPushCodeSet(userId: string, code: string | null): Promise<void> {
    this.check();
    const known = this.users.get(userId);
    const next: User = known
      ? { ...known, appPushCode: code, updatedAt: Date.now() }
      : { userId, userName: userId, acctLogin: userId, userEmail: null, picUrl: null, appPushCode: code, updatedAt: Date.now() };
    checkLengths("users", next, LIMITS.user);
    this.users.set(userId, next);
  }

  async pubactAdd(p: Pubact): Promise<void> {
    this.check();
    checkLengths("pubacts", p, LIMITS.pubact);
    if (this.pubacts.has(p.id)) throw new Error(`duplicate key: pubact '${p.id}' exists`);
    this.pubacts.set(p.id, { ...p });
  }

  async pubactsOf(sessionId: string): Promise<Pubact[]> {
    this.check();
    return [...this.pubacts.values()]
      .filter((p) => p.sessionId === sessionId)
      .sort((a, b) => cmp(b.ts, a.ts) || cmp(a.id, b.id))
      .map((p) => ({ ...p }));
  }

  async pubactUpdate(id: string, changes: Partial<Pick<Pubact, "title" | "content">>): Promise<boolean> {
    this.check();
    const p = this.pubacts.get(id);
    if (!p) return false;
    const next = { ...p, ...(changes.title !== undefined ? { title: changes.title } : {}), ...(changes.content !== undefined ? { content: changes.content } : {}) };
    checkLengths("pubacts", next, LIMITS.pubact);
    this.pubacts.set(id, next);
    return true;
  }

  async pubactDelete(id: string): Promise<boolean> {
    this.check();
    return this.pubacts.delete(id);
  }

  async stylePut(style: Style): Promise<Style> {
    this.check();
    checkLengths("styles", style, LIMITS.style);
    const k = key(style.userId, style.styleName);
    const known = this.styles.get(k);
    const next = known ? { ...known, styleValue: style.styleValue } : { ...style };
    this.styles.set(k, next);
    return { ...next };
  }

  async stylesOf(userId: string): Promise<Style[]> {
    this.check();
    return [...this.styles.values()].filter((s) => s.userId === userId).sort((a, b) => cmp(a.styleName, b.styleName)).map((s) => ({ ...s }));
  }

  async fileAdd(file: StoredFile): Promise<void> {
    this.check();
    checkLengths("files", file, LIMITS.file);
    if (this.files.has(file.fileId)) throw new Error(`duplicate key: file '${file.fileId}' exists`);
    this.files.set(file.fileId, { ...file });
  }

  async fileGet(fileId: string): Promise<StoredFile | null> {
    this.check();
    const f = this.files.get(fileId);
    return f ? { ...f } : null;
  }

  async ping(): Promise<void> {
    this.check();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new Error("store is closed");
  }

  private sortedMembers(sessionId: string): Member[] {
    return [...(this.members.get(sessionId) ?? [])].sort((a, b) => cmp(a.ts, b.ts) || cmp(a.userId, b.userId));
  }

  private recipientsOf(m: NewMessage, dissolvedInBatch: ReadonlySet<string>): string[] | Rejection {
    if (Array.isArray(m.recipients)) return [...new Set(m.recipients)];
    const id = m.recipients.sessionMembersOf;
    const server = m.recipients.fromServer === true;
    const session = this.sessions.get(id);
    if (!session) return "no-session";
    const dissolved = session.sessionDeleteTime !== null || dissolvedInBatch.has(id);
    if (dissolved || (!server && session.sessionValid !== 0)) return "session-closed";
    const members = this.sortedMembers(id).map((x) => x.userId);
    return server || members.includes(m.msgFrom) ? members : "not-member";
  }

  /** Conversation lists (as SqlStore's touchConversations): session activity, 1:1 pairs. */
  private touch(m: NewMessage, now: number): void {
    if (m.hidden) return;
    if (m.sessionId !== null) {
      const s = this.sessions.get(m.sessionId);
      if (s) s.sessionModifyTime = String(now);
      return;
    }
    for (const [userId, peerId] of [[m.msgFrom, m.msgTo], [m.msgTo, m.msgFrom]] as const) {
      const k = key(userId, peerId);
      const known = this.chats.get(k);
      this.chats.set(k, { userId, peerId, createdAt: known?.createdAt ?? now, updatedAt: now });
    }
  }

  private store(m: NewMessage, recipients: string[], now: number): CommitOutcome {
    let conv = this.convs.get(m.convId);
    if (!conv) this.convs.set(m.convId, (conv = { lastSeq: 0, messages: new Map() }));
    const message: StoredMessage = {
      convId: m.convId, seq: ++conv.lastSeq, msgId: m.msgId, msgFrom: m.msgFrom, msgTo: m.msgTo,
      msgType: m.msgType, msgTime: m.msgTime, body: m.body, sessionId: m.sessionId, compress: m.compress,
      encode: m.encode, encrypt: m.encrypt, version: m.version, createdAt: now, revoked: false,
      hidden: m.hidden ?? false,
    };
    conv.messages.set(message.seq, message);
    this.byKey.set(key(m.msgFrom, m.msgId), message);
    const inbox: InboxRef[] = recipients.map((userId) => {
      let box = this.inboxes.get(userId);
      if (!box) this.inboxes.set(userId, (box = { lastSeq: 0, entries: [] }));
      box.entries.push({ seq: ++box.lastSeq, convId: m.convId, convSeq: message.seq, createdAt: now });
      return { userId, inboxSeq: box.lastSeq };
    });
    return { status: "stored", message: { ...message }, inbox };
  }

  private applyEffects(m: NewMessage, seq: number, now: number): void {
    const e = m.effects;
    if (!e) return;
    const conv = this.convs.get(m.convId)!;
    if (e.revoke && e.revoke.length > 0) {
      const refs = new Set(e.revoke.map((r) => key(r.msgFrom, r.msgId)));
      for (const x of conv.messages.values()) if (x.seq !== seq && refs.has(key(x.msgFrom, x.msgId))) x.revoked = true;
    }
    for (const r of e.reads ?? []) {
      this.reads.set(key(key(r.author, r.msgId), m.msgFrom), {
        author: r.author, msgId: r.msgId, reader: m.msgFrom, status: r.status, convId: m.convId, updatedAt: now,
      });
    }
    if (e.dissolve && m.sessionId !== null) {
      this.members.delete(m.sessionId);
      const session = this.sessions.get(m.sessionId);
      if (session) {
        session.sessionValid = 1;
        session.sessionDeleteTime = String(now);
      }
      for (const x of [...conv.messages.values()]) {
        if (x.seq === seq) continue;
        conv.messages.delete(x.seq);
        const k = key(x.msgFrom, x.msgId);
        if (this.byKey.get(k) === x) this.byKey.delete(k);
      }
      for (const box of this.inboxes.values()) {
        box.entries = box.entries.filter((x) => x.convId !== m.convId || x.convSeq === seq);
      }
      for (const [k, r] of this.reads) if (r.convId === m.convId) this.reads.delete(k);
    }
  }
}

function key(a: string, b: string): string {
  return `${a}\u0000${b}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkLength(what: string, value: string | null, max: number): void {
  // Code points, as MySQL's varchar(n) and SQLite's length() count them.
  if (value !== null && [...value].length > max) throw new Error(`value too long for ${what} (max ${max})`);
}

function checkLengths<T extends object>(table: string, row: T, limits: Partial<Record<keyof T, number>>): void {
  for (const [field, max] of Object.entries(limits) as [keyof T & string, number][]) {
    checkLength(`${table}.${field}`, row[field] as string | null, max);
  }
}
