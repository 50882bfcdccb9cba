// The one table of J-IM commands. A number registered twice is a start-up error; a number with
// no module gets the 10017 "unknown command" reply (docs/jim-gateway.md "Commands").
import type { JimCommand } from "../context.js";
import { auth } from "./auth.js";
import { chat } from "./chat.js";
import { close } from "./close.js";
import { getMessages } from "./get-messages.js";
import { getUser } from "./get-user.js";
import { handshake } from "./handshake.js";
import { heartbeat } from "./heartbeat.js";
import { joinGroup } from "./join-group.js";
import { login } from "./login.js";
import { recall } from "./recall.js";

export const COMMANDS: readonly JimCommand[] = [handshake, auth, login, joinGroup, chat, heartbeat, close, recall, getUser, getMessages];

export class CommandTable {
  private readonly table = new Map<number, JimCommand>();

  constructor(commands: readonly JimCommand[] = COMMANDS) {
    for (const c of commands) {
      if (this.table.has(c.cmd)) throw new Error(`J-IM command ${c.cmd} is registered twice`);
      this.table.set(c.cmd, c);
    }
  }

  get(cmd: number): JimCommand | undefined {
    return this.table.get(cmd);
  }
}
