// Users, groups and friends as J-IM shows them (docs/jim-gateway.md "Get user (17 → 18)",
// "Avatars and nicks"), read from tlim: a J-IM group
// is a tlim session (its members are the authority), friends are the user's 1:1 peers, nick
// and avatar come from tlim's users table. Presence is J-IM connections plus XMPP presence.
// Every user and group has an `avatar` (stock pages render `<img src=…>` with it): the users
// table's pic_url / the session's picture, else TLIM_JIM_DEFAULT_AVATAR.
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import type { Dialect } from "../../protocol/jim-mapping.js";
import type { Member, Session } from "../../store/types.js";
import { userOf, type JimHub } from "./hub.js";

/** UserStatusType of get-user (docs/jim-gateway.md "Get user (17 → 18)"): 0 online, 1 offline, 2 all. */
export type StatusFilter = 0 | 1 | 2;

export interface UserCard {
  userId: string;
  nick: string;
  avatar: string;
  status: "online" | "offline";
  terminal?: string;
  [key: string]: unknown;
}

export class JimDirectory {
  constructor(
    private readonly core: ImCore,
    private readonly hub: JimHub,
    /** XMPP presence as the component knows it. */
    private readonly xmppOnline: (userId: string) => boolean,
    private readonly log: Logger,
    /** The avatar of users (and groups) without a picture (TLIM_JIM_DEFAULT_AVATAR). */
    readonly defaultAvatar: string,
  ) {}

  isOnline(userId: string): boolean {
    return this.hub.isOnline(userId) || this.xmppOnline(userId);
  }

  /** "tcp"/"ws" for a J-IM connection, "xmpp" for an XMPP device, else absent. */
  terminal(userId: string): string | undefined {
    return this.hub.terminalOf(userId) ?? (this.xmppOnline(userId) ? "xmpp" : undefined);
  }

  async card(userId: string, nick?: string): Promise<UserCard> {
    const [card] = await this.cards([userId], nick === undefined ? undefined : new Map([[userId, nick]]));
    return card!;
  }

  /** Cards for users, with names from tlim's users table (else the given nick, else the id). */
  async cards(userIds: string[], nicks = new Map<string, string>()): Promise<UserCard[]> {
    const users = await this.safe(() => this.core.directory.users(userIds), []);
    const byId = new Map(users.map((u) => [u.userId, u]));
    return userIds.map((id) => {
      const u = byId.get(id);
      const online = this.isOnline(id);
      return {
        userId: id,
        nick: u?.userName || nicks.get(id) || id,
        avatar: u?.picUrl || this.defaultAvatar,
        status: online ? "online" : "offline",
        ...(online ? { terminal: this.terminal(id) } : {}),
      };
    });
  }

  /** The open sessions the user is a member of (J-IM groups). */
  groupsOf(userId: string): Promise<Session[]> {
    return this.safe(() => this.core.sessions.ofUser(userId, 0), []);
  }

  /** The full User of get-user (17): friends and groups with members filtered by status. */
  async userRecord(userId: string, terminal: string, filter: StatusFilter, dialect: Dialect): Promise<Record<string, unknown>> {
    const me = { ...(await this.card(userId)), status: "online", terminal };
    const keep = (c: UserCard) => filter === 2 || (filter === 0) === (c.status === "online");
    const peers = await this.safe(() => this.core.messaging.chatsOf(userId), []);
    const friends = (await this.cards(peers.map((p) => p.peerId))).filter(keep);
    const groups = [];
    for (const s of await this.groupsOf(userId)) {
      const members: Member[] = await this.safe(() => this.core.sessions.members(s.sessionId), []);
      const cards = await this.cards(members.map((m) => m.userId), new Map(members.map((m) => [m.userId, m.userName])));
      groups.push(groupOf(s, cards.filter(keep).map((c) => userOf(c, dialect)), dialect, this.defaultAvatar));
    }
    const friendGroup = { groupId: "friends", name: "friends", avatar: this.defaultAvatar, users: friends.map((c) => userOf(c, dialect)) };
    return userOf({ ...me, friends: [renameGroupId(friendGroup, dialect)], groups }, dialect);
  }

  /** Reads that degrade to a default (logged) instead of failing a whole J-IM reply. */
  private async safe<T>(read: () => Promise<T>, dflt: T): Promise<T> {
    try {
      return await read();
    } catch (err) {
      this.log.warn({ err }, "directory lookup failed");
      return dflt;
    }
  }
}

function groupOf(s: Session, users: Array<Record<string, unknown>>, dialect: Dialect, defaultAvatar: string): Record<string, unknown> {
  return renameGroupId({ groupId: s.sessionId, name: s.sessionName, avatar: s.sessionPic || defaultAvatar, users }, dialect);
}

/** Group as a dialect spells it: v2 `group_id`, v3 `groupId`. */
function renameGroupId(g: Record<string, unknown> & { groupId: string }, dialect: Dialect): Record<string, unknown> {
  if (dialect === "v3") return g;
  const { groupId, ...rest } = g;
  return { group_id: groupId, ...rest };
}
