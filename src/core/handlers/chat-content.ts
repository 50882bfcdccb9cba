// 1:1 content (docs/protocol.md "Every msg_type"), stored once, an inbox entry for the recipient and one for
// the sender (its other devices get the ASYNC copy, docs/protocol.md "Addressing"). Also the MTT fallback.
import { ImError } from "../../protocol/errors.js";
import { chatConvId } from "../../store/types.js";
import type { Inbound, SubmitResult } from "../types.js";
import { encodeBody } from "../../protocol/envelope.js";
import type { HandlerContext, MessageHandler } from "./handler.js";
import { checkContentBody } from "./validate.js";

/** The peer of a 1:1 message: envelope msg_to, which the stanza address must not contradict. */
export function resolvePeer(inbound: Inbound): string {
  const { envelope: env, addressedNode } = inbound;
  if (env.msg_to === "" && addressedNode === null) {
    throw ImError.bodyInvalid("msg_to is empty and the message was not addressed to <peer>@component");
  }
  if (env.msg_to !== "" && addressedNode !== null && env.msg_to !== addressedNode) {
    throw ImError.bodyInvalid(`msg_to '${env.msg_to}' contradicts the address '${addressedNode}@…'`);
  }
  return env.msg_to || addressedNode!;
}

export async function storeChat(ctx: HandlerContext, inbound: Inbound): Promise<SubmitResult> {
  const peer = resolvePeer(inbound);
  const env = inbound.envelope;
  const sender = env.msg_from;
  // One object literal (the hottest path: no copies of the envelope).
  const outcome = await ctx.commit({
    msgId: env.msg_id, msgFrom: sender, msgTo: peer, msgType: env.msg_type, msgTime: env.msg_time,
    body: encodeBody(env.body), compress: env.compress, encode: env.encode, encrypt: env.encrypt,
    version: env.version, convId: chatConvId(sender, peer), sessionId: null,
    recipients: peer === sender ? [sender] : [peer, sender],
  });
  if (outcome.status === "rejected") throw ImError.internal(`unexpected refusal '${outcome.reason}' for a 1:1 message`);
  return { kind: outcome.status, message: outcome.message };
}

export const chatContent: MessageHandler = {
  types: ["MTT-000", "MTT-001", "MTT-002", "MTT-003", "MTT-004", "MTT-102", "MTT-200", "MTT-201", "MTT-*"],
  async handle(ctx, inbound) {
    checkContentBody(inbound.envelope.msg_type.slice(4), inbound.envelope.body, ctx.maxTextChars);
    return storeChat(ctx, inbound);
  },
};
