// /plugins/tlim/* endpoints of the walking skeleton (spec §3.2, §3.3): one function per
// endpoint; each reads params, calls the core, shapes the original response.
import type { Response } from "express";
import { conversationNode } from "../../core/conversation.js";
import type { ImCore } from "../../core/im.js";
import { ImError } from "../../protocol/errors.js";
import type { InboxItem, StoredMessage } from "../../store/types.js";
import { intParam, jsonArrayParam, ok, required, type Params } from "./conventions.js";

export type Route = (core: ImCore, p: Params, res: Response) => Promise<void>;

/** A history row in the original's shape (spec §3.2 findSessionHistory); body stays a string (Q2). */
function historyRow(m: StoredMessage) {
  return {
    id_: `${m.convId}#${m.seq}`,
    msg_id: m.msgId,
    msg_type: m.msgType,
    msg_from: m.msgFrom,
    msg_to: m.msgTo,
    msg_time: m.msgTime,
    body: m.body,
    // The original stored the sender id here for 1:1 rows (spec §4.1).
    session_id: m.sessionId ?? m.msgFrom,
  };
}

function offlineRow(item: InboxItem) {
  const conv = conversationNode(item);
  return { ...historyRow(item.message), msg_to: conv, session_id: conv, msg_status: 0, delete_user: item.userId };
}

const DEFAULT_PAGE = 20;
const OFFLINE_PAGE = 1000;

/** A page of history ids, newest first, as the read-count endpoints count them (spec §3.4). */
async function readList(core: ImCore, page: { items: StoredMessage[] }, author: string, possibleReaders: number | null) {
  const mine = page.items.filter((m) => m.msgFrom === author);
  const counts = await core.store.readCounts(author, mine.map((m) => m.msgId));
  return mine
    .filter((m) => counts[m.msgId])
    .map((m) => ({ msg_id: m.msgId, readNum: counts[m.msgId], ...(possibleReaders === null ? {} : { memberNum: possibleReaders }) }));
}

export const routes: Record<string, Route> = {
  async addSession(core, p, res) {
    const typeText = required(p, "session_type", () => ImError.sessionTypeInvalid("session_type is empty"));
    if (!/^\d+$/.test(typeText)) throw ImError.sessionTypeInvalid(`session_type must be an integer, got '${typeText.slice(0, 20)}'`);
    const owner = required(p, "request_user", () => ImError.sessionUserInvalid("request_user is empty"));
    const list = jsonArrayParam(p, "subscribers", (d) => ImError.sessionUserInvalid(d));
    const members = list.map((entry, i) => {
      const e = (entry ?? {}) as Record<string, unknown>;
      const id = String(e.user_id ?? e.userId ?? "").trim();
      if (id === "") throw ImError.sessionUserInvalid(`subscribers[${i}].user_id is empty`);
      if (id.length > 64) throw ImError.sessionUserInvalid(`subscribers[${i}].user_id is longer than 64 characters`);
      const name = typeof e.user_name === "string" ? e.user_name.slice(0, 256) : undefined;
      return { userId: id, userName: name };
    });
    if (owner.length > 64) throw ImError.sessionUserInvalid("request_user is longer than 64 characters");
    const { session, members: stored } = await core.createSession({ sessionType: Number(typeText), owner, members });
    ok(res, {
      session_id: session.sessionId,
      session_name: session.sessionName,
      session_type: session.sessionType,
      session_user: session.sessionUser,
      session_create_time: session.sessionCreateTime,
      subscribers: stored.map((m) => ({ user_id: m.userId })),
    });
  },

  async findSessionHistory(core, p, res) {
    const sessionId = required(p, "session_id", () => ImError.sessionIdEmpty("session_id为空 (session_id is empty)"));
    const page = await core.sessionHistory(sessionId, intParam(p, "start", 0), intParam(p, "length", DEFAULT_PAGE));
    ok(res, { session_id: sessionId, total: page.total, message_list: page.items.map(historyRow) });
  },

  async findChatHistory(core, p, res) {
    const peer = (p.session_id ?? "").trim();
    const userId = (p.user_id ?? "").trim();
    if (userId === "") throw Object.assign(ImError.userIdEmpty("user_id为空 (user_id is empty)"), { fields: { session_id: peer, total: 0 } });
    if (peer === "") throw Object.assign(ImError.sessionIdEmpty("session_id (the peer's user id) is empty"), { fields: { total: 0 } });
    const page = await core.chatHistory(userId, peer, intParam(p, "start", 0), intParam(p, "length", DEFAULT_PAGE));
    ok(res, { session_id: peer, total: page.total, message_list: page.items.map(historyRow) });
  },

  async findSessionRead(core, p, res) {
    const sessionId = required(p, "session_id", () => ImError.sessionIdEmpty("session_id is empty"));
    const sender = required(p, "sender", () => ImError.userIdEmpty("sender is empty"));
    const page = await core.sessionHistory(sessionId, intParam(p, "start", 0), intParam(p, "length", DEFAULT_PAGE));
    // "read by N of M": M = members other than the author.
    const members = (await core.store.sessionMembers(sessionId)).filter((m) => m.userId !== sender).length;
    ok(res, { messageReadList: await readList(core, page, sender, members) });
  },

  async findChatRead(core, p, res) {
    const from = required(p, "msg_from", () => ImError.userIdEmpty("msg_from is empty"));
    const to = required(p, "msg_to", () => ImError.userIdEmpty("msg_to is empty"));
    const page = await core.chatHistory(from, to, intParam(p, "start", 0), intParam(p, "length", DEFAULT_PAGE));
    ok(res, { messageReadList: await readList(core, page, from, 1) });
  },

  async findStatusList(core, p, res) {
    const msgId = required(p, "msg_id", () => ImError.bodyInvalid("msg_id is empty"));
    const sender = required(p, "sender", () => ImError.userIdEmpty("sender is empty"));
    const marks = await core.store.readsOf(sender, msgId);
    ok(res, {
      ofStatusList: marks.map((r) => ({ id_: `${r.author}#${r.msgId}#${r.reader}`, msg_id: r.msgId, sender: r.author, reader: r.reader, status: r.status })),
    });
  },

  approval: (core, p, res) => business(core, "MTB-000", p, res),
  approvalBack: (core, p, res) => business(core, "MTB-001", p, res),
  systemMessage: (core, p, res) => business(core, "MTB-100", p, res),

  async getOffline(core, p, res) {
    const userId = required(p, "user_id", () => ImError.userIdEmpty("user_id为空 (user_id is empty)"));
    // spec §3.2: clears unless getThenClear is exactly "1".
    const clear = (p.getThenClear ?? "").trim() !== "1";
    const device = (p.device ?? "").trim() || "http";
    const items = await core.offline(userId, device, (p.msg_id ?? "").trim(), clear, intParam(p, "length", OFFLINE_PAGE));
    ok(res, { message_list: items.map(offlineRow) });
  },
};

/** approval / approvalBack / systemMessage (spec §3.2): stored and delivered through the core;
 * the answer says whether it was accepted (the original always said "ok"). */
async function business(core: ImCore, type: "MTB-000" | "MTB-001" | "MTB-100", p: Params, res: Response): Promise<void> {
  // The original read only `msgTo`; legacy docs spell it msg_to.
  const to = (p.msgTo ?? p.msg_to ?? "").trim();
  if (to === "") throw ImError.userIdEmpty("msgTo is empty");
  const params = (p.params ?? "").trim();
  if (params === "") throw ImError.bodyInvalid("params is empty");
  const m = await core.business(type, to, params);
  ok(res, { msg_id: m.msgId, msg_type: m.msgType, msg_time: m.msgTime });
}
