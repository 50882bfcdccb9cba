// Revoke MTT-101 / MTS-101 (docs/protocol.md "Every msg_type"): only the author, or the session owner for a
// session message, within the revoke window. The originals become tombstones (gone from history
// and from every inbox) in the same transaction that stores the revoke notice, which is then
// delivered like any message. Revoking what is already revoked changes nothing and is acked.
import { ImError } from "../../protocol/errors.js";
import { chatConvId, sessionConvId, type StoredMessage } from "../../store/types.js";
import { resolvePeer } from "./chat-content.js";
import type { Envelope } from "../../protocol/envelope.js";
import { bodyAddress, bodyMsgIds, messageColumns, type HandlerContext, type MessageHandler } from "./handler.js";
import { rejection, resolveSessionId } from "./session-content.js";

/**
 * The message a revoke names: (msg_from, msg_id), since a msg_id is unique per sender only. The
 * sender's own message with that id; else, for the session owner moderating, the one other
 * author's (`body[i].msg_from` picks one when several used the id).
 */
async function targetOf(ctx: HandlerContext, convId: string, ref: { msgId: string; msgFrom: string | null }, sender: string, owner: string | null): Promise<StoredMessage> {
  const inConv = (m: StoredMessage | null) => (m && m.convId === convId && !m.hidden ? m : null);
  const { msgId } = ref;
  const own = ref.msgFrom === null || ref.msgFrom === sender ? inConv(await ctx.store.findMessage(sender, msgId)) : null;
  if (own) return own;
  const others = ref.msgFrom !== null
    ? [inConv(await ctx.store.findMessage(ref.msgFrom, msgId))].filter((m): m is StoredMessage => m !== null)
    : (await ctx.store.messagesByMsgId(msgId)).filter((m) => inConv(m) !== null);
  if (others.length === 0) throw ImError.notFound(`message '${msgId}' does not exist in this conversation`);
  if (owner !== sender) throw ImError.forbidden(`only the author${owner !== null ? " or the session owner" : ""} may revoke message '${msgId}'`);
  if (others.length > 1) throw ImError.bodyInvalid(`msg_id '${msgId}' names messages of ${others.length} senders in this session: give msg_from in the body element`);
  return others[0]!;
}

async function targetsOf(ctx: HandlerContext, convId: string, env: Envelope, sender: string, owner: string | null): Promise<StoredMessage[]> {
  const ids = bodyMsgIds(env);
  const targets: StoredMessage[] = [];
  for (const [i, msgId] of ids.entries()) {
    const hint = env.body[i]?.msg_from;
    const msgFrom = typeof hint === "string" && hint.trim() !== "" ? bodyAddress(hint, `body[${i}].msg_from`) : null;
    const m = await targetOf(ctx, convId, { msgId, msgFrom }, sender, owner);
    const age = ctx.now() - m.createdAt;
    if (!m.revoked && ctx.revokeWindowMs > 0 && age > ctx.revokeWindowMs) {
      throw ImError.forbidden(`message '${msgId}' is ${Math.round(age / 1000)} s old; it can be revoked within ${ctx.revokeWindowMs / 1000} s`);
    }
    targets.push(m);
  }
  return targets;
}

export const revoke: MessageHandler = {
  types: ["MTT-101", "MTS-101"],
  async handle(ctx, inbound) {
    const env = inbound.envelope;
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
    const targets = await targetsOf(ctx, convId, env, sender, owner);
    const pending = targets.filter((m) => !m.revoked);
    if (pending.length === 0) return { kind: "duplicate", message: targets[0]! };
    const outcome = await ctx.commit({
      ...messageColumns(env, peer ?? (env.msg_to || sessionId!)),
      convId,
      sessionId,
      recipients: sessionId !== null ? { sessionMembersOf: sessionId } : peer === sender ? [sender] : [peer!, sender],
      effects: { revoke: pending.map((m) => ({ msgFrom: m.msgFrom, msgId: m.msgId })) },
    });
    if (outcome.status === "rejected") throw rejection(outcome.reason, sender, sessionId ?? "");
    return { kind: outcome.status, message: outcome.message };
  },
};
