// Who is connected: logged-in J-IM connections by user and by bound group (a user
// may have many connections; pushes go to all of them; group binding is per connection).
// A connection bound to a group keeps the card its join notice (9) showed, so its exit notice
// (10) shows the same user (nick, avatar); connections bound to no group hold nothing here.
import { Cmd, dataPacket, statusPacket, type Packet } from "../../protocol/jim-commands.js";
import type { JimConnection } from "./connection.js";
import type { Dialect } from "../../protocol/jim-mapping.js";

export class JimHub {
  /** A user's connection, or a set of them when there are several (most users have one). */
  private readonly byUser = new Map<string, JimConnection | Set<JimConnection>>();
  private readonly byGroup = new Map<string, Set<JimConnection>>();
  /** The card of the last join notice of each connection bound to a group. */
  private readonly cards = new Map<JimConnection, GroupCard>();
  /** The connection a chat being submitted came from (`from\0id`): its own 1:1 copy is not pushed back. */
  readonly origins = new Map<string, JimConnection>();

  /** The user's connections (a copy: sending may close some). */
  connectionsOf(userId: string): JimConnection[] {
    const c = this.byUser.get(userId);
    return c === undefined ? [] : c instanceof Set ? [...c] : [c];
  }

  isOnline(userId: string): boolean {
    return this.byUser.has(userId);
  }

  /** The protocol of one of the user's connections ("tcp"/"ws"), for User.terminal. */
  terminalOf(userId: string): string | undefined {
    const c = this.byUser.get(userId);
    if (c === undefined) return undefined;
    return c instanceof Set ? c.values().next().value?.protocol : c.protocol;
  }

  users(): string[] {
    return [...this.byUser.keys()];
  }

  add(conn: JimConnection): void {
    if (conn.user === null) return;
    const c = this.byUser.get(conn.user);
    if (c === undefined) this.byUser.set(conn.user, conn);
    else if (c instanceof Set) c.add(conn);
    else if (c !== conn) this.byUser.set(conn.user, new Set([c, conn]));
  }

  /** Unbinds a connection from its user and its groups; remaining members get command 10. */
  remove(conn: JimConnection): void {
    if (conn.user === null) return;
    const c = this.byUser.get(conn.user);
    if (c === conn) this.byUser.delete(conn.user);
    else if (c instanceof Set && c.delete(conn)) {
      if (c.size === 1) this.byUser.set(conn.user, c.values().next().value!);
      else if (c.size === 0) this.byUser.delete(conn.user);
    }
    if (conn.groups === null) return;
    const card = this.cards.get(conn);
    this.cards.delete(conn);
    const user = exitCard(conn.user, card);
    for (const group of conn.groups) {
      const members = this.byGroup.get(group);
      members?.delete(conn);
      if (!members || members.size === 0) {
        this.byGroup.delete(group);
        continue;
      }
      for (const other of members) other.send(dataPacket(Cmd.EXIT_GROUP_NOTIFY, { group, user: userOf(user, other.dialect) }));
    }
    conn.groups = null;
  }

  /** Binds a connection to a group and sends command 9 to every connection bound to it, the joiner included. */
  bindGroup(conn: JimConnection, group: string, user: GroupCard): void {
    this.cards.set(conn, user);
    let members = this.byGroup.get(group);
    if (!members) this.byGroup.set(group, (members = new Set()));
    members.add(conn);
    (conn.groups ??= new Set()).add(group);
    for (const member of members) member.send(joinNotify(group, user, member.dialect));
  }

  /** Closes every connection of a user (cmd 14 with userId, /api/user/close). */
  closeUser(userId: string): number {
    const conns = this.connectionsOf(userId);
    for (const c of conns) c.close();
    return conns.length;
  }
}

/** The user as join notices show it (directory.ts `card`, with status and terminal). */
export type GroupCard = Record<string, unknown> & { userId: string; nick: string; status: string; terminal?: string; avatar?: string };

/** The exit notice's user: the join notice's card, offline, without a terminal (docs/jim-gateway.md). */
function exitCard(userId: string, card: GroupCard | undefined): Record<string, unknown> & { userId: string } {
  if (card === undefined) return { userId, nick: userId, status: "offline" };
  const { terminal: _terminal, ...rest } = card;
  return { ...rest, status: "offline" };
}

/** User as a dialect spells it: v2 `id`, v3 `userId` (docs/jim-gateway.md "Decisions", 1). */
export function userOf(u: Record<string, unknown> & { userId: string }, dialect: Dialect): Record<string, unknown> {
  if (dialect === "v3") return u;
  const { userId, ...rest } = u;
  return { id: userId, ...rest };
}

/** Command 9: v3 top-level fields with a status, v2 wrapped in data (docs/jim-gateway.md "Commands"). */
function joinNotify(group: string, user: Record<string, unknown> & { userId: string }, dialect: Dialect): Packet {
  return dialect === "v3"
    ? statusPacket(Cmd.JOIN_GROUP_NOTIFY, 10011, { group, user })
    : dataPacket(Cmd.JOIN_GROUP_NOTIFY, { group, user: userOf(user, "v2") });
}
