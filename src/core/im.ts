// The core: every transport calls in here; it never imports a transport or TypeORM (DESIGN §1).
// Dispatch gives every request exactly one answer: a SubmitResult, or an ImError (invalid,
// refused, unsupported, or internal after logging).
import type { Logger } from "pino";
import { checkEnvelopeIds, encodeBody, msgClassOf, normaliseBody } from "../protocol/envelope.js";
import { ImError } from "../protocol/errors.js";
import { randomUUID } from "node:crypto";
import { chatConvId, sessionConvId, type CommitOutcome, type HistoryFilter, type InboxItem, type Member, type NewMessage, type OnlineDevice, type Page, type Session, type Store, type StoredMessage, type User } from "../store/types.js";
import { CursorBook } from "./cursors.js";
import { addressId, IdError } from "../protocol/ids.js";
import { UserLimits } from "./limits.js";
import type { HandlerContext } from "./handlers/handler.js";
import { HandlerRegistry } from "./registry.js";
import type { DeliverySink, Inbound, SubmitResult } from "./types.js";
import { GroupCommitWriter } from "./writer.js";

export interface CoreOptions {
  maxTextChars: number;
  /** 0 = unlimited. */
  revokeWindowS: number;
  writeBatchMax: number;
  /** Commit batches in flight at once when the store allows it (default 2). */
  writePipeline?: number;
  /** Messages waiting for the database beyond which senders get error-021 (default unbounded). */
  writeQueueMax?: number;
  /** A push to a device that never acknowledges counts as delivered after this (default 60 s). */
  ackGraceMs?: number;
  /** Per-user limits (error-020): messages per second (0 = none), burst, accepted-not-committed. */
  userRate?: number;
  userBurst?: number;
  userInFlightMax?: number;
  syncPageSize: number;
  cursorFlushMs?: number;
}

/** The sender of server-originated messages, as in the original (spec §2.5). */
export const SERVER_USER = "admin";

/** A findWebSessions entry: a session, a 1:1 chat (type 99) or the system entry (type 100,
 * which has no create time). */
export type ConversationEntry = Omit<Session, "sessionCreateTime"> & { sessionCreateTime: string | null };

/** The columns of a message the server originates (spec §2.5: flags "0"/"1"/"0", version 2.0.0). */
function serverColumns(msgType: string, msgTo: string, body: Array<Record<string, unknown>>) {
  return {
    msgId: randomUUID(), msgFrom: SERVER_USER, msgTo, msgType, msgTime: String(Date.now()), body: encodeBody(body),
    compress: "0", encode: "1", encrypt: "0", version: "2.0.0",
  };
}

export interface SubmitHooks {
  /** The message holds its place in the commit order, or was refused before getting one. */
  queued?: () => void;
}

/** The sender's id as the transport gave it, folded like every address (a JID's local part
 * comes folded from the server already; gateways pass what their users typed). */
function senderId(raw: string): string {
  try {
    return addressId(raw, "sender");
  } catch (err) {
    if (err instanceof IdError) throw ImError.forbidden(`the sender's id ${err.rule}`);
    throw err;
  }
}

export class ImCore {
  readonly writer: GroupCommitWriter;
  readonly cursors: CursorBook;
  private readonly registry = new HandlerRegistry();
  private readonly sinks: DeliverySink[] = [];
  private readonly ctx: HandlerContext;
  private readonly limits: UserLimits;
  /** The submit whose handler is running synchronously right now wants to know when it commits. */
  private queuedHook: (() => void) | null = null;

  constructor(
    readonly store: Store,
    private readonly opts: CoreOptions,
    private readonly log: Logger,
  ) {
    this.writer = new GroupCommitWriter(store, {
      maxBatch: opts.writeBatchMax,
      maxInFlight: opts.writePipeline ?? 2,
      maxQueued: opts.writeQueueMax,
    }, {
      committed: (o) => this.deliver(o),
      settling: (f) => this.corked(f),
      batchFailed: (err, size) => log.error({ err, size }, "commit failed; nothing of the batch was stored"),
    });
    this.cursors = new CursorBook(store, opts.cursorFlushMs ?? 1000, (err) =>
      log.warn({ err }, "device cursor write failed; those messages will be offered again"),
    );
    this.limits = new UserLimits({ ratePerS: opts.userRate ?? 0, burst: opts.userBurst ?? 1, inFlightMax: opts.userInFlightMax ?? Number.POSITIVE_INFINITY });
    this.ctx = {
      maxTextChars: opts.maxTextChars,
      revokeWindowMs: opts.revokeWindowS * 1000,
      store,
      now: () => Date.now(),
      commit: (m) => {
        const p = this.writer.submit(m);
        const queued = this.queuedHook;
        if (queued) {
          this.queuedHook = null;
          queued();
        }
        return p;
      },
    };
  }

  /**
   * The XMPP devices seen online, kept in the store so that after a restart tlim asks them again
   * (docs/protocol.md "Devices"). Writes go in order, one at a time, and never fail a caller: a
   * lost write only means a device is asked again, or waits for its next presence.
   */
  readonly devices = {
    seen: (d: OnlineDevice): void => this.presenceWrite(() => this.store.onlineDevicePut(d)),
    gone: (userId: string, resource: string): void => this.presenceWrite(() => this.store.onlineDeviceRemove(userId, resource)),
    all: (): Promise<OnlineDevice[]> => this.store.onlineDevices(),
  };
  private presenceWrites: Promise<void> = Promise.resolve();

  private presenceWrite(write: () => Promise<void>): void {
    this.presenceWrites = this.presenceWrites.then(write).catch((err) => this.log.warn({ err }, "online device not recorded"));
  }

  /** How long a push to a device that never acknowledges waits before it counts as delivered. */
  get ackGraceMs(): number {
    return this.opts.ackGraceMs ?? 60_000;
  }

  addSink(sink: DeliverySink): void {
    this.sinks.push(sink);
  }

  /**
   * Accepts one message from a client. Resolves after commit; throws ImError on refusal.
   * `hooks.queued` runs once the message holds its place in the commit order (or was refused):
   * a transport that keeps a sender's messages in order waits for that, not for the commit, so
   * the next message of the same sender joins the same group commit.
   */
  async submit(inbound: Inbound, hooks: SubmitHooks = {}): Promise<SubmitResult> {
    let queued = false;
    const signal = () => {
      if (queued) return;
      queued = true;
      hooks.queued?.();
    };
    try {
      // Ids are checked where each transport decodes them; again here for envelopes a gateway
      // built itself (cheap on valid ids), so nothing unchecked reaches the store or a socket.
      const env = checkEnvelopeIds(inbound.envelope);
      const sender = senderId(inbound.sender.userId);
      // msg_from must be the sender (docs/protocol.md; the original trusted it: spoofing).
      if (env.msg_from === "") env.msg_from = sender;
      if (env.msg_from !== sender) throw ImError.forbidden(`msg_from '${env.msg_from}' does not match the sender '${sender}'`);
      const cls = msgClassOf(env.msg_type);
      const handler = cls ? this.registry.lookup(env.msg_type, cls) : undefined;
      if (!handler) throw ImError.unsupported(`no handler for msg_type '${env.msg_type}'`);
      const release = this.limits.take(sender);
      // A handler that commits before its first await signals through ctx.commit (no per-call
      // context); one that reads first signals when it settles (the `finally` below).
      this.queuedHook = hooks.queued ? signal : null;
      let handled: Promise<SubmitResult>;
      try {
        handled = handler.handle(this.ctx, inbound);
      } finally {
        this.queuedHook = null;
      }
      try {
        return await handled;
      } catch (err) {
        if (err instanceof ImError) throw err;
        this.log.error({ err, msg_type: env.msg_type, msg_id: env.msg_id }, "handler failed");
        throw ImError.internal();
      } finally {
        release();
      }
    } finally {
      signal();
    }
  }

  /** Runs a batch's deliveries inside every sink's `corked`. */
  private corked(f: () => void): void {
    let run = f;
    for (const sink of this.sinks) {
      if (!sink.corked) continue;
      const inner = run;
      run = () => sink.corked!(inner);
    }
    run();
  }

  /** After commit, in commit order: every inbox entry goes to every sink. */
  private deliver(outcome: CommitOutcome): void {
    if (outcome.status !== "stored") return;
    for (const ref of outcome.inbox) {
      const item: InboxItem = { userId: ref.userId, inboxSeq: ref.inboxSeq, message: outcome.message };
      for (const sink of this.sinks) {
        try {
          sink.push(item);
        } catch (err) {
          this.log.error({ err, sink: sink.name }, "delivery sink failed");
        }
      }
    }
  }

  /**
   * Where a device's backlog starts. A device seen before resumes at its own cursor; a device
   * never seen starts where the user's most advanced device is (a new device does not replay
   * the user's whole past; history is there for that), and is remembered from now on.
   */
  async openDevice(userId: string, device: string): Promise<number> {
    const all = await this.cursors.all(userId);
    if (device in all) return all[device]!;
    const start = Math.max(0, ...Object.values(all));
    await this.store.cursorAdvance([{ userId, device, seq: start }]);
    return start;
  }

  /** The user's inbox after `afterSeq`, a page at a time, ascending. */
  async *backlog(userId: string, afterSeq: number): AsyncGenerator<InboxItem[]> {
    let after = afterSeq;
    for (;;) {
      const page = await this.store.inboxAfter(userId, after, this.opts.syncPageSize);
      if (page.length > 0) yield page;
      if (page.length < this.opts.syncPageSize) return;
      after = page[page.length - 1]!.inboxSeq;
    }
  }

  /**
   * A device acknowledged a message it received (XEP-0184 receipt naming the msg_id it was sent
   * with): its cursor moves to that message's inbox entry. Unknown ids are ignored.
   */
  async ackMessage(userId: string, device: string, convId: string, msgId: string): Promise<number | null> {
    const message = await this.store.findMessageInConv(convId, msgId);
    if (!message) return null;
    const seq = await this.store.inboxSeqOf(userId, convId, message.seq);
    if (seq !== null) this.cursors.advance(userId, device, seq);
    return seq;
  }

  /**
   * A message the server originates (spec §2.5): MTB-000 approval, MTB-001 approval returned,
   * MTB-100 system message. From "admin" to one user, stored, queued in the user's inbox and
   * delivered like any message. `params` is the body array (JSON text, lenient) given verbatim.
   */
  async business(msgType: "MTB-000" | "MTB-001" | "MTB-100", to: string, params: string): Promise<StoredMessage> {
    if (to.trim() === "") throw ImError.userIdEmpty("msgTo is empty");
    if (to.length > 64) throw ImError.badParam("msgTo is longer than 64 characters");
    const outcome = await this.writer.submit({
      ...serverColumns(msgType, to, normaliseBody(params)),
      convId: chatConvId(SERVER_USER, to),
      sessionId: null,
      recipients: [to],
    });
    if (outcome.status === "rejected") throw ImError.internal();
    return outcome.message;
  }

  // ---- sessions and history (HTTP API) ----

  /**
   * Creates a session with its members; the owner is always a member (docs/protocol.md; the original could leave it out), unless
   * `ownerIsMember` is false (a session the system owns, e.g. a J-IM default group). `sessionId`
   * (validated and folded by the caller) replaces the generated UUID; when a session with that id
   * exists already (dissolved ones included), or another caller creates it at the same time,
   * nothing is stored and error-016 says it is taken. `sessionName` replaces the members' names.
   */
  async createSession(req: {
    sessionType: number;
    owner: string;
    members: Array<{ userId: string; userName?: string }>;
    sessionId?: string;
    sessionName?: string;
    ownerIsMember?: boolean;
  }): Promise<{ session: Session; members: Member[] }> {
    const taken = () => ImError.badParam(`session_id '${req.sessionId}' is taken`);
    if (req.sessionId !== undefined && (await this.store.sessionGet(req.sessionId)) !== null) throw taken();
    const now = String(Date.now());
    const seen = new Set<string>();
    const members: Member[] = [];
    for (const m of req.ownerIsMember === false ? req.members : [{ userId: req.owner }, ...req.members]) {
      if (seen.has(m.userId)) {
        const named = members.find((x) => x.userId === m.userId)!;
        if ("userName" in m && m.userName) named.userName = m.userName;
        continue;
      }
      seen.add(m.userId);
      const userName = ("userName" in m && m.userName) || m.userId;
      members.push({ sessionId: "", userId: m.userId, userName, acctLogin: m.userId, pic: null, ts: now });
    }
    await this.applyProfiles(members);
    const session: Session = {
      sessionId: req.sessionId ?? randomUUID(),
      sessionType: req.sessionType,
      sessionName: req.sessionName ?? members.map((m) => m.userName).join(",").slice(0, 200),
      sessionUser: req.owner,
      sessionPic: null,
      sessionValid: 0,
      sessionCreateTime: now,
      sessionModifyTime: null,
      sessionDeleteTime: null,
    };
    for (const m of members) m.sessionId = session.sessionId;
    try {
      await this.store.sessionCreate(session, members);
    } catch (err) {
      // A duplicate key, unless the store failed otherwise: the one transaction stored nothing.
      if (req.sessionId !== undefined && (await this.store.sessionGet(req.sessionId).catch(() => null)) !== null) throw taken();
      throw err;
    }
    return { session, members };
  }

  sessionHistory(sessionId: string, offset: number, limit: number, filter?: HistoryFilter): Promise<Page<StoredMessage>> {
    return this.store.history(sessionConvId(sessionId), offset, limit, filter);
  }

  chatHistory(userId: string, peer: string, offset: number, limit: number, filter?: HistoryFilter): Promise<Page<StoredMessage>> {
    return this.store.history(chatConvId(userId, peer), offset, limit, filter);
  }

  /** The system messages (MTB-100) sent to a user, newest first (spec §3.4 findSystemHistory). */
  systemHistory(userId: string, offset: number, limit: number, filter: HistoryFilter = {}): Promise<Page<StoredMessage>> {
    return this.store.history(chatConvId(SERVER_USER, userId), offset, limit, { ...filter, msgType: "MTB-100" });
  }

  /** Member snapshots take the user's profile from the users table when the user is known
   * (spec §4.3); otherwise they keep the given name (or the id). */
  private async applyProfiles(members: Member[]): Promise<void> {
    const known = new Map((await this.store.usersGet(members.map((m) => m.userId))).map((u) => [u.userId, u]));
    for (const m of members) {
      const u = known.get(m.userId);
      if (u) Object.assign(m, { userName: u.userName, acctLogin: u.acctLogin, pic: u.picUrl });
    }
  }

  /** A session that exists and was not dissolved, or error-009. */
  async liveSession(sessionId: string): Promise<Session> {
    const session = await this.store.sessionGet(sessionId);
    if (!session) throw ImError.sessionNotFound(sessionId);
    if (session.sessionDeleteTime !== null) throw new ImError("sessionNotFound", `session '${sessionId}' was dissolved`);
    return session;
  }

  /**
   * modifySession (spec §3.2, DESIGN Q11): rename (bumps session_modify_time), add members
   * (snapshots refreshed), remove members (membership only, their messages stay). Nothing is
   * sent: clients announce changes with MTS-102/103/106 as in the original.
   */
  async modifySession(sessionId: string, req: { name?: string; add: Array<{ userId: string; userName?: string }>; remove: string[] }): Promise<Session> {
    await this.liveSession(sessionId);
    const now = String(Date.now());
    if (req.name !== undefined) await this.store.sessionUpdate(sessionId, { sessionName: req.name, sessionModifyTime: now });
    if (req.add.length > 0) {
      const members = req.add.map((m) => ({ sessionId, userId: m.userId, userName: m.userName || m.userId, acctLogin: m.userId, pic: null, ts: now }));
      await this.applyProfiles(members);
      await this.store.sessionMembersPut(sessionId, members);
    }
    if (req.remove.length > 0) await this.store.sessionMembersRemove(sessionId, req.remove);
    return this.liveSession(sessionId);
  }

  /** switchSession / updateSessionPic: one field of a live session. */
  async updateSession(sessionId: string, changes: { sessionValid?: number; sessionPic?: string | null }): Promise<Session> {
    await this.liveSession(sessionId);
    await this.store.sessionUpdate(sessionId, changes);
    return this.liveSession(sessionId);
  }

  /**
   * `dissolved` (spec §3.3, DESIGN Q11): a server MTS-107 `[{session_id}]` from "admin" is stored
   * and queued for every member, then the session is closed and purged in the same transaction:
   * the same path as the owner's XMPP MTS-107.
   */
  async dissolveSession(sessionId: string): Promise<StoredMessage> {
    await this.liveSession(sessionId);
    const outcome = await this.writer.submit({
      ...serverColumns("MTS-107", sessionId, [{ session_id: sessionId }]),
      convId: sessionConvId(sessionId),
      sessionId,
      recipients: { sessionMembersOf: sessionId, fromServer: true },
      effects: { dissolve: true },
    });
    if (outcome.status === "rejected") throw new ImError("sessionNotFound", `session '${sessionId}' was dissolved meanwhile`);
    return outcome.message;
  }

  /**
   * `revokeMessage` (spec §3.4) by the business system: the message becomes a tombstone and a
   * revoke notice is stored and delivered in the same transaction, as an XMPP revoke does. In a
   * session the notice is an MTS-101 from "admin"; 1:1 it is an MTT-101 in the author's name (a
   * 1:1 conversation holds only its two parties' messages). No revoke window applies. `msgFrom`
   * picks one message when several senders used the same msg_id. `notice` is null when the
   * message was revoked already.
   */
  async revokeMessage(msgId: string, msgFrom: string | null): Promise<{ target: StoredMessage; notice: StoredMessage | null }> {
    const found = (await this.store.messagesByMsgId(msgId)).filter((m) => !m.hidden && (msgFrom === null || m.msgFrom === msgFrom));
    if (found.length === 0) throw ImError.notFound(`message '${msgId}'${msgFrom === null ? "" : ` from '${msgFrom}'`} does not exist`);
    if (found.length > 1) {
      throw ImError.badParam(`msg_id '${msgId}' names ${found.length} messages (senders ${found.map((m) => `'${m.msgFrom}'`).join(", ")}): give msg_from`);
    }
    const target = found[0]!;
    if (target.revoked) return { target, notice: null };
    const sid = target.sessionId;
    const notice: NewMessage = sid !== null
      ? {
          ...serverColumns("MTS-101", sid, [{ session_id: sid, msg_id: msgId }]),
          convId: target.convId, sessionId: sid, recipients: { sessionMembersOf: sid, fromServer: true }, effects: { revoke: [{ msgFrom: target.msgFrom, msgId }] },
        }
      : {
          ...serverColumns("MTT-101", target.msgTo, [{ msg_id: msgId }]),
          msgFrom: target.msgFrom, convId: target.convId, sessionId: null,
          recipients: target.msgFrom === target.msgTo ? [target.msgFrom] : [target.msgTo, target.msgFrom], effects: { revoke: [{ msgFrom: target.msgFrom, msgId }] },
        };
    const outcome = await this.writer.submit(notice);
    if (outcome.status === "rejected") throw ImError.forbidden(`the session of message '${msgId}' was dissolved`);
    return { target, notice: outcome.message };
  }

  /** clearChatHistory (spec §3.3): the 1:1 history of two users is deleted for both, with its
   * inbox entries and read marks; nobody is notified (clients agree with MTT-200/201 first). */
  clearChat(userId: string, otherId: string): Promise<number> {
    return this.store.conversationClear(chatConvId(userId, otherId), [userId, otherId]);
  }

  /**
   * findWebSessions (spec §3.3): the user's sessions with this session_valid (not type 99); with
   * valid 0 also the 1:1 conversations as type 99 (name and picture of the peer from the users
   * table) and, when the user has system messages, the synthetic `systemMessage` entry (type 100).
   * Latest activity first.
   */
  async webSessions(userId: string, valid: number): Promise<ConversationEntry[]> {
    const entries: ConversationEntry[] = (await this.store.sessionsOf(userId, valid)).filter((s) => s.sessionType !== 99);
    if (valid === 0) {
      const chats = (await this.store.chatsOf(userId)).filter((c) => c.peerId !== SERVER_USER);
      const users = new Map((await this.store.usersGet(chats.map((c) => c.peerId))).map((u) => [u.userId, u]));
      for (const c of chats) {
        const peer = users.get(c.peerId);
        entries.push({
          sessionId: c.peerId, sessionType: 99, sessionName: peer?.userName ?? c.peerId, sessionUser: userId,
          sessionPic: peer?.picUrl ?? null, sessionValid: 0, sessionCreateTime: String(c.createdAt),
          sessionModifyTime: String(c.updatedAt), sessionDeleteTime: null,
        });
      }
      const latest = (await this.systemHistory(userId, 0, 1)).items[0];
      if (latest) {
        entries.push({
          sessionId: "systemMessage", sessionType: 100, sessionName: "系统消息", sessionUser: SERVER_USER, sessionPic: null,
          sessionValid: 0, sessionCreateTime: null, sessionModifyTime: latest.msgTime, sessionDeleteTime: null,
        });
      }
    }
    const activity = (e: ConversationEntry) => Number(e.sessionModifyTime ?? e.sessionCreateTime ?? 0) || 0;
    return entries.sort((a, b) => activity(b) - activity(a));
  }

  /**
   * addUser (spec §3.2): adds or updates users in the users table; a field not given keeps its
   * stored value (a new user's name and login default to the id). XMPP accounts are the HTTP
   * side's business (provisioning).
   */
  async putUsers(entries: Array<Partial<Omit<User, "userId" | "updatedAt">> & { userId: string }>): Promise<User[]> {
    const known = new Map((await this.store.usersGet(entries.map((e) => e.userId))).map((u) => [u.userId, u]));
    const now = Date.now();
    const users = entries.map((e): User => {
      const k = known.get(e.userId);
      return {
        userId: e.userId,
        userName: e.userName ?? k?.userName ?? e.userId,
        acctLogin: e.acctLogin ?? k?.acctLogin ?? e.userId,
        userEmail: e.userEmail ?? k?.userEmail ?? null,
        picUrl: e.picUrl ?? k?.picUrl ?? null,
        appPushCode: e.appPushCode ?? k?.appPushCode ?? null,
        updatedAt: now,
      };
    });
    await this.store.usersPut(users);
    return users;
  }

  /**
   * The HTTP offline pull (spec §3.2 getOffline) on the same inbox and cursors as XMPP sync: the
   * entries after the watermark message (or after the device's cursor), ascending; clearing
   * moves the device's cursor to the last entry returned and deletes nothing, so what arrived
   * meanwhile is never lost.
   */
  async offline(userId: string, device: string, watermarkMsgId: string, clear: boolean, limit: number): Promise<InboxItem[]> {
    let after = await this.openDevice(userId, device);
    if (watermarkMsgId !== "") {
      const seq = await this.store.inboxSeqOfMsgId(userId, watermarkMsgId);
      if (seq !== null) after = seq;
    }
    const items = await this.store.inboxAfter(userId, after, limit);
    if (clear && items.length > 0) {
      this.cursors.advance(userId, device, items[items.length - 1]!.inboxSeq);
      await this.cursors.flush();
    }
    return items;
  }

  async close(): Promise<void> {
    await this.writer.idle();
    await this.cursors.flush();
    await this.presenceWrites;
  }
}
