// Revoke MTT-101 / MTS-101 (spec §2.9, DESIGN Q13): only the author, or the session owner for a
// session message, within the revoke window. The originals become tombstones (gone from history
// and from every inbox) in the same transaction that stores the revoke notice, which is then
// delivered like any message. Revoking what is already revoked changes nothing and is acked.
import { ImError } from "../../protocol/errors.js";
import { chatConvId, sessionConvId, type StoredMessage } from "../../store/types.js";
import { resolvePeer } from "./chat-content.js";
import { bodyMsgIds, messageColumns, type HandlerContext, type MessageHandler } from "./handler.js";
import { rejection, resolveSessionId } from "./session-content.js";

async function targetsOf(ctx: HandlerContext, convId: string, ids: string[], mayRevoke: (m: StoredMessage) => boolean) {
  const targets: StoredMessage[] = [];
  for (const id of ids) {
    const m = await ctx.store.findMessageInConv(convId, id);
    if (!m || m.hidden) throw ImError.notFound(`message '${id}' does not exist in this conversation`);
    if (!mayRevoke(m)) throw ImError.forbidden(`only the author${convId.startsWith("session:") ? " or the session owner" : ""} may revoke message '${id}'`);
    const age = ctx.now() - m.createdAt;
    if (!m.revoked && ctx.revokeWindowMs > 0 && age > ctx.revokeWindowMs) {
      throw ImError.forbidden(`message '${id}' is ${Math.round(age / 1000)} s old; it can be revoked within ${ctx.revokeWindowMs / 1000} s`);
    }
    targets.push(m);
  }
  return targets;
}

export const revoke: MessageHandler = {
  types: ["MTT-101", "MTS-101"],
  async handle(ctx, inbound) {
    const env = inbound.envelope;
    const ids = bodyMsgIds(env);
    const sender = env.msg_from;
    const isSession = env.msg_type === "MTS-101";
    const sessionId = isSession ? resolveSessionId(inbound) : null;
    const peer = isSession ? null : resolvePeer(inbound);
    const convId = sessionId !== null ? sessionConvId(sessionId) : chatConvId(sender, peer!);
    let owner: string | null = null;
    if (sessionId !== null) {
      const session = await ctx.store.sessionGet(sessionId);
      if (!session) throw ImError.sessionNotFound(sessionId);
      owner = session.sessionUser;
    }
    const targets = await targetsOf(ctx, convId, ids, (m) => m.msgFrom === sender || owner === sender);
    const pending = targets.filter((m) => !m.revoked);
    if (pending.length === 0) return { kind: "duplicate", message: targets[0]! };
    const outcome = await ctx.commit({
      ...messageColumns(env, peer ?? (env.msg_to || sessionId!)),
      convId,
      sessionId,
      recipients: sessionId !== null ? { sessionMembersOf: sessionId } : peer === sender ? [sender] : [peer!, sender],
      effects: { revoke: pending.map((m) => m.msgId) },
    });
    if (outcome.status === "rejected") throw rejection(outcome.reason, sender, sessionId ?? "");
    return { kind: outcome.status, message: outcome.message };
  },
};
