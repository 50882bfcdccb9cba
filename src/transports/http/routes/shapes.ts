// The original's JSON shapes (docs/http-api.md), built in one place. Null fields are left out
// (docs/http-api.md "Conventions").
import { conversationNode } from "../../../core/conversation.js";
import type { ConversationEntry } from "../../../core/im.js";
import type { InboxItem, Member, StoredMessage } from "../../../store/types.js";
import { omitNulls } from "../conventions.js";

/** The list page size when `length` is absent (the original returned an empty page). */
export const DEFAULT_PAGE = 20;

/** A history row (docs/http-api.md "findSessionHistory"); body stays a string (docs/architecture.md "The body: an
 * array on XMPP, a string over HTTP"). `id_` is the
 * row's position, usable as the `before` paging key. */
export function historyRow(m: StoredMessage) {
  return {
    id_: `${m.convId}#${m.seq}`,
    msg_id: m.msgId,
    msg_type: m.msgType,
    msg_from: m.msgFrom,
    msg_to: m.msgTo,
    msg_time: m.msgTime,
    body: m.body,
    // The original stored the sender id here for 1:1 rows.
    session_id: m.sessionId ?? m.msgFrom,
  };
}

/** An offline row (docs/http-api.md "getOffline"): msg_to and session_id are the conversation, seen
 * from the queue's owner (docs/architecture.md "Conversations are named by the real peer"); msg_status 1 once the owner's web client has it. */
export function offlineRow(item: InboxItem, webSeq: number) {
  const conv = conversationNode(item);
  return { ...historyRow(item.message), msg_to: conv, session_id: conv, msg_status: item.inboxSeq <= webSeq ? 1 : 0, delete_user: item.userId };
}

/** A full session object (findWebSessions). */
export function sessionRow(s: ConversationEntry) {
  return omitNulls({
    session_id: s.sessionId,
    session_type: s.sessionType,
    session_name: s.sessionName,
    session_create_time: s.sessionCreateTime,
    session_modify_time: s.sessionModifyTime,
    session_delete_time: s.sessionDeleteTime,
    session_valid: s.sessionValid,
    session_user: s.sessionUser,
    session_pic: s.sessionPic,
  });
}

/** A member (findSubscribers, findSession). */
export function memberRow(m: Member) {
  return omitNulls({ user_id: m.userId, user_name: m.userName, acct_login: m.acctLogin, pic: m.pic, session_id: m.sessionId, ts: m.ts });
}
