// The directory: tlim's own users table (names, pictures, emails, push codes; docs/http-api.md
// "Users") and the per-user styles (docs/http-api.md "Notice board and styles"). XMPP accounts
// are not its business (the HTTP side provisions them, XEP-0133).
import { randomUUID } from "node:crypto";
import type { Member, Store, Style, User } from "../../store/types.js";

export type UserEntry = Partial<Omit<User, "userId" | "updatedAt">> & { userId: string };

export class DirectoryService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** The known users among `userIds` (unknown ids are absent). */
  users(userIds: string[]): Promise<User[]> {
    return this.#store.usersGet(userIds);
  }

  /**
   * addUser: adds or updates users; a field not given keeps its stored value (a new user's name
   * and login default to the id).
   */
  async put(entries: UserEntry[]): Promise<User[]> {
    const known = new Map((await this.#store.usersGet(entries.map((e) => e.userId))).map((u) => [u.userId, u]));
    const now = Date.now();
    const users = entries.map((e): User => {
      const k = known.get(e.userId);
      return {
        userId: e.userId,
        userName: e.userName ?? k?.userName ?? e.userId,
        acctLogin: e.acctLogin ?? k?.acctLogin ?? e.userId,
        userEmail: e.userEmail ?? k?.userEmail ?? null,
        picUrl: e.picUrl ?? k?.picUrl ?? null,
        appPushCode: e.appPushCode ?? k?.appPushCode ?? null,
        updatedAt: now,
      };
    });
    await this.#store.usersPut(users);
    return users;
  }

  /** removeUser: the users' rows go (their sessions and history stay); how many were removed. */
  remove(userIds: string[]): Promise<number> {
    return this.#store.usersRemove(userIds);
  }

  /** registerAppPushCode: sets (null clears) the push registration id; an unknown user is created by id. */
  setPushCode(userId: string, code: string | null): Promise<void> {
    return this.#store.userPushCodeSet(userId, code);
  }

  /** Member snapshots take the user's profile from the users table when the user is known;
   * otherwise they keep the given name (or the id). */
  async applyProfiles(members: Member[]): Promise<void> {
    const known = new Map((await this.#store.usersGet(members.map((m) => m.userId))).map((u) => [u.userId, u]));
    for (const m of members) {
      const u = known.get(m.userId);
      if (u) Object.assign(m, { userName: u.userName, acctLogin: u.acctLogin, pic: u.picUrl });
    }
  }

  /** addStyle: sets a user's style (upsert by style name and user); the stored style. */
  putStyle(userId: string, styleName: string, styleValue: number): Promise<Style> {
    return this.#store.stylePut({ styleId: randomUUID(), styleName, styleValue, userId });
  }

  /** findStyleList: a user's styles by name. */
  styles(userId: string): Promise<Style[]> {
    return this.#store.stylesOf(userId);
  }
}
