// Get messages 19 -> 20 (docs/jim-gateway.md "Offline and history (19 → 20)") from tlim's inbox and history, never from a copy.
//  type 0 (offline): the device's inbox after its cursor (all, or one peer / one group); reading
//    is not destructive: the cursor moves over what was returned (sync.ts), 10016.
//  type 1 (history): one conversation, ascending (offset 0 = oldest), beginTime/endTime (a pair,
//    server commit time, ms) and offset/count (a pair); a group needs membership; 10018.
// `userId` must be the logged-in user (or absent); failures are 10015.
import { conversationNode } from "../../../core/conversation.js";
import { Delivered } from "../../../metrics.js";
import { Cmd, GET_MESSAGE_FIELDS, getMessageSchema, parseRequest, statusPacket, type GetMessageRequest, type Packet } from "../../../protocol/jim-commands.js";
import { messageToJim, type Dialect } from "../../../protocol/jim-mapping.js";
import type { InboxItem, StoredMessage } from "../../../store/types.js";
import type { HistoryReader } from "../../../core/services/messaging.js";
import type { JimConnection } from "../connection.js";
import type { JimCommand, JimDeps } from "../context.js";

/** Most entries one fetch returns (offline: the rest comes with the next fetch). */
export const MAX_FETCH = 1000;
const PAGE = 200;

const failed = () => statusPacket(Cmd.GET_MESSAGE_RESP, 10015);

interface MessageData {
  friends: Record<string, unknown[]>;
  groups: Record<string, unknown[]>;
}

function dataOf(userId: string, d: MessageData, dialect: Dialect): Record<string, unknown> {
  return { [dialect === "v2" ? "userid" : "userId"]: userId, friends: d.friends, groups: d.groups };
}

function add(map: Record<string, unknown[]>, key: string, value: unknown): void {
  (map[key] ??= []).push(value);
}

async function offline(deps: JimDeps, conn: JimConnection, req: GetMessageRequest): Promise<Packet> {
  const me = conn.user!;
  const sync = conn.sync!;
  const items: InboxItem[] = [];
  let complete = true;
  for await (const page of deps.core.backlog(me, sync.after)) {
    items.push(...page);
    if (items.length >= MAX_FETCH) {
      complete = false;
      break;
    }
  }
  const group = req.groupId?.trim() || null;
  const peer = req.fromUserId?.trim() || null;
  const wanted = (i: InboxItem) =>
    group !== null ? i.message.sessionId === group : peer !== null ? i.message.sessionId === null && conversationNode(i) === peer : true;
  const views = new Map<number, ReturnType<typeof messageToJim>>();
  const view = (i: InboxItem) => {
    let v = views.get(i.inboxSeq);
    if (!v) views.set(i.inboxSeq, (v = messageToJim(i.message, conn.dialect, deps.mapping)));
    return v;
  };
  const showable = (i: InboxItem) => view(i).kind === "chat";
  const picked = items.filter((i) => !sync.has(i.inboxSeq) && showable(i) && wanted(i));
  sync.fetched(items, picked, (i) => !showable(i), complete);
  const data: MessageData = { friends: {}, groups: {} };
  const now = Date.now();
  for (const i of picked) {
    const v = view(i);
    if (v.kind !== "chat") continue;
    deps.core.metrics.delivered.observe((now - i.message.createdAt) / 1000, Delivered.jimBacklog);
    sync.handed(i.inboxSeq, i.message.createdAt);
    if (i.message.sessionId !== null) add(data.groups, i.message.sessionId, v.chat);
    else add(data.friends, conversationNode(i), v.chat);
  }
  return statusPacket(Cmd.GET_MESSAGE_RESP, 10016, { data: dataOf(me, data, conn.dialect) });
}

async function history(deps: JimDeps, conn: JimConnection, req: GetMessageRequest): Promise<Packet> {
  const me = conn.user!;
  const group = req.groupId?.trim() || null;
  const peer = req.fromUserId?.trim() || null;
  if (group === null && peer === null) return failed(); // upstream: history needs a peer or a group
  // A group's history needs membership (the messaging service checks it): null otherwise.
  const history = await deps.core.messaging.historyFor(me, group !== null ? { sessionId: group } : { peer: peer! });
  if (history === null) return failed();
  const messages = await historyRange(history, req);
  const data: MessageData = { friends: {}, groups: {} };
  for (const m of messages) {
    const v = messageToJim(m, conn.dialect, deps.mapping);
    if (v.kind !== "chat") continue;
    if (group !== null) add(data.groups, group, v.chat);
    else add(data.friends, peer!, v.chat);
  }
  if (group !== null) data.groups[group] ??= [];
  else data.friends[peer!] ??= [];
  return statusPacket(Cmd.GET_MESSAGE_RESP, 10018, { data: dataOf(me, data, conn.dialect) });
}

/** Ascending messages of a conversation per the range rules of docs/jim-gateway.md "Offline and
 * history (19 → 20)", at most MAX_FETCH. */
async function historyRange(history: HistoryReader, req: GetMessageRequest): Promise<StoredMessage[]> {
  const paged = req.offset !== undefined && req.count !== undefined;
  const offset = Math.max(0, req.offset ?? 0);
  const count = Math.min(MAX_FETCH, Math.max(0, req.count ?? MAX_FETCH));
  if (req.beginTime !== undefined && req.endTime !== undefined) {
    // Newest first until older than beginTime (commit time grows with seq).
    const inRange: StoredMessage[] = [];
    for (let at = 0; ; at += PAGE) {
      const page = await history(at, PAGE);
      for (const m of page.items) if (m.createdAt >= req.beginTime && m.createdAt <= req.endTime) inRange.push(m);
      const oldest = page.items[page.items.length - 1];
      if (page.items.length < PAGE || !oldest || oldest.createdAt < req.beginTime || inRange.length >= offset + MAX_FETCH) break;
    }
    const ascending = inRange.reverse();
    return paged ? ascending.slice(offset, offset + count) : ascending.slice(-MAX_FETCH);
  }
  if (paged) {
    // Ascending [offset, offset+count) is descending [total-offset-count, total-offset).
    const { total } = await history(0, 0);
    const from = Math.max(0, total - offset - count);
    const limit = total - offset - from;
    if (limit <= 0) return [];
    return (await history(from, limit)).items.reverse();
  }
  return (await history(0, MAX_FETCH)).items.reverse();
}

export const getMessages: JimCommand = {
  cmd: Cmd.GET_MESSAGE_REQ,
  reply: Cmd.GET_MESSAGE_RESP,
  failCode: 10015,
  async handle(deps, call) {
    const { conn } = call;
    const req = parseRequest(call.body, GET_MESSAGE_FIELDS, getMessageSchema);
    if (!req || (req.type !== 0 && req.type !== 1)) return call.reply(failed());
    if (req.userId !== undefined && req.userId.trim() !== "" && req.userId.trim() !== conn.user) return call.reply(failed());
    // Awaited: two fetches of one device must not interleave (sync.ts).
    const reply = await (req.type === 0 ? offline(deps, conn, req) : history(deps, conn, req));
    call.reply(reply);
  },
};
