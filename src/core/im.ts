// The core: every transport calls in here; it never imports a transport or TypeORM (DESIGN §1).
// Dispatch gives every request exactly one answer: a SubmitResult, or an ImError (invalid,
// refused, unsupported, or internal after logging).
import type { Logger } from "pino";
import { encodeBody, msgClassOf, normaliseBody } from "../protocol/envelope.js";
import { ImError } from "../protocol/errors.js";
import { randomUUID } from "node:crypto";
import { chatConvId, sessionConvId, type CommitOutcome, type InboxItem, type Member, type Page, type Session, type Store, type StoredMessage } from "../store/types.js";
import { CursorBook } from "./cursors.js";
import type { HandlerContext } from "./handlers/handler.js";
import { HandlerRegistry } from "./registry.js";
import type { DeliverySink, Inbound, SubmitResult } from "./types.js";
import { GroupCommitWriter } from "./writer.js";

export interface CoreOptions {
  maxTextChars: number;
  /** 0 = unlimited. */
  revokeWindowS: number;
  writeBatchMax: number;
  syncPageSize: number;
  cursorFlushMs?: number;
}

/** The sender of server-originated messages, as in the original (spec §2.5). */
export const SERVER_USER = "admin";

export class ImCore {
  readonly writer: GroupCommitWriter;
  readonly cursors: CursorBook;
  private readonly registry = new HandlerRegistry();
  private readonly sinks: DeliverySink[] = [];
  private readonly ctx: HandlerContext;

  constructor(
    readonly store: Store,
    private readonly opts: CoreOptions,
    private readonly log: Logger,
  ) {
    this.writer = new GroupCommitWriter(store, opts.writeBatchMax, {
      committed: (o) => this.deliver(o),
      batchFailed: (err, size) => log.error({ err, size }, "commit failed; nothing of the batch was stored"),
    });
    this.cursors = new CursorBook(store, opts.cursorFlushMs ?? 1000, (err) =>
      log.warn({ err }, "device cursor write failed; those messages will be offered again"),
    );
    this.ctx = {
      maxTextChars: opts.maxTextChars,
      revokeWindowMs: opts.revokeWindowS * 1000,
      store,
      now: () => Date.now(),
      commit: (m) => this.writer.submit(m),
    };
  }

  addSink(sink: DeliverySink): void {
    this.sinks.push(sink);
  }

  /** Accepts one message from a client. Resolves after commit; throws ImError on refusal. */
  async submit(inbound: Inbound): Promise<SubmitResult> {
    const env = inbound.envelope;
    // DESIGN §2: msg_from must be the sender (the original trusted it: spoofing).
    if (env.msg_from === "") env.msg_from = inbound.sender.userId;
    if (env.msg_from !== inbound.sender.userId) {
      throw ImError.forbidden(`msg_from '${env.msg_from}' does not match the sender '${inbound.sender.userId}'`);
    }
    const cls = msgClassOf(env.msg_type);
    const handler = cls ? this.registry.lookup(env.msg_type, cls) : undefined;
    if (!handler) throw ImError.unsupported(`no handler for msg_type '${env.msg_type}'`);
    try {
      return await handler.handle(this.ctx, inbound);
    } catch (err) {
      if (err instanceof ImError) throw err;
      this.log.error({ err, msg_type: env.msg_type, msg_id: env.msg_id }, "handler failed");
      throw ImError.internal();
    }
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
    await this.store.cursorAdvance(userId, device, start);
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
    const body = normaliseBody(params);
    const outcome = await this.writer.submit({
      convId: chatConvId(SERVER_USER, to),
      msgId: randomUUID(),
      msgFrom: SERVER_USER,
      msgTo: to,
      msgType,
      msgTime: String(Date.now()),
      body: encodeBody(body),
      sessionId: null,
      compress: "0", encode: "1", encrypt: "0", version: "2.0.0",
      recipients: [to],
    });
    if (outcome.status === "rejected") throw ImError.internal();
    return outcome.message;
  }

  // ---- sessions and history (HTTP API) ----

  /** Creates a session with its members; the owner is always a member (spec §5.2 fixed). */
  async createSession(req: { sessionType: number; owner: string; members: Array<{ userId: string; userName?: string }> }): Promise<{ session: Session; members: Member[] }> {
    const now = String(Date.now());
    const seen = new Set<string>();
    const members: Member[] = [];
    for (const m of [{ userId: req.owner }, ...req.members]) {
      if (seen.has(m.userId)) {
        const named = members.find((x) => x.userId === m.userId)!;
        if ("userName" in m && m.userName) named.userName = m.userName;
        continue;
      }
      seen.add(m.userId);
      const userName = ("userName" in m && m.userName) || m.userId;
      members.push({ sessionId: "", userId: m.userId, userName, acctLogin: m.userId, pic: null, ts: now });
    }
    const session: Session = {
      sessionId: randomUUID(),
      sessionType: req.sessionType,
      sessionName: members.map((m) => m.userName).join(",").slice(0, 200),
      sessionUser: req.owner,
      sessionPic: null,
      sessionValid: 0,
      sessionCreateTime: now,
      sessionModifyTime: null,
      sessionDeleteTime: null,
    };
    for (const m of members) m.sessionId = session.sessionId;
    await this.store.sessionCreate(session, members);
    return { session, members };
  }

  sessionHistory(sessionId: string, offset: number, limit: number): Promise<Page<StoredMessage>> {
    return this.store.history(sessionConvId(sessionId), offset, limit);
  }

  chatHistory(userId: string, peer: string, offset: number, limit: number): Promise<Page<StoredMessage>> {
    return this.store.history(chatConvId(userId, peer), offset, limit);
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
  }
}
