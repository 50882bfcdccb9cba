// In-memory Store for unit tests. Same semantics as SqlStore (test/store/contract.ts runs against
// both), including the column-size limits the databases enforce.
import type {
  CommitOutcome,
  ConvId,
  InboxItem,
  InboxRef,
  Member,
  NewMessage,
  Page,
  ReadMark,
  Session,
  Store,
  StoredMessage,
} from "./types.js";

/** Mirrors the varchar sizes of the schema (src/store/sql/datasource.ts LENGTHS). */
const LIMITS = {
  message: { convId: 140, msgId: 64, msgFrom: 64, msgTo: 64, msgType: 20, msgTime: 20, sessionId: 64, compress: 20, encode: 20, encrypt: 50, version: 10 },
  recipient: 64,
  device: { userId: 64, device: 128 },
  session: { sessionId: 64, sessionName: 256, sessionUser: 64, sessionPic: 256, sessionCreateTime: 20, sessionModifyTime: 20, sessionDeleteTime: 20 },
  member: { sessionId: 64, userId: 64, userName: 256, acctLogin: 64, pic: 256, ts: 20 },
  read: { author: 64, msgId: 64 },
} as const;

interface InboxEntry {
  seq: number;
  convId: ConvId;
  convSeq: number;
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
  private closed = false;

  async commitBatch(batch: NewMessage[]): Promise<CommitOutcome[]> {
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
    const closedInBatch = new Set<string>();
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
      const recipients = this.recipientsOf(m, closedInBatch);
      if (typeof recipients === "string") {
        outcomes[i] = { status: "rejected", reason: recipients };
        return;
      }
      for (const r of m.effects?.reads ?? []) checkLengths("message_reads", r, LIMITS.read);
      if (m.effects?.dissolve) {
        if (m.sessionId === null) throw new Error(`dissolve effect on message '${m.msgId}' from '${m.msgFrom}', which has no session`);
        // A dissolve closes its session for the rest of the batch.
        closedInBatch.add(m.sessionId);
      }
      accepted.push({ i, recipients });
    });

    // 2. Store, then apply the effects in batch order (as SqlStore does: a revoke may name a
    // message stored later in the same batch).
    for (const { i, recipients } of accepted) outcomes[i] = this.store(batch[i]!, recipients, now);
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

  async cursorAdvance(userId: string, device: string, inboxSeq: number): Promise<void> {
    this.check();
    checkLengths("device_cursors", { userId, device }, LIMITS.device);
    const k = key(userId, device);
    this.cursors.set(k, Math.max(this.cursors.get(k) ?? inboxSeq, inboxSeq));
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

  async history(convId: ConvId, offset: number, limit: number): Promise<Page<StoredMessage>> {
    this.check();
    const visible = [...(this.convs.get(convId)?.messages.values() ?? [])].filter((m) => !m.revoked && !m.hidden).reverse();
    const start = Math.max(0, Math.floor(offset));
    return { total: visible.length, items: visible.slice(start, start + Math.max(0, Math.floor(limit))).map((m) => ({ ...m })) };
  }

  async readsOf(author: string, msgId: string): Promise<ReadMark[]> {
    this.check();
    return [...this.reads.values()]
      .filter((r) => r.author === author && r.msgId === msgId)
      .sort((a, b) => cmp(a.reader, b.reader))
      .map(({ author, msgId, reader, status, updatedAt }) => ({ author, msgId, reader, status, updatedAt }));
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

  private recipientsOf(m: NewMessage, closedInBatch: ReadonlySet<string>): string[] | Rejection {
    if (Array.isArray(m.recipients)) return [...new Set(m.recipients)];
    const id = m.recipients.sessionMembersOf;
    const session = this.sessions.get(id);
    if (!session) return "no-session";
    if (session.sessionValid !== 0 || closedInBatch.has(id)) return "session-closed";
    const members = this.sortedMembers(id).map((x) => x.userId);
    return members.includes(m.msgFrom) ? members : "not-member";
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
      box.entries.push({ seq: ++box.lastSeq, convId: m.convId, convSeq: message.seq });
      return { userId, inboxSeq: box.lastSeq };
    });
    return { status: "stored", message: { ...message }, inbox };
  }

  private applyEffects(m: NewMessage, seq: number, now: number): void {
    const e = m.effects;
    if (!e) return;
    const conv = this.convs.get(m.convId)!;
    if (e.revoke && e.revoke.length > 0) {
      const ids = new Set(e.revoke);
      for (const x of conv.messages.values()) if (x.seq !== seq && ids.has(x.msgId)) x.revoked = true;
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
