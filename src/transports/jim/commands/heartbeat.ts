// Heartbeat 13 -> 13: any body (the Java client sends the single byte 0x80).
import { Cmd, dataPacket, fixedPacket } from "../../../protocol/jim-commands.js";
import type { JimCommand } from "../context.js";

/** The same reply every time: its JSON is made once. */
const REPLY = fixedPacket(dataPacket(Cmd.HEARTBEAT, { hbbyte: -128 }));

export const heartbeat: JimCommand = {
  cmd: Cmd.HEARTBEAT,
  reply: Cmd.HEARTBEAT,
  failCode: 10017,
  beforeLogin: true,
  handle(_deps, call) {
    call.reply(REPLY);
  },
};
