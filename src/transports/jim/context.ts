// What a J-IM command handler gets: the core, who is connected, credentials, and the request.
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import type { StatusCode } from "../../protocol/jim-commands.js";
import type { JimMappingOptions } from "../../protocol/jim-mapping.js";
import type { JimConnection, Outgoing } from "./connection.js";
import type { Credentials } from "./credentials.js";
import type { DefaultGroups } from "./default-groups.js";
import type { JimDirectory } from "./directory.js";
import type { JimHub } from "./hub.js";

export interface JimDeps {
  core: ImCore;
  hub: JimHub;
  credentials: Credentials;
  directory: JimDirectory;
  /** Groups every user joins at login (TLIM_JIM_DEFAULT_GROUPS). */
  defaultGroups: DefaultGroups;
  /** How messages map to J-IM (signed file URLs, docs/http-api.md "Credentials"). */
  mapping: JimMappingOptions;
  log: Logger;
}

export interface CommandCall {
  conn: JimConnection;
  /** The body as a JSON object, or null (empty, not JSON, not an object). */
  body: Record<string, unknown> | null;
  /** The body text as received. */
  raw: string;
  /** Queues a reply in request order (echoing the request's synSeq on TCP). */
  reply(out: Outgoing | Promise<Outgoing>): void;
}

/** One module per command (one feature, one module), registered in commands/index.ts. */
export interface JimCommand {
  readonly cmd: number;
  /** The command number of its reply. */
  readonly reply: number;
  /** The status answered when the handler fails unexpectedly. */
  readonly failCode: StatusCode;
  /** Works before login (handshake, heartbeat, login, closing one's own connection). */
  readonly beforeLogin?: boolean;
  handle(deps: JimDeps, call: CommandCall): Promise<void> | void;
}
