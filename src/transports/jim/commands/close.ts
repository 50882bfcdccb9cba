// Close 14 -> 14: 10021, then the connection closes; with `userId` of oneself every
// connection of the user closes. Closing another user is refused with 10020 (upstream let anyone
// kick anyone); an unparsable body is 10020 and the connection stays.
import { Cmd, CLOSE_FIELDS, closeSchema, parseRequest, statusPacket } from "../../../protocol/jim-commands.js";
import type { JimCommand } from "../context.js";

export const close: JimCommand = {
  cmd: Cmd.CLOSE,
  reply: Cmd.CLOSE,
  failCode: 10020,
  beforeLogin: true, // closing one's own connection affects nobody else
  async handle(deps, call) {
    const { conn } = call;
    const req = call.raw.trim() === "" ? {} : parseRequest(call.body, CLOSE_FIELDS, closeSchema);
    if (!req) return call.reply(statusPacket(Cmd.CLOSE, 10020));
    const target = (req.userId ?? "").trim();
    if (target !== "" && target !== conn.user) return call.reply(statusPacket(Cmd.CLOSE, 10020));
    call.reply(statusPacket(Cmd.CLOSE, 10021));
    await conn.drained();
    if (target !== "") deps.hub.closeUser(target);
    conn.close();
  },
};
