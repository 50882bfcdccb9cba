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
} as const;

interface InboxEntry {
  seq: number;
  convId: ConvId;
  convSeq: number;
}

export class MemoryStore implements Store {
  private readonly convs = new Map<ConvId, StoredMessage[]>(); // index = seq - 1
  private readonly byKey = new Map<string, StoredMessage>();
  private readonly inboxes = new Map<string, InboxEntry[]>(); // index = seq - 1
  private readonly cursors = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();
  private readonly members = new Map<string, Member[]>();
  private closed = false;

  async commitBatch(batch: NewMessage[]): Promise<CommitOutcome[]> {
    this.check();
    for (const m of batch) {
      checkLengths("messages", m, LIMITS.message);
      if (Array.isArray(m.recipients)) for (const r of m.recipients) checkLength("inbox.user_id", r, LIMITS.recipient);
    }
    const now = Date.now();
    const outcomes: CommitOutcome[] = [];
    const firstOf = new Map<string, number>();
    batch.forEach((m, i) => {
      const k = key(m.msgFrom, m.msgId);
      const first = firstOf.get(k);
      if (first !== undefined) {
        const o = outcomes[first]!;
        outcomes.push(o.status === "rejected" ? o : { status: "duplicate", message: { ...o.message } });
        return;
      }
      firstOf.set(k, i);
      const existing = this.byKey.get(k);
      if (existing) {
        outcomes.push({ status: "duplicate", message: { ...existing } });
        return;
      }
      const recipients = this.recipientsOf(m);
      if (typeof recipients === "string") {
        outcomes.push({ status: "rejected", reason: recipients });
        return;
      }
      outcomes.push(this.store(m, recipients, now));
    });
    return outcomes;
  }

  async inboxAfter(userId: string, afterSeq: number, limit: number): Promise<InboxItem[]> {
    this.check();
    const out: InboxItem[] = [];
    const entries = this.inboxes.get(userId) ?? [];
    for (let i = Math.max(0, afterSeq); i < entries.length && out.length < limit; i++) {
      const e = entries[i]!;
      const message = this.convs.get(e.convId)![e.convSeq - 1]!;
      if (!message.revoked) out.push({ userId, inboxSeq: e.seq, message: { ...message } });
    }
    return out;
  }

  async inboxSeqOf(userId: string, convId: ConvId, convSeq: number): Promise<number | null> {
    this.check();
    const e = (this.inboxes.get(userId) ?? []).find((x) => x.convId === convId && x.convSeq === convSeq);
    return e ? e.seq : null;
  }

  async inboxSeqOfMsgId(userId: string, msgId: string): Promise<number | null> {
    this.check();
    const entries = this.inboxes.get(userId) ?? [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (this.convs.get(e.convId)![e.convSeq - 1]!.msgId === msgId) return e.seq;
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
    const m = (this.convs.get(convId) ?? []).find((x) => x.msgId === msgId);
    return m ? { ...m } : null;
  }

  async history(convId: ConvId, offset: number, limit: number): Promise<Page<StoredMessage>> {
    this.check();
    const visible = (this.convs.get(convId) ?? []).filter((m) => !m.revoked).reverse();
    const start = Math.max(0, Math.floor(offset));
    return { total: visible.length, items: visible.slice(start, start + Math.max(0, Math.floor(limit))).map((m) => ({ ...m })) };
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

  private recipientsOf(m: NewMessage): string[] | "no-session" | "session-closed" | "not-member" {
    if (Array.isArray(m.recipients)) return [...new Set(m.recipients)];
    const id = m.recipients.sessionMembersOf;
    const session = this.sessions.get(id);
    if (!session) return "no-session";
    if (session.sessionValid !== 0) return "session-closed";
    const members = this.sortedMembers(id).map((x) => x.userId);
    return members.includes(m.msgFrom) ? members : "not-member";
  }

  private store(m: NewMessage, recipients: string[], now: number): CommitOutcome {
    const conv = this.convs.get(m.convId) ?? [];
    this.convs.set(m.convId, conv);
    const message: StoredMessage = {
      convId: m.convId, seq: conv.length + 1, msgId: m.msgId, msgFrom: m.msgFrom, msgTo: m.msgTo,
      msgType: m.msgType, msgTime: m.msgTime, body: m.body, sessionId: m.sessionId, compress: m.compress,
      encode: m.encode, encrypt: m.encrypt, version: m.version, createdAt: now, revoked: false,
    };
    conv.push(message);
    this.byKey.set(key(m.msgFrom, m.msgId), message);
    const inbox: InboxRef[] = recipients.map((userId) => {
      const entries = this.inboxes.get(userId) ?? [];
      this.inboxes.set(userId, entries);
      entries.push({ seq: entries.length + 1, convId: m.convId, convSeq: message.seq });
      return { userId, inboxSeq: entries.length };
    });
    return { status: "stored", message: { ...message }, inbox };
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
