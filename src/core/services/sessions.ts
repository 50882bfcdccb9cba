// Sessions (docs/http-api.md "Sessions"): create, change, delete, dissolve, look up, and the one
// membership check every transport path asks (J-IM history and join, XMPP chat states). The
// membership a session message is delivered to is read again in the commit's transaction
// (docs/architecture.md "The write path"); this service reads it for everything else.
import { randomUUID } from "node:crypto";
import { ImError } from "../../protocol/errors.js";
import { sessionConvId, type Member, type Session, type SessionChanges, type Store, type StoredMessage } from "../../store/types.js";
import { serverColumns } from "../server-user.js";
import type { GroupCommitWriter } from "../writer.js";
import type { DirectoryService } from "./directory.js";

export interface NewSession {
  sessionType: number;
  owner: string;
  members: Array<{ userId: string; userName?: string }>;
  sessionId?: string;
  sessionName?: string;
  ownerIsMember?: boolean;
}

export class SessionService {
  readonly #store: Store;

  constructor(
    store: Store,
    private readonly writer: GroupCommitWriter,
    private readonly directory: DirectoryService,
  ) {
    this.#store = store;
  }

  /** A session as stored (dissolved ones included), or null. */
  get(sessionId: string): Promise<Session | null> {
    return this.#store.sessionGet(sessionId);
  }

  /** A session that exists and was not dissolved, or error-009. */
  async live(sessionId: string): Promise<Session> {
    const session = await this.#store.sessionGet(sessionId);
    if (!session) throw ImError.sessionNotFound(sessionId);
    if (session.sessionDeleteTime !== null) throw new ImError("sessionNotFound", `session '${sessionId}' was dissolved`);
    return session;
  }

  /** The members of a session (none for an unknown one). */
  members(sessionId: string): Promise<Member[]> {
    return this.#store.sessionMembers(sessionId);
  }

  /**
   * The members of the session when `userId` is one of them, else null (not a member, or no such
   * session): the one membership check of the paths that act for a user outside a commit.
   */
  async membersSeenBy(sessionId: string, userId: string): Promise<Member[] | null> {
    const members = await this.#store.sessionMembers(sessionId);
    return members.some((m) => m.userId === userId) ? members : null;
  }

  /** Sessions the user is a member of with this session_valid, latest activity first. */
  ofUser(userId: string, valid: number): Promise<Session[]> {
    return this.#store.sessionsOf(userId, valid);
  }

  /**
   * Creates a session with its members; the owner is always a member (docs/http-api.md
   * "addSession"; the original could leave it out), unless `ownerIsMember` is false (a session
   * the system owns, e.g. a J-IM default group). `sessionId` (validated and folded by the caller)
   * replaces the generated UUID; when a session with that id exists already (dissolved ones
   * included), or another caller creates it at the same time, nothing is stored and error-016
   * says it is taken. `sessionName` replaces the members' names.
   */
  async create(req: NewSession): Promise<{ session: Session; members: Member[] }> {
    const taken = () => ImError.badParam(`session_id '${req.sessionId}' is taken`);
    if (req.sessionId !== undefined && (await this.#store.sessionGet(req.sessionId)) !== null) throw taken();
    const now = String(Date.now());
    const seen = new Set<string>();
    const members: Member[] = [];
    for (const m of req.ownerIsMember === false ? req.members : [{ userId: req.owner }, ...req.members]) {
      if (seen.has(m.userId)) {
        const named = members.find((x) => x.userId === m.userId)!;
        if ("userName" in m && m.userName) named.userName = m.userName;
        continue;
      }
      seen.add(m.userId);
      const userName = ("userName" in m && m.userName) || m.userId;
      members.push({ sessionId: "", userId: m.userId, userName, acctLogin: m.userId, pic: null, ts: now });
    }
    await this.directory.applyProfiles(members);
    const session: Session = {
      sessionId: req.sessionId ?? randomUUID(),
      sessionType: req.sessionType,
      sessionName: req.sessionName ?? members.map((m) => m.userName).join(",").slice(0, 200),
      sessionUser: req.owner,
      sessionPic: null,
      sessionValid: 0,
      sessionCreateTime: now,
      sessionModifyTime: null,
      sessionDeleteTime: null,
    };
    for (const m of members) m.sessionId = session.sessionId;
    try {
      await this.#store.sessionCreate(session, members);
    } catch (err) {
      // A duplicate key, unless the store failed otherwise: the one transaction stored nothing.
      if (req.sessionId !== undefined && (await this.#store.sessionGet(req.sessionId).catch(() => null)) !== null) throw taken();
      throw err;
    }
    return { session, members };
  }

  /**
   * modifySession: rename (bumps session_modify_time), add members (snapshots refreshed), remove
   * members (membership only, their messages stay). Nothing is sent: clients announce changes
   * with MTS-102/103/106 as in the original. A live session only (error-009).
   */
  async modify(sessionId: string, req: { name?: string; add: Array<{ userId: string; userName?: string }>; remove: string[] }): Promise<Session> {
    await this.live(sessionId);
    const now = String(Date.now());
    if (req.name !== undefined) await this.#store.sessionUpdate(sessionId, { sessionName: req.name, sessionModifyTime: now });
    if (req.add.length > 0) {
      const members = req.add.map((m) => ({ sessionId, userId: m.userId, userName: m.userName || m.userId, acctLogin: m.userId, pic: null, ts: now }));
      await this.directory.applyProfiles(members);
      await this.#store.sessionMembersPut(sessionId, members);
    }
    if (req.remove.length > 0) await this.#store.sessionMembersRemove(sessionId, req.remove);
    return this.live(sessionId);
  }

  /** switchSession / updateSessionPic: one field of a live session (error-009 otherwise). */
  async update(sessionId: string, changes: Pick<SessionChanges, "sessionValid" | "sessionPic">): Promise<Session> {
    await this.live(sessionId);
    await this.#store.sessionUpdate(sessionId, changes);
    return this.live(sessionId);
  }

  /**
   * deleteSession: the session row and its members go, its history stays. A live session only,
   * as every other change: unknown or dissolved is error-009 (a dissolved session stays, and its
   * id stays taken).
   */
  async delete(sessionId: string): Promise<void> {
    await this.live(sessionId);
    if (!(await this.#store.sessionDelete(sessionId))) throw ImError.sessionNotFound(sessionId);
  }

  /**
   * `dissolved`: a server MTS-107 `[{session_id}]` from "admin" is stored and queued for every
   * member, then the session is closed and purged in the same transaction: the same path as the
   * owner's XMPP MTS-107 (docs/protocol.md "Every msg_type").
   */
  async dissolve(sessionId: string): Promise<StoredMessage> {
    await this.live(sessionId);
    const outcome = await this.writer.submit({
      ...serverColumns("MTS-107", sessionId, [{ session_id: sessionId }]),
      convId: sessionConvId(sessionId),
      sessionId,
      recipients: { sessionMembersOf: sessionId, fromServer: true },
      effects: { dissolve: true },
    });
    if (outcome.status === "rejected") throw new ImError("sessionNotFound", `session '${sessionId}' was dissolved meanwhile`);
    return outcome.message;
  }
}
