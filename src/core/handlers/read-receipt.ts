// Read receipts MTT-100 / MTS-100 (docs/protocol.md "Every msg_type"): recorded per (author, msg_id, reader) with the
// device class (web = 1, others = 2), the author looked up server-side (docs/architecture.md
// "Read marks are keyed to the author tlim looks up"). The receipt
// itself is stored hidden from history and queued like any message, so the author learns of
// the read even when offline; 1:1 it goes to the peer, in a session to every member.
import { ImError } from "../../protocol/errors.js";
import { chatConvId, sessionConvId, type ConvId } from "../../store/types.js";
import { deviceClassOf } from "../types.js";
import { resolvePeer } from "./chat-content.js";
import { bodyMsgIds, messageColumns, type HandlerContext, type MessageHandler } from "./handler.js";
import { rejection, resolveSessionId } from "./session-content.js";

/**
 * Read marks for the listed ids. A msg_id is unique per sender only: 1:1 the read messages are
 * the peer's; in a session, every other member's message with that id in the session.
 */
async function readsFor(ctx: HandlerContext, convId: ConvId, reader: string, peer: string | null, ids: string[], status: number) {
  const reads: Array<{ author: string; msgId: string; status: number }> = [];
  for (const msgId of ids) {
    const found = peer !== null
      ? [await ctx.store.findMessage(peer, msgId)]
      : await ctx.store.messagesByMsgId(msgId);
    // Unknown ids and one's own messages carry no read state; the receipt still travels.
    for (const m of found) {
      if (m && m.convId === convId && !m.revoked && !m.hidden && m.msgFrom !== reader) reads.push({ author: m.msgFrom, msgId, status });
    }
  }
  return reads;
}

export const readReceipt: MessageHandler = {
  types: ["MTT-100", "MTS-100"],
  async handle(ctx, inbound) {
    const env = inbound.envelope;
    const ids = bodyMsgIds(env);
    const status = deviceClassOf(inbound.sender.resource) === "web" ? 1 : 2;
    const reader = env.msg_from;
    if (env.msg_type === "MTT-100") {
      const peer = resolvePeer(inbound);
      const convId = chatConvId(reader, peer);
      const reads = await readsFor(ctx, convId, reader, peer, ids, status);
      const outcome = await ctx.commit({
        ...messageColumns(env, peer), convId, sessionId: null,
        recipients: peer === reader ? [reader] : [peer, reader], hidden: true, effects: { reads },
      });
      if (outcome.status === "rejected") throw ImError.internal();
      return { kind: outcome.status, message: outcome.message };
    }
    const sessionId = resolveSessionId(inbound);
    const convId = sessionConvId(sessionId);
    const reads = await readsFor(ctx, convId, reader, null, ids, status);
    const outcome = await ctx.commit({
      ...messageColumns(env, env.msg_to || sessionId), convId, sessionId,
      recipients: { sessionMembersOf: sessionId }, hidden: true, effects: { reads },
    });
    if (outcome.status === "rejected") throw rejection(outcome.reason, reader, sessionId);
    return { kind: outcome.status, message: outcome.message };
  },
};
