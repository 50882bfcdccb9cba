// /plugins/tlim/* endpoints (docs/http-api.md): one function per endpoint, grouped by area under
// routes/; each reads its parameters, calls the core and shapes the original's response.
import type { Response } from "express";
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import type { Params } from "./conventions.js";
import type { AccountProvisioner } from "./provision.js";
import { boardRoutes } from "./routes/board.js";
import { historyRoutes } from "./routes/history.js";
import { messageRoutes } from "./routes/messages.js";
import { sessionRoutes } from "./routes/sessions.js";
import { userRoutes } from "./routes/users.js";

export type PresenceStatus = "available" | "away" | "offline";

/** What the endpoints may use: the core, plus what only other transports know (injected by main.ts). */
export interface RouteContext {
  core: ImCore;
  /** The component's view of a user's presence (findPresence). */
  presence(userId: string): PresenceStatus;
  /** XMPP account provisioning (TLIM_PROVISION_ACCOUNTS=1), else null. */
  provisioner: AccountProvisioner | null;
  log: Logger;
}

export type Route = (ctx: RouteContext, p: Params, res: Response) => Promise<void>;

export const routes: Record<string, Route> = {
  ...sessionRoutes,
  ...historyRoutes,
  ...messageRoutes,
  ...userRoutes,
  ...boardRoutes,
};
