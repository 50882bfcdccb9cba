// Handshake 1 -> 2: the body is not inspected; hbyte -127 (0x81) comes back.
import { Cmd, dataPacket } from "../../../protocol/jim-commands.js";
import type { JimCommand } from "../context.js";

export const handshake: JimCommand = {
  cmd: Cmd.HANDSHAKE_REQ,
  reply: Cmd.HANDSHAKE_RESP,
  failCode: 10017,
  beforeLogin: true,
  handle(_deps, call) {
    call.reply(dataPacket(Cmd.HANDSHAKE_RESP, { hbyte: -127 }));
  },
};
