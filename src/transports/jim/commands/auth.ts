// Auth 3 -> 4. Upstream verifies nothing and echoes the body with "authKey"
// appended to the token; tlim does the same, but only after login (login is the real check).
import { Cmd, statusPacket } from "../../../protocol/jim-commands.js";
import type { JimCommand } from "../context.js";

export const auth: JimCommand = {
  cmd: Cmd.AUTH_REQ,
  reply: Cmd.AUTH_RESP,
  failCode: 10010,
  handle(_deps, call) {
    const { cmd: _cmd, ...rest } = call.body ?? {};
    const token = typeof rest.token === "string" ? rest.token : "";
    call.reply(statusPacket(Cmd.AUTH_RESP, 10009, { data: { ...rest, token: `${token}authKey` } }));
  },
};
