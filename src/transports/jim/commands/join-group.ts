// Join group 7 -> (8) / 9 (docs/jim-gateway.md "Commands"). A J-IM group is a tlim session: joining needs the session
// to exist, be open and have the user as a member (upstream accepted any id). Refusals answer
// 8 with 10012 and result 2 (no such group) or 0 (refused); success sends command 9 to every
// connection bound to the group, and (v2 dialect only) reply 8 with 10011 first.
import { Cmd, JOIN_FIELDS, joinSchema, parseRequest, statusPacket } from "../../../protocol/jim-commands.js";
import type { JimCommand } from "../context.js";

const refused = (result: number) => statusPacket(Cmd.JOIN_GROUP_RESP, 10012, { result });

export const joinGroup: JimCommand = {
  cmd: Cmd.JOIN_GROUP_REQ,
  reply: Cmd.JOIN_GROUP_RESP,
  failCode: 10012,
  async handle(deps, call) {
    const { conn } = call;
    const group = (parseRequest(call.body, JOIN_FIELDS, joinSchema)?.groupId ?? "").trim();
    if (group === "") return call.reply("close"); // blank group id closes, as upstream
    const session = await deps.core.sessions.get(group);
    if (!session || session.sessionValid !== 0) return call.reply(refused(2));
    if ((await deps.core.sessions.membersSeenBy(group, conn.user!)) === null) return call.reply(refused(0));
    if (conn.dialect === "v2") call.reply(statusPacket(Cmd.JOIN_GROUP_RESP, 10011, { data: { group, result: 1 } }));
    const card = { ...(await deps.directory.card(conn.user!)), status: "online", terminal: conn.protocol };
    await conn.drained();
    if (!conn.closed) deps.hub.bindGroup(conn, group, card);
  },
};
