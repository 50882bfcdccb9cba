// One request on one connection -> exactly one answer (docs/architecture.md "Every request gets
// exactly one answer"): no module -> 10017 with
// command 0; before login only handshake, heartbeat, login and closing oneself -> otherwise the
// command's reply with 10020; a handler that throws -> logged, its failure code.
// A handler that answers at once (heartbeat, handshake…) costs no promise: dispatch returns a
// promise only when the handler did (the connection then holds its next requests until it settles).
import { parseBodyObject, statusPacket, unknownCommandPacket } from "../../protocol/jim-commands.js";
import type { CommandTable } from "./commands/index.js";
import type { JimConnection, Outgoing } from "./connection.js";
import type { CommandCall, JimCommand, JimDeps } from "./context.js";

/** The request as a handler sees it; `reply` echoes the request's synSeq. */
class Call implements CommandCall {
  constructor(
    readonly conn: JimConnection,
    readonly body: Record<string, unknown> | null,
    readonly raw: string,
    private readonly synSeq: number,
  ) {}

  reply(out: Outgoing | Promise<Outgoing>): void {
    this.conn.reply(out, this.synSeq);
  }
}

export function dispatch(
  deps: JimDeps,
  table: CommandTable,
  conn: JimConnection,
  cmd: number,
  raw: string,
  synSeq: number,
  body?: Record<string, unknown> | null,
): void | Promise<void> {
  const command = table.get(cmd);
  if (!command) return conn.reply(unknownCommandPacket(), synSeq);
  if (!command.beforeLogin && conn.user === null) return conn.reply(statusPacket(command.reply, 10020), synSeq);
  let pending: void | Promise<void>;
  try {
    pending = command.handle(deps, new Call(conn, body === undefined ? parseBodyObject(raw) : body, raw, synSeq));
  } catch (err) {
    return failed(deps, conn, command, cmd, synSeq, err);
  }
  if (pending) return pending.catch((err: unknown) => failed(deps, conn, command, cmd, synSeq, err));
}

function failed(deps: JimDeps, conn: JimConnection, command: JimCommand, cmd: number, synSeq: number, err: unknown): void {
  deps.log.error({ err, cmd, user: conn.user }, "j-im command failed");
  conn.reply(statusPacket(command.reply, command.failCode), synSeq);
}
