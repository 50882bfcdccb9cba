// Sessions (docs/http-api.md "Sessions"): create, change, close, dissolve, list, look up, presence.
// State changes go through the core's sessions service; the next session message sees them (membership is read in
// the commit's transaction).
import type { ImCore } from "../../../core/im.js";
import { ImError } from "../../../protocol/errors.js";
import type { Session } from "../../../store/types.js";
import { entryText, entryUserId, intParam, jsonArrayParam, ok, omitNulls, required, sessionIdParam, text, userIdParam, withFields, type Params } from "../conventions.js";
import type { Route } from "../routes.js";
import { memberRow, sessionRow } from "./shapes.js";

const sessionIdOf = (p: Params) =>
  sessionIdParam(p, "session_id", { err: ImError.sessionIdEmpty, empty: () => ImError.sessionIdEmpty("session_id为空 (session_id is empty)") });
const userIdOf = (p: Params) => userIdParam(p, "user_id", { err: ImError.userIdEmpty, empty: () => ImError.userIdEmpty("user_id为空 (user_id is empty)") });

/** session_valid / valid: 0 open, 1 closed; absent = 0 (docs/http-api.md "switchSession"). */
function validParam(p: Params, name: string): number {
  const v = intParam(p, name, 0);
  if (v !== 0 && v !== 1) throw ImError.badParam(`${name} must be 0 (open) or 1 (closed), got ${v}`);
  return v;
}

/** The live session, or error-009 with `session_id` and `session_type: 0` as the original kept. */
function sessionOrError(core: ImCore, sessionId: string): Promise<Session> {
  return core.sessions.live(sessionId).catch((err: unknown) => {
    throw err instanceof ImError ? withFields(err, { session_id: sessionId, session_type: 0 }) : err;
  });
}

export const sessionRoutes: Record<string, Route> = {
  async addSession({ core }, p, res) {
    const typeText = required(p, "session_type", () => ImError.sessionTypeInvalid("session_type is empty"));
    if (!/^\d{1,9}$/.test(typeText)) throw ImError.sessionTypeInvalid(`session_type must be an integer, got '${typeText.slice(0, 20)}'`);
    const owner = userIdParam(p, "request_user", { err: ImError.sessionUserInvalid });
    const list = jsonArrayParam(p, "subscribers", (d) => ImError.sessionUserInvalid(d));
    const members = list.map((entry, i) => ({
      userId: entryUserId(entry, `subscribers[${i}]`, ImError.sessionUserInvalid),
      userName: entryText(entry, "user_name", `subscribers[${i}]`, 256),
    }));
    // tlim extension: a caller-chosen id (e.g. the "100" stock J-IM pages post to), folded like
    // every id; invalid: error-007; taken (dissolved sessions too): error-016.
    const sessionId = sessionIdParam(p, "session_id", { err: ImError.sessionIdEmpty, optional: true });
    const { session, members: stored } = await core.sessions.create({ sessionType: Number(typeText), owner, members, ...(sessionId === "" ? {} : { sessionId }) });
    ok(res, {
      session_id: session.sessionId,
      session_name: session.sessionName,
      session_type: session.sessionType,
      session_user: session.sessionUser,
      session_create_time: session.sessionCreateTime,
      subscribers: stored.map((m) => ({ user_id: m.userId })),
    });
  },

  /** Rename and/or add and remove members ("del" removes the membership only, docs/http-api.md "modifySession"). */
  async modifySession({ core }, p, res) {
    const sessionId = sessionIdOf(p);
    const name = text(p, "session_name", { max: 256 });
    const raw = (p.subscribers ?? "").trim();
    const list = raw === "" ? [] : jsonArrayParam(p, "subscribers", (d) => ImError.sessionUserInvalid(d));
    if (name === "" && list.length === 0) throw new ImError("sessionNameEmpty", "nothing to change: give session_name and/or subscribers");
    const add: Array<{ userId: string; userName?: string }> = [];
    const remove: string[] = [];
    list.forEach((entry, i) => {
      const userId = entryUserId(entry, `subscribers[${i}]`, ImError.sessionUserInvalid);
      const type = String((entry as Record<string, unknown>).type ?? "").trim().toLowerCase();
      if (type === "add") add.push({ userId, userName: entryText(entry, "user_name", `subscribers[${i}]`, 256) });
      else if (type === "del") remove.push(userId);
      else throw ImError.sessionUserInvalid(`subscribers[${i}].type must be 'add' or 'del', got '${type.slice(0, 20)}'`);
    });
    const s = await core.sessions.modify(sessionId, { name: name === "" ? undefined : name, add, remove });
    ok(res, { session_id: s.sessionId, session_name: s.sessionName, session_modify_time: s.sessionModifyTime });
  },

  /** Deletes a live session and its members; its history stays (docs/http-api.md "deleteSession"). */
  async deleteSession({ core }, p, res) {
    const sessionId = sessionIdOf(p);
    await core.sessions.delete(sessionId).catch((err: unknown) => {
      throw err instanceof ImError ? withFields(err, { session_id: sessionId }) : err;
    });
    ok(res, { session_id: sessionId, session_delete_time: String(Date.now()) });
  },

  /** Opens (0) or closes (1) a session; a closed session takes no posts (docs/http-api.md "switchSession"). */
  async switchSession({ core }, p, res) {
    const sessionId = sessionIdOf(p);
    const s = await core.sessions.update(sessionId, { sessionValid: validParam(p, "session_valid") });
    ok(res, { session_id: s.sessionId, session_valid: s.sessionValid });
  },

  /** Sets (empty: clears) the session picture, echoed as given (docs/http-api.md "updateSessionPic"). */
  async updateSessionPic({ core }, p, res) {
    const sessionId = sessionIdOf(p);
    const pic = text(p, "session_pic", { max: 256 });
    const s = await core.sessions.update(sessionId, { sessionPic: pic === "" ? null : pic });
    ok(res, { session_id: s.sessionId, session_pic: s.sessionPic });
  },

  /** A server MTS-107 to every member, then the session is purged (docs/http-api.md "dissolved"). */
  async dissolved({ core }, p, res) {
    const sessionId = sessionIdOf(p);
    const notice = await core.sessions.dissolve(sessionId);
    ok(res, { session_id: sessionId, msg_id: notice.msgId, msg_time: notice.msgTime });
  },

  /** Sessions of a user (not 1:1), `valid` 0 (default) or 1 — the original ignored it (docs/http-api.md "findSessions"). */
  async findSessions({ core }, p, res) {
    const userId = userIdOf(p);
    const sessions = (await core.sessions.ofUser(userId, validParam(p, "valid"))).filter((s) => s.sessionType !== 99);
    ok(res, {
      sessions: sessions.map((s) => omitNulls({ session_id: s.sessionId, session_name: s.sessionName, session_type: s.sessionType, session_user: s.sessionUser, session_pic: s.sessionPic })),
    });
  },

  async findWebSessions({ core }, p, res) {
    const userId = userIdOf(p);
    ok(res, { sessions: (await core.messaging.conversations(userId, validParam(p, "valid"))).map(sessionRow) });
  },

  async findSession({ core }, p, res) {
    const { session: s, subscribers } = await sessionWithMembers(core, sessionIdOf(p));
    ok(res, {
      ...sessionHeader(s),
      session_pic: s.sessionPic,
      session_create_time: s.sessionCreateTime,
      session_modify_time: s.sessionModifyTime,
      session_valid: s.sessionValid,
      subscribers,
    });
  },

  async findSubscribers({ core }, p, res) {
    const { session: s, subscribers } = await sessionWithMembers(core, sessionIdOf(p));
    ok(res, { ...sessionHeader(s), subscribers });
  },

  /**
   * The members' presence as the component sees it (docs/http-api.md "findPresence"): a bare JSON array, as the
   * original answered; a session without members gets the plain ok object.
   */
  async findPresence({ core, presence }, p, res) {
    const sessionId = sessionIdOf(p);
    await core.sessions.live(sessionId);
    const members = await core.sessions.members(sessionId);
    if (members.length === 0) return ok(res);
    res.json(members.map((m) => ({ user_id: m.userId, status: presence(m.userId) })));
  },
};

/** The fields findSession and findSubscribers share (docs/http-api.md "findSession", "findSubscribers"). */
function sessionHeader(s: Session) {
  return { session_id: s.sessionId, session_name: s.sessionName, session_type: s.sessionType, session_user: s.sessionUser };
}

async function sessionWithMembers(core: ImCore, sessionId: string) {
  const session = await sessionOrError(core, sessionId);
  return { session, subscribers: (await core.sessions.members(sessionId)).map(memberRow) };
}
