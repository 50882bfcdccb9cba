// One request on one connection -> exactly one answer (DESIGN §1): no module -> 10017 with
// command 0; before login only handshake, heartbeat, login and closing oneself -> otherwise the
// command's reply with 10020; a handler that throws -> logged, its failure code.
import { statusPacket, unknownCommandPacket, parseBodyObject } from "../../protocol/jim-commands.js";
import type { CommandTable } from "./commands/index.js";
import type { JimConnection } from "./connection.js";
import type { JimDeps } from "./context.js";

export async function dispatch(deps: JimDeps, table: CommandTable, conn: JimConnection, cmd: number, raw: string, synSeq: number, body = parseBodyObject(raw)): Promise<void> {
  const command = table.get(cmd);
  if (!command) return conn.reply(unknownCommandPacket(), synSeq);
  if (!command.beforeLogin && conn.user === null) return conn.reply(statusPacket(command.reply, 10020), synSeq);
  try {
    await command.handle(deps, { conn, body, raw, reply: (out) => conn.reply(out, synSeq) });
  } catch (err) {
    deps.log.error({ err, cmd, user: conn.user }, "j-im command failed");
    conn.reply(statusPacket(command.reply, command.failCode), synSeq);
  }
}
