// Recall 15 -> 16 (no upstream handler; the x-im body): `{"cmd":15,"id":"<msg id>",
// "chatType":2,"to":"bob"}` or `{"cmd":15,"id":"…","chatType":1,"groupId":"g"}` becomes a tlim
// revoke (MTT-101 / MTS-101): author or session owner, within the revoke window. 16 answers
// 10000, or 10002 with the reason; recipients get the recall as a command-15 push.
import { Cmd, parseRequest, RECALL_FIELDS, recallSchema } from "../../../protocol/jim-commands.js";
import { ChatRefusal, recallToEnvelope } from "../../../protocol/jim-mapping.js";
import type { JimCommand } from "../context.js";
import { newJimId, refusal, submitEnvelope } from "./chat.js";

export const recall: JimCommand = {
  cmd: Cmd.CANCEL_MSG_REQ,
  reply: Cmd.CANCEL_MSG_RESP,
  failCode: 10002,
  handle(deps, call) {
    const req = parseRequest(call.body, RECALL_FIELDS, recallSchema);
    if (!req) return call.reply(refusal(Cmd.CANCEL_MSG_RESP, new ChatRefusal("the body is not a recall object")));
    try {
      const env = recallToEnvelope(req, call.conn.user!, Date.now(), newJimId());
      call.reply(submitEnvelope(deps, env, call.conn, Cmd.CANCEL_MSG_RESP, false));
    } catch (err) {
      call.reply(refusal(Cmd.CANCEL_MSG_RESP, err));
    }
  },
};
