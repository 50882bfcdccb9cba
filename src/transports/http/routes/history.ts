// History and read state (docs/http-api.md "History and read state", "Paging"). Pages are newest first by the conversation's seq (one
// order on every database, walked on the (conv_id, seq) index); `start`/`length`/`max` as in the
// original, plus `before` (an `id_` from a previous page) to page by key. Revoked messages and
// receipts are never listed, and `total` counts exactly what can be listed.
import type { ImCore } from "../../../core/im.js";
import { ImError } from "../../../protocol/errors.js";
import { tryAddressId } from "../../../protocol/ids.js";
import type { StoredMessage } from "../../../store/types.js";
import { beforeParam, intParam, msgIdParam, ok, sessionIdParam, userIdParam, withFields, type Params } from "../conventions.js";
import type { Route } from "../routes.js";
import { DEFAULT_PAGE, historyRow } from "./shapes.js";

/** Page of the original's paging parameters. */
const paging = (p: Params) => ({ start: intParam(p, "start", 0), length: intParam(p, "length", DEFAULT_PAGE), filter: { beforeSeq: beforeParam(p) } });

/** A page of history ids, newest first, as the read-count endpoints count them (docs/http-api.md "findSessionRead"). */
async function readList(core: ImCore, page: { items: StoredMessage[] }, author: string, possibleReaders: number | null) {
  const mine = page.items.filter((m) => m.msgFrom === author);
  const counts = await core.messaging.readCounts(author, mine.map((m) => m.msgId));
  return mine
    .filter((m) => counts[m.msgId])
    .map((m) => ({ msg_id: m.msgId, readNum: counts[m.msgId], ...(possibleReaders === null ? {} : { memberNum: possibleReaders }) }));
}

export const historyRoutes: Record<string, Route> = {
  async findSessionHistory({ core }, p, res) {
    const sessionId = sessionIdParam(p, "session_id", { err: ImError.sessionIdEmpty, empty: () => ImError.sessionIdEmpty("session_id为空 (session_id is empty)") });
    const { start, length, filter } = paging(p);
    const page = await core.messaging.sessionHistory(sessionId, start, length, filter);
    ok(res, { session_id: sessionId, total: page.total, message_list: page.items.map(historyRow) });
  },

  /** 1:1 history of `user_id` with the peer `session_id` (docs/http-api.md "findChatHistory"). */
  async findChatHistory({ core }, p, res) {
    // The original kept session_id (the peer) and total 0 on failures; the peer is echoed only
    // when it is a valid id, folded.
    const rawPeer = (p.session_id ?? "").trim();
    const echo = rawPeer === "" ? "" : (tryAddressId(rawPeer) ?? undefined);
    const userId = userIdParam(p, "user_id", {
      err: (d) => withFields(ImError.userIdEmpty(d), { session_id: echo, total: 0 }),
      empty: () => withFields(ImError.userIdEmpty("user_id为空 (user_id is empty)"), { session_id: echo, total: 0 }),
    });
    const peer = userIdParam(p, "session_id", {
      err: (d) => withFields(ImError.sessionIdEmpty(d), { total: 0 }),
      empty: () => withFields(ImError.sessionIdEmpty("session_id (the peer's user id) is empty"), { total: 0 }),
    });
    const { start, length, filter } = paging(p);
    const page = await core.messaging.chatHistory(userId, peer, start, length, filter);
    ok(res, { session_id: peer, total: page.total, message_list: page.items.map(historyRow) });
  },

  /** The MTB-100 system messages sent to `msg_to` (docs/http-api.md "findSystemHistory"). */
  async findSystemHistory({ core }, p, res) {
    const userId = userIdParam(p, "msg_to", { err: ImError.userIdEmpty, empty: () => ImError.userIdEmpty("msg_to (the user id) is empty") });
    const { start, length, filter } = paging(p);
    const page = await core.messaging.systemHistory(userId, start, length, filter);
    ok(res, { message_list: page.items.map(historyRow), total: page.total });
  },

  /**
   * Deprecated in the original (docs/http-api.md "syncMessage"): the messages addressed to
   * `msg_to` that arrived after `msg_id`, oldest first, from the user's inbox. An unknown
   * `msg_id` gives no list.
   */
  async syncMessage({ core }, p, res) {
    const userId = userIdParam(p, "msg_to", { err: ImError.userIdEmpty, empty: () => ImError.userIdEmpty("msg_to (the user id) is empty") });
    const msgId = msgIdParam(p, "msg_id", { err: ImError.bodyInvalid });
    const after = await core.messaging.inboxSeqOf(userId, msgId);
    if (after === null) return ok(res);
    const items = await core.messaging.inbox(userId, after, intParam(p, "length", 1000));
    const rows = items.map((i) => i.message).filter((m) => m.msgTo === userId && !m.hidden);
    ok(res, { messageList: rows.map(({ msgId: id, msgType, msgFrom, msgTo, msgTime, body }) => ({ msg_id: id, msg_type: msgType, msg_from: msgFrom, msg_to: msgTo, msg_time: msgTime, body })) });
  },

  /** Read counts of `sender`'s messages on a page of session history, with the member count. */
  async findSessionRead({ core }, p, res) {
    const sessionId = sessionIdParam(p, "session_id", { err: ImError.sessionIdEmpty });
    const sender = userIdParam(p, "sender", { err: ImError.userIdEmpty });
    const { start, length, filter } = paging(p);
    const page = await core.messaging.sessionHistory(sessionId, start, length, filter);
    // "read by N of M": M = members other than the author.
    const members = (await core.sessions.members(sessionId)).filter((m) => m.userId !== sender).length;
    ok(res, { messageReadList: await readList(core, page, sender, members) });
  },

  async findChatRead({ core }, p, res) {
    const from = userIdParam(p, "msg_from", { err: ImError.userIdEmpty });
    const to = userIdParam(p, "msg_to", { err: ImError.userIdEmpty });
    const { start, length, filter } = paging(p);
    const page = await core.messaging.chatHistory(from, to, start, length, filter);
    ok(res, { messageReadList: await readList(core, page, from, 1) });
  },

  async findStatusList({ core }, p, res) {
    const msgId = msgIdParam(p, "msg_id", { err: ImError.bodyInvalid });
    const sender = userIdParam(p, "sender", { err: ImError.userIdEmpty });
    const marks = await core.messaging.readsOf(sender, msgId);
    ok(res, {
      ofStatusList: marks.map((r) => ({ id_: `${r.author}#${r.msgId}#${r.reader}`, msg_id: r.msgId, sender: r.author, reader: r.reader, status: r.status })),
    });
  },
};
