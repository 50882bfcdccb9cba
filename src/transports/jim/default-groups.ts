// Default groups (TLIM_JIM_DEFAULT_GROUPS, docs/jim-gateway.md "Default groups"): sessions every
// J-IM user joins at login, as stock J-IM servers put everyone in group "100" (the group J-IM's
// web demo page always posts to). At login, for each one the user is not yet a member of:
//  - missing: created as an ordinary open tlim session with that id (type 0, named after its
//    id), owned by the system user `admin` (SERVER_USER, the sender of server-originated
//    messages), who is not made a member: no J-IM user who happens to log in first gets owner
//    rights (dissolve, recall of others' messages) over everyone's group. The business system
//    manages it over the HTTP API like any session;
//  - created meanwhile by a concurrent login (the store refuses a second create of the id):
//    taken as it is;
//  - the user is added as a member (an upsert: concurrent logins of one user add it once);
//  - closed (session_valid 1) or dissolved: left alone, nobody is added.
// A user already a member costs nothing: the login reads the user's open sessions anyway.
import type { Logger } from "pino";
import { SERVER_USER, type ImCore } from "../../core/im.js";
import { ImError } from "../../protocol/errors.js";
import type { Session } from "../../store/types.js";

export class DefaultGroups {
  constructor(
    private readonly core: ImCore,
    /** Session ids, validated and folded (config.ts). */
    readonly ids: readonly string[],
    private readonly log: Logger,
  ) {}

  /**
   * The default groups the user is not in yet (`have`: its open sessions), made its groups:
   * created when missing, the user added. Resolves with the sessions to bind; a group that
   * cannot be joined (closed, dissolved, the database failing) is left out and logged, the
   * login goes on.
   */
  async join(userId: string, have: readonly Session[]): Promise<Session[]> {
    const joined: Session[] = [];
    for (const id of this.ids) {
      if (have.some((s) => s.sessionId === id)) continue;
      try {
        const session = await this.joinOne(userId, id);
        if (session) joined.push(session);
      } catch (err) {
        this.log.warn({ err, user: userId, group: id }, "j-im default group not joined");
      }
    }
    return joined;
  }

  private async joinOne(userId: string, id: string): Promise<Session | null> {
    let session = await this.core.sessions.get(id);
    if (session === null) {
      try {
        const created = await this.core.sessions.create({
          sessionId: id, sessionName: id, sessionType: 0, owner: SERVER_USER, ownerIsMember: false, members: [{ userId }],
        });
        this.log.info({ group: id, user: userId }, "j-im default group created");
        return created.session;
      } catch (err) {
        // Another login created it first (createSession says "taken"): join that one.
        if (!(err instanceof ImError)) throw err;
        session = await this.core.sessions.get(id);
        if (session === null) throw err;
      }
    }
    if (session.sessionValid !== 0 || session.sessionDeleteTime !== null) {
      this.log.debug({ group: id, user: userId }, "j-im default group is closed or dissolved: not joined");
      return null;
    }
    await this.core.sessions.modify(id, { add: [{ userId }], remove: [] });
    return session;
  }
}
