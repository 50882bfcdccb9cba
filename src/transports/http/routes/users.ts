// Users (docs/http-api.md "Users"): tlim's own users table (names, pictures, emails, push codes),
// and, with TLIM_PROVISION_ACCOUNTS=1, the XMPP accounts on the server (XEP-0133).
import { ImError } from "../../../protocol/errors.js";
import { entryText, entryUserId, jsonArrayParam, ok, text, userIdParam, withFields, type Params } from "../conventions.js";
import type { Route } from "../routes.js";

/** `userList`: a JSON array of objects with user_id (missing → error-008, not JSON → error-005). */
function userList(p: Params): unknown[] {
  if ((p.userList ?? "").trim() === "") throw ImError.userIdEmpty("userList is empty");
  const list = jsonArrayParam(p, "userList", (d) => ImError.jsonInvalid(d));
  if (list.length === 0) throw ImError.userIdEmpty("userList is an empty array");
  return list;
}

/** The per-user answer; any failed account makes the whole answer error-019 (users stay stored). */
function answer(res: Parameters<Route>[2], results: Array<{ user_id: string; account?: string; detail?: string }>, extra: Record<string, unknown> = {}): void {
  const failed = results.filter((r) => r.account === "failed");
  if (failed.length > 0) {
    throw withFields(ImError.provisionFailed(failed.map((r) => `${r.user_id}: ${r.detail}`).join("; ")), { ...extra, users: results });
  }
  ok(res, { ...extra, users: results });
}

export const userRoutes: Record<string, Route> = {
  /**
   * Adds or updates users; fields not given keep their stored value. With provisioning, an entry
   * with a `password` also gets an XMPP account (an existing account is left alone).
   */
  async addUser({ core, provisioner }, p, res) {
    const entries = userList(p).map((e, i) => {
      const where = `userList[${i}]`;
      return {
        userId: entryUserId(e, where, ImError.userIdEmpty),
        userName: entryText(e, "user_name", where, 256),
        acctLogin: entryText(e, "acct_login", where, 64),
        userEmail: entryText(e, "user_email", where, 256),
        picUrl: entryText(e, "pic_url", where, 256),
        appPushCode: entryText(e, "app_push_code", where, 256),
        password: entryText(e, "password", where, 1024),
      };
    });
    await core.directory.put(entries);
    const results: Array<{ user_id: string; account?: string; detail?: string }> = [];
    for (const e of entries) {
      if (!provisioner) results.push({ user_id: e.userId });
      else if (e.password === undefined) results.push({ user_id: e.userId, account: "skipped", detail: "no password given" });
      else {
        try {
          results.push({ user_id: e.userId, account: await provisioner.create(e.userId, e.password) });
        } catch (err) {
          results.push({ user_id: e.userId, account: "failed", detail: (err as Error).message });
        }
      }
    }
    answer(res, results);
  },

  /** Removes users (sessions and history stay); with provisioning, their XMPP accounts too. */
  async removeUser({ core, provisioner }, p, res) {
    const ids = userList(p).map((e, i) => entryUserId(e, `userList[${i}]`, ImError.userIdEmpty));
    const removed = await core.directory.remove(ids);
    const results: Array<{ user_id: string; account?: string; detail?: string }> = [];
    for (const id of [...new Set(ids)]) {
      if (!provisioner) results.push({ user_id: id });
      else {
        try {
          results.push({ user_id: id, account: await provisioner.remove(id) });
        } catch (err) {
          results.push({ user_id: id, account: "failed", detail: (err as Error).message });
        }
      }
    }
    answer(res, results, { removed });
  },

  /** Sets the push registration id (empty clears it); an unknown user is created by id. */
  async registerAppPushCode({ core }, p, res) {
    const userId = userIdParam(p, "user_id", { err: ImError.userIdEmpty, empty: () => ImError.userIdEmpty("user_id为空 (user_id is empty)") });
    const code = text(p, "registrationId", { max: 256 });
    await core.directory.setPushCode(userId, code === "" ? null : code);
    ok(res, { user_id: userId, registrationId: code === "" ? null : code });
  },
};
