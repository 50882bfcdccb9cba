// Messaging beyond one client's submit (docs/http-api.md "History and read state", "Business
// pushes", "Offline", "Messages"; docs/jim-gateway.md "Offline and history (19 → 20)"): history
// pages, read state, the conversation list, the offline pull, and the messages the server makes
// or changes. Everything stored goes through the group-commit writer, the same path as XMPP.
import { normaliseBody } from "../../protocol/envelope.js";
import { ImError } from "../../protocol/errors.js";
import { chatConvId, sessionConvId, type ChatPeer, type HistoryFilter, type InboxItem, type NewMessage, type Page, type ReadMark, type Session, type Store, type StoredMessage } from "../../store/types.js";
import type { CursorBook } from "../cursors.js";
import { SERVER_USER, serverColumns } from "../server-user.js";
import type { GroupCommitWriter } from "../writer.js";
import type { DirectoryService } from "./directory.js";
import type { SessionService } from "./sessions.js";

/** A findWebSessions entry: a session, a 1:1 chat (type 99) or the system entry (type 100,
 * which has no create time). */
export type ConversationEntry = Omit<Session, "sessionCreateTime"> & { sessionCreateTime: string | null };

/** One conversation's history pages, newest first, for a reader allowed to see it. */
export type HistoryReader = (offset: number, limit: number) => Promise<Page<StoredMessage>>;

export interface MessagingDeps {
  store: Store;
  writer: GroupCommitWriter;
  cursors: CursorBook;
  sessions: SessionService;
  directory: DirectoryService;
  /** Where a device's inbox reading starts (ImCore.openDevice). */
  openDevice(userId: string, device: string): Promise<number>;
}

export class MessagingService {
  readonly #store: Store;
  private readonly writer: GroupCommitWriter;
  private readonly cursors: CursorBook;
  private readonly sessions: SessionService;
  private readonly directory: DirectoryService;
  private readonly openDevice: MessagingDeps["openDevice"];

  constructor(deps: MessagingDeps) {
    this.#store = deps.store;
    this.writer = deps.writer;
    this.cursors = deps.cursors;
    this.sessions = deps.sessions;
    this.directory = deps.directory;
    this.openDevice = deps.openDevice;
  }

  // ---- history (the HTTP API: the business system sees every conversation) ----

  sessionHistory(sessionId: string, offset: number, limit: number, filter?: HistoryFilter): Promise<Page<StoredMessage>> {
    return this.#store.history(sessionConvId(sessionId), offset, limit, filter);
  }

  chatHistory(userId: string, peer: string, offset: number, limit: number, filter?: HistoryFilter): Promise<Page<StoredMessage>> {
    return this.#store.history(chatConvId(userId, peer), offset, limit, filter);
  }

  /** The system messages (MTB-100) sent to a user, newest first (findSystemHistory). */
  systemHistory(userId: string, offset: number, limit: number, filter: HistoryFilter = {}): Promise<Page<StoredMessage>> {
    return this.#store.history(chatConvId(SERVER_USER, userId), offset, limit, { ...filter, msgType: "MTB-100" });
  }

  /**
   * The history a user may read: a 1:1 conversation with `peer`, or a session's when the user is
   * one of its members; null when it is not.
   */
  async historyFor(userId: string, of: { sessionId: string } | { peer: string }): Promise<HistoryReader | null> {
    let convId: string;
    if ("sessionId" in of) {
      if ((await this.sessions.membersSeenBy(of.sessionId, userId)) === null) return null;
      convId = sessionConvId(of.sessionId);
    } else {
      convId = chatConvId(userId, of.peer);
    }
    return (offset, limit) => this.#store.history(convId, offset, limit);
  }

  // ---- read state ----

  /** Number of readers per message of one author; messages with no reads are absent. */
  readCounts(author: string, msgIds: string[]): Promise<Record<string, number>> {
    return this.#store.readCounts(author, msgIds);
  }

  /** Read marks of one message (findStatusList), ordered by reader. */
  /** Which of these messages `reader` has read (one query, not one per message). */
  readBy(reader: string, messages: Array<{ author: string; msgId: string }>): Promise<Array<{ author: string; msgId: string }>> {
    return this.#store.readBy(reader, messages);
  }

  readsOf(author: string, msgId: string): Promise<ReadMark[]> {
    return this.#store.readsOf(author, msgId);
  }

  // ---- conversations and inbox ----

  /** The user's 1:1 conversations, latest activity first. */
  chatsOf(userId: string): Promise<ChatPeer[]> {
    return this.#store.chatsOf(userId);
  }

  /**
   * findWebSessions: the user's sessions with this session_valid (not type 99); with valid 0
   * also the 1:1 conversations as type 99 (name and picture of the peer from the users table)
   * and, when the user has system messages, the synthetic `systemMessage` entry (type 100).
   * Latest activity first.
   */
  async conversations(userId: string, valid: number): Promise<ConversationEntry[]> {
    const entries: ConversationEntry[] = (await this.sessions.ofUser(userId, valid)).filter((s) => s.sessionType !== 99);
    if (valid === 0) {
      const chats = (await this.#store.chatsOf(userId)).filter((c) => c.peerId !== SERVER_USER);
      const users = new Map((await this.directory.users(chats.map((c) => c.peerId))).map((u) => [u.userId, u]));
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

  /** The seq of the user's inbox entry of a message (by msg_id), or null. */
  inboxSeqOf(userId: string, msgId: string): Promise<number | null> {
    return this.#store.inboxSeqOfMsgId(userId, msgId);
  }

  /** The user's inbox entries after `afterSeq`, ascending, at most `limit`. */
  inbox(userId: string, afterSeq: number, limit: number): Promise<InboxItem[]> {
    return this.#store.inboxAfter(userId, afterSeq, limit);
  }

  /**
   * The HTTP offline pull (getOffline) on the same inbox and cursors as XMPP sync: the entries
   * after the watermark message (or after the device's cursor), ascending; clearing moves the
   * device's cursor to the last entry returned and deletes nothing, so what arrived meanwhile is
   * never lost.
   */
  async offline(userId: string, device: string, watermarkMsgId: string, clear: boolean, limit: number): Promise<InboxItem[]> {
    let after = await this.openDevice(userId, device);
    if (watermarkMsgId !== "") {
      const seq = await this.#store.inboxSeqOfMsgId(userId, watermarkMsgId);
      if (seq !== null) after = seq;
    }
    const items = await this.#store.inboxAfter(userId, after, limit);
    if (clear && items.length > 0) {
      this.cursors.advance(userId, device, items[items.length - 1]!.inboxSeq);
      await this.cursors.flush();
    }
    return items;
  }

  // ---- messages the server makes or changes ----

  /**
   * A message the server originates (approval, approvalBack, systemMessage): MTB-000 approval,
   * MTB-001 approval returned, MTB-100 system message. From "admin" to one user, stored, queued
   * in the user's inbox and delivered like any message. `params` is the body array (JSON text,
   * lenient) given verbatim.
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

  /**
   * `revokeMessage` by the business system: the message becomes a tombstone and a revoke notice
   * is stored and delivered in the same transaction, as an XMPP revoke does. In a session the
   * notice is an MTS-101 from "admin"; 1:1 it is an MTT-101 in the author's name (a 1:1
   * conversation holds only its two parties' messages). No revoke window applies. `msgFrom`
   * picks one message when several senders used the same msg_id. `notice` is null when the
   * message was revoked already.
   */
  async revoke(msgId: string, msgFrom: string | null): Promise<{ target: StoredMessage; notice: StoredMessage | null }> {
    const found = (await this.#store.messagesByMsgId(msgId)).filter((m) => !m.hidden && (msgFrom === null || m.msgFrom === msgFrom));
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

  /** clearChatHistory: the 1:1 history of two users is deleted for both, with its inbox entries
   * and read marks; nobody is notified (clients agree with MTT-200/201 first). */
  clearChat(userId: string, otherId: string): Promise<number> {
    return this.#store.conversationClear(chatConvId(userId, otherId), [userId, otherId]);
  }
}
