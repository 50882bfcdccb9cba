// MTS-107 session dissolved (docs/architecture.md "Removing members is not dissolving"): from the owner it really dissolves the session (the
// original's handler was a no-op): the notice is stored and queued for every member, then the
// session is closed and purged in the same transaction. From anyone else it is refused.
import { ImError } from "../../protocol/errors.js";
import { sessionConvId } from "../../store/types.js";
import { messageColumns, type MessageHandler } from "./handler.js";
import { rejection, resolveSessionId } from "./session-content.js";

export const dissolve: MessageHandler = {
  types: ["MTS-107"],
  async handle(ctx, inbound) {
    const env = inbound.envelope;
    const sessionId = resolveSessionId(inbound);
    const session = await ctx.store.sessionGet(sessionId);
    if (!session) throw ImError.sessionNotFound(sessionId);
    if (session.sessionUser !== env.msg_from) {
      throw ImError.forbidden(`only the session owner '${session.sessionUser}' may dissolve session '${sessionId}'`);
    }
    const outcome = await ctx.commit({
      ...messageColumns(env, env.msg_to || sessionId),
      convId: sessionConvId(sessionId),
      sessionId,
      recipients: { sessionMembersOf: sessionId },
      effects: { dissolve: true },
    });
    if (outcome.status === "rejected") throw rejection(outcome.reason, env.msg_from, sessionId);
    return { kind: outcome.status, message: outcome.message };
  },
};
