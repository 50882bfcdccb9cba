// Get user 17 -> 18 (docs/jim-gateway.md "Get user (17 → 18)"). `type` 0 online / 1 offline / 2 all filters the member lists;
// anything else (or none) is 10004. Own id (or none): the full record, friends = 1:1 peers,
// groups = open sessions with their members. Another user's id: that user's card only (no
// memberships), present when it matches `type` (as upstream with store on), else no data.
import { Cmd, GET_USER_FIELDS, getUserSchema, parseRequest, statusPacket, type StatusCode } from "../../../protocol/jim-commands.js";
import type { JimCommand } from "../context.js";
import { userOf } from "../hub.js";
import type { StatusFilter } from "../directory.js";

const CODES: Record<StatusFilter, StatusCode> = { 0: 10005, 1: 10006, 2: 10003 };

export const getUser: JimCommand = {
  cmd: Cmd.GET_USER_REQ,
  reply: Cmd.GET_USER_RESP,
  failCode: 10004,
  async handle(deps, call) {
    const { conn } = call;
    const req = parseRequest(call.body, GET_USER_FIELDS, getUserSchema);
    const type = req?.type;
    if (!req || (type !== 0 && type !== 1 && type !== 2)) return call.reply(statusPacket(Cmd.GET_USER_RESP, 10004));
    const me = conn.user!;
    const target = (req.userId ?? "").trim() || me;
    if (target === me) {
      const data = await deps.directory.userRecord(me, conn.protocol, type, conn.dialect);
      return call.reply(statusPacket(Cmd.GET_USER_RESP, CODES[type], { data }));
    }
    const card = await deps.directory.card(target);
    const matches = type === 2 || (type === 0) === (card.status === "online");
    call.reply(statusPacket(Cmd.GET_USER_RESP, CODES[type], matches ? { data: userOf(card, conn.dialect) } : {}));
  },
};
