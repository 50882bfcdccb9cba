// Login 5 -> 6 (docs/jim-gateway.md "Identity, login and devices"), with the check upstream lacks: a token or a password the XMPP
// server accepts. Success binds the connection as a device of the user (offline cursor), joins
// the user's groups (its open tlim sessions, plus the default groups it is made a member of:
// default-groups.ts; command 9 each) and answers 10007; failure answers
// 10008 and closes, as upstream does. Every attempt counts against the source address's limit
// first (credentials.ts); the user id is an XMPP local part, validated and folded (ids.ts).
import { Cmd, idRefusal, LOGIN_ALIASES, LOGIN_FIELDS, loginSchema, parseRequest, statusPacket, type Packet } from "../../../protocol/jim-commands.js";
import { addressId, IdError } from "../../../protocol/ids.js";
import type { JimConnection } from "../connection.js";
import type { JimCommand, JimDeps } from "../context.js";
import { remoteAddressOf } from "../limits.js";
import { CursorSync } from "../sync.js";

export interface LoginRequest {
  userId?: string;
  password?: string;
  token?: string;
  /** The client spoke v2 (`loginname`): it gets v2 shapes (docs/jim-gateway.md, decision 1 "Dialect"). */
  v2: boolean;
}

/** Logs a connection in; resolves with the reply to send (then "close" on failure). */
export async function logIn(deps: JimDeps, conn: JimConnection, req: LoginRequest): Promise<{ ok: boolean; reply: Packet }> {
  const failed = { ok: false, reply: statusPacket(Cmd.LOGIN_RESP, 10008) };
  const address = remoteAddressOf(conn);
  const protocol = conn.protocol;
  if (!deps.credentials.admit(address, protocol)) return failed; // logged there, once per burst
  const given = (req.userId ?? "").trim();
  let userId: string;
  try {
    userId = addressId(given, "userId");
  } catch (err) {
    if (!(err instanceof IdError)) throw err;
    deps.log.info({ reason: err.message, address, protocol }, "j-im login refused");
    return { ok: false, reply: idRefusal(Cmd.LOGIN_RESP, 10008, err) };
  }
  const check = await deps.credentials.check({ userId, given, password: req.password, token: req.token, address, protocol });
  if (!check.ok) {
    deps.log.info({ user: userId, reason: check.reason, address, protocol }, "j-im login refused");
    return failed;
  }
  if (conn.closed) return failed;
  if (conn.user !== userId) {
    deps.hub.remove(conn); // re-login as someone else rebinds (docs/jim-gateway.md "Identity, login and devices")
    conn.user = userId;
    conn.dialect = req.v2 ? "v2" : "v3";
    const key = conn.deviceKey;
    const start = await deps.core.openDevice(userId, key);
    conn.sync = new CursorSync(start, deps.core.cursors, userId, key, deps.core.ackGraceMs, conn.protocol === "ws" ? () => conn.barrier() : null, deps.core.metrics.acknowledged);
    if (conn.closed) return failed; // went away while its cursor was read
    deps.hub.add(conn);
    const waiting = await deps.core.messaging.inbox(userId, start, 1);
    if (waiting.length === 0) conn.sync.noBacklog();
  }
  const user = await deps.directory.card(userId);
  deps.log.debug({ user: userId, via: check.via, protocol: conn.protocol }, "j-im login");
  return { ok: true, reply: statusPacket(Cmd.LOGIN_RESP, 10007, { user: { ...user, status: "online", terminal: conn.protocol } }) };
}

/** After the login reply: bind the user's groups (the default ones joined first when it is not
 * in them yet), each announced with command 9. */
export async function joinGroupsOf(deps: JimDeps, conn: JimConnection): Promise<void> {
  const userId = conn.user;
  if (userId === null) return;
  const sessions = await deps.directory.groupsOf(userId);
  if (deps.defaultGroups.ids.length > 0 && !conn.closed) sessions.push(...(await deps.defaultGroups.join(userId, sessions)));
  if (sessions.length === 0) return;
  const card = { ...(await deps.directory.card(userId)), status: "online", terminal: conn.protocol };
  await conn.drained();
  for (const s of sessions) if (!conn.closed) deps.hub.bindGroup(conn, s.sessionId, card);
}

export function loginRequestOf(body: Record<string, unknown> | null): LoginRequest | null {
  const parsed = parseRequest(body, LOGIN_FIELDS, loginSchema, LOGIN_ALIASES);
  if (!parsed || body === null) return null;
  const v2 = Object.keys(body).some((k) => k.toLowerCase() === "loginname");
  return { ...parsed, v2 };
}

export const login: JimCommand = {
  cmd: Cmd.LOGIN_REQ,
  reply: Cmd.LOGIN_RESP,
  failCode: 10008,
  beforeLogin: true,
  async handle(deps, call) {
    // An unreadable body is an attempt too (it counts against the address): no user id.
    const result = await logIn(deps, call.conn, loginRequestOf(call.body) ?? { v2: false });
    call.reply(result.reply);
    if (!result.ok) return call.reply("close");
    await joinGroupsOf(deps, call.conn);
  },
};
