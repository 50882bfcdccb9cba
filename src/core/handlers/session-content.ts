// Session content and notices (docs/protocol.md "Every msg_type"): one stored row, an inbox entry per member
// (sender included), routed by body[0].session_id. Membership is checked inside the commit's
// transaction (docs/architecture.md "Session posts need membership"). Also the MTS fallback.
import { bodyField } from "../../protocol/envelope.js";
import { ImError } from "../../protocol/errors.js";
import { sessionConvId } from "../../store/types.js";
import type { Inbound, SubmitResult } from "../types.js";
import { messageColumns, type HandlerContext, type MessageHandler } from "./handler.js";
import { checkContentBody } from "./validate.js";

/** body[0].session_id, which the stanza address (`<session_id>@C`) must not contradict. */
export function resolveSessionId(inbound: Inbound): string {
  const fromBody = bodyField(inbound.envelope.body, "session_id");
  const node = inbound.addressedNode;
  if (fromBody === "" && node === null) throw ImError.sessionIdEmpty("body[0].session_id is empty");
  if (fromBody !== "" && node !== null && fromBody !== node) {
    throw ImError.bodyInvalid(`body[0].session_id '${fromBody}' contradicts the address '${node}@…'`);
  }
  return fromBody || node!;
}

export async function storeSessionMessage(ctx: HandlerContext, inbound: Inbound): Promise<SubmitResult> {
  const sessionId = resolveSessionId(inbound);
  const env = inbound.envelope;
  const outcome = await ctx.commit({
    ...messageColumns(env, env.msg_to || sessionId),
    convId: sessionConvId(sessionId),
    sessionId,
    recipients: { sessionMembersOf: sessionId },
  });
  if (outcome.status === "rejected") throw rejection(outcome.reason, env.msg_from, sessionId);
  return { kind: outcome.status, message: outcome.message };
}

/** The refusal for a session message the writer turned down. */
export function rejection(reason: "no-session" | "session-closed" | "not-member", user: string, sessionId: string): ImError {
  if (reason === "not-member") return ImError.notMember(user, sessionId);
  if (reason === "session-closed") return ImError.forbidden(`session '${sessionId}' is closed`);
  return ImError.sessionNotFound(sessionId);
}

export const sessionContent: MessageHandler = {
  types: [
    "MTS-000", "MTS-001", "MTS-002", "MTS-003", "MTS-004",
    "MTS-102", "MTS-103", "MTS-104", "MTS-105", "MTS-106", "MTS-*",
  ],
  async handle(ctx, inbound) {
    checkContentBody(inbound.envelope.msg_type.slice(4), inbound.envelope.body, ctx.maxTextChars);
    return storeSessionMessage(ctx, inbound);
  },
};
