// Chat 11 -> 12 (docs/jim-gateway.md "Chat (11 → 12, push 11)"). The body becomes a tlim envelope from the logged-in user (a
// different `from` is refused, not trusted) and goes through the core: reply 12 is sent after
// the commit, 10001 when a private target is offline (the message is kept in its inbox).
// Delivery to anyone, J-IM or XMPP, is the core's sinks' business.
import { randomUUID } from "node:crypto";
import { CHAT_FIELDS, chatSchema, Cmd, parseRequest, statusPacket, type Packet } from "../../../protocol/jim-commands.js";
import { ChatRefusal, chatToEnvelope } from "../../../protocol/jim-mapping.js";
import type { Envelope } from "../../../protocol/envelope.js";
import { ImError } from "../../../protocol/errors.js";
import type { JimConnection } from "../connection.js";
import type { JimCommand, JimDeps } from "../context.js";

/** A dash-less UUID, as J-IM generates ids. */
export const newJimId = () => randomUUID().replace(/-/g, "");

/** 10002 with the reason in `data` (the msg text stays upstream's). */
export function refusal(command: number, err: unknown): Packet {
  if (err instanceof ImError) return statusPacket(command, 10002, { data: { error: err.code, detail: err.message } });
  if (err instanceof ChatRefusal) return statusPacket(command, 10002, { data: { error: "error-000", detail: err.message } });
  return statusPacket(command, 10002, { data: { error: "error-500", detail: "internal error, the message was not stored; try again" } });
}

/**
 * Submits an envelope built from J-IM input. `origin` is the connection it came from (its own
 * 1:1 copy is not pushed back there). `reportOffline`: 10001 for an offline private target. Resolves with the reply; never rejects.
 */
export async function submitEnvelope(deps: JimDeps, env: Envelope, origin: JimConnection | null, command: number, reportOffline = true): Promise<Packet> {
  const key = `${env.msg_from}\u0000${env.msg_id}`;
  if (origin) deps.hub.origins.set(key, origin);
  try {
    await deps.core.submit({ sender: { userId: env.msg_from, resource: origin?.deviceKey ?? "jim:http" }, envelope: env, addressedNode: null });
  } catch (err) {
    if (!(err instanceof ImError)) deps.log.error({ err, msg_from: env.msg_from, msg_id: env.msg_id }, "j-im submit failed");
    return refusal(command, err);
  } finally {
    if (origin && deps.hub.origins.get(key) === origin) deps.hub.origins.delete(key);
  }
  const privateChat = reportOffline && env.msg_type.startsWith("MTT-");
  return statusPacket(command, privateChat && !deps.directory.isOnline(env.msg_to) ? 10001 : 10000);
}

/** Chat body (already parsed to an object) from `sender` -> the reply 12. */
export function submitChat(deps: JimDeps, body: Record<string, unknown> | null, sender: string, origin: JimConnection | null): Promise<Packet> {
  const req = parseRequest(body, CHAT_FIELDS, chatSchema);
  if (!req) return Promise.resolve(refusal(Cmd.CHAT_RESP, new ChatRefusal("the body is not a chat object")));
  if (sender === "") return Promise.resolve(refusal(Cmd.CHAT_RESP, new ChatRefusal("from is required")));
  let env: Envelope;
  try {
    env = chatToEnvelope(req, sender, Date.now(), newJimId());
  } catch (err) {
    return Promise.resolve(refusal(Cmd.CHAT_RESP, err));
  }
  return submitEnvelope(deps, env, origin, Cmd.CHAT_RESP);
}

export const chat: JimCommand = {
  cmd: Cmd.CHAT,
  reply: Cmd.CHAT_RESP,
  failCode: 10002,
  handle(deps, call) {
    // Not awaited: the next message may join the same group commit; replies stay in order.
    call.reply(submitChat(deps, call.body, call.conn.user!, call.conn));
  },
};
