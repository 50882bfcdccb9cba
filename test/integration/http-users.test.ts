// Users (addUser, removeUser, registerAppPushCode) on tlim's own users table over real HTTP and a
// real database (SQLite and MariaDB); XMPP account provisioning (XEP-0133) against a real XMPP
// server (Prosody, or ejabberd with TLIM_TEST_XMPP_SERVER=ejabberd) that lets the component's JID
// administer the users' host, and one that does not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { onServer, startXmppServer, type XmppServerHandle, type XmppServerOptions } from "../support/xmpp-server.js";
import { createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { connectClient } from "../support/xmpp-client.js";
import { addSession, postJson } from "./http-support.js";

/** What Prosody 0.12 needs (docs/http-api.md): the component as an admin, mod_admin_adhoc. */
const ADMIN_CONFIG = (componentDomain: string) => `
admins = { "${componentDomain}" }
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "offline"; "presence"; "adhoc"; "admin_adhoc" }
`;

/**
 * The same for either server: the admin is `adminJid` (a bare domain = a component). ejabberd
 * (docs/servers.md): mod_adhoc + mod_configure, and the `configure` access rule as a list of
 * rules, one per ACL (`configure: { allow: [admin, tlim] }` is refused by ejabberd 23.01).
 */
const adminServer = (adminJid: string): XmppServerOptions => {
  const [user, server] = adminJid.includes("@") ? adminJid.split("@") : [undefined, adminJid];
  return {
    prosody: { extraConfig: ADMIN_CONFIG(adminJid) },
    ejabberd: {
      acl: { tlim: user ? { user: { [user]: server } } : { server } },
      accessRules: { configure: [{ allow: "admin" }, { allow: "tlim" }] },
      modules: { mod_adhoc: {}, mod_configure: {} },
    },
  };
};

describe.each(DB_KINDS)(onServer("HTTP user endpoints on %s"), (kind) => {
  const f = useTlim(kind, { prefix: "hu", users: 10 });
  let tlim: TestTlim;
  beforeAll(() => {
    ({ tlim } = f);
  });

  it("addUser adds and updates users; fields not given keep their value; sessions take the names", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const r = await postJson(tlim, "addUser", { userList: [{ user_id: a, user_name: "Ann", user_email: "ann@example.com", pic_url: "ann.png", acct_login: "ann", app_push_code: "jp-1" }, { user_id: b }] });
    expect(r).toEqual({ result: "ok", result_detail: "", users: [{ user_id: a }, { user_id: b }] });
    await tlim.api("addUser", { userList: `[{user_id:'${a}',user_name:'Ann B. 😀'}]` });
    const [ann] = await tlim.store.usersGet([a]);
    expect(ann).toMatchObject({ userName: "Ann B. 😀", acctLogin: "ann", userEmail: "ann@example.com", picUrl: "ann.png", appPushCode: "jp-1" });
    expect((await tlim.store.usersGet([b]))[0]).toMatchObject({ userName: b, acctLogin: b, picUrl: null });
    const sid = await addSession(tlim, b, [a]);
    expect((await tlim.api("findSession", { session_id: sid })).session_name).toBe(`${b},Ann B. 😀`);
    for (const [params, code, detail] of [
      [{}, "error-008", "userList"],
      [{ userList: "[]" }, "error-008", "empty"],
      [{ userList: "{user_id:'x'" }, "error-005", "JSON"],
      [{ userList: "{\"user_id\":\"x\"}" }, "error-005", "array"],
      [{ userList: "[{\"user_name\":\"x\"}]" }, "error-008", "userList[0].user_id"],
      [{ userList: `[{"user_id":"${"x".repeat(65)}"}]` }, "error-008", "64"],
      [{ userList: `[{"user_id":"x","user_name":"${"n".repeat(257)}"}]` }, "error-016", "256"],
      [{ userList: "[{\"user_id\":\"x\",\"user_name\":{\"a\":1}}]" }, "error-016", "string"],
    ] as Array<[Record<string, string>, string, string]>) {
      const bad = await tlim.api("addUser", params);
      expect(bad.result, JSON.stringify(params)).toBe(code);
      expect(bad.result_detail).toContain(detail);
    }
  });

  it("removeUser removes users (sessions stay); registerAppPushCode sets, clears and creates", async () => {
    const [a, b, c] = [f.fresh(), f.fresh(), f.fresh()];
    await tlim.api("addUser", { userList: JSON.stringify([{ user_id: a, user_name: "A" }, { user_id: b, user_name: "B" }]) });
    const sid = await addSession(tlim, a, [b]);
    expect(await tlim.api("removeUser", { userList: JSON.stringify([{ user_id: a }, { user_id: "never-added" }]) })).toEqual({ result: "ok", result_detail: "", removed: 1, users: [{ user_id: a }, { user_id: "never-added" }] });
    expect(await tlim.store.usersGet([a, b])).toEqual([expect.objectContaining({ userId: b })]);
    expect((await tlim.api("findSubscribers", { session_id: sid })).subscribers.map((m: any) => m.user_name)).toEqual(["A", "B"]);
    expect((await tlim.api("removeUser", { userList: "[{}]" })).result).toBe("error-008");

    expect(await tlim.api("registerAppPushCode", { user_id: b, registrationId: "reg-b" })).toEqual({ result: "ok", result_detail: "", user_id: b, registrationId: "reg-b" });
    expect((await tlim.store.usersGet([b]))[0]).toMatchObject({ userName: "B", appPushCode: "reg-b" });
    expect(await tlim.api("registerAppPushCode", { user_id: b }, { method: "POST" })).toEqual({ result: "ok", result_detail: "", user_id: b });
    expect((await tlim.store.usersGet([b]))[0]!.appPushCode).toBeNull();
    await tlim.api("registerAppPushCode", { user_id: c, registrationId: "reg-c" });
    expect((await tlim.store.usersGet([c]))[0]).toMatchObject({ userName: c, appPushCode: "reg-c" });
    expect((await tlim.api("registerAppPushCode", { registrationId: "x" })).result).toBe("error-008");
    expect((await tlim.api("registerAppPushCode", { user_id: c, registrationId: "r".repeat(257) })).result).toBe("error-016");
  });
});

describe.each(DB_KINDS)(onServer("XMPP account provisioning (XEP-0133) on %s"), (kind) => {
  let admin: XmppServerHandle;
  let plain: XmppServerHandle;
  let db: TestDb;
  let db2: TestDb;
  let tlim: TestTlim;
  let refused: TestTlim;

  beforeAll(async () => {
    admin = await startXmppServer(adminServer("tlim.localhost"));
    // mod_admin_adhoc loaded, but the component is no admin.
    plain = await startXmppServer(adminServer("someone-else@localhost"));
    db = await createDb(kind, "prov");
    db2 = await createDb(kind, "prov2");
    tlim = await startTestTlim(admin, db.url, { provisionAccounts: true });
    refused = await startTestTlim(plain, db2.url, { provisionAccounts: true });
  });
  afterAll(async () => {
    await tlim?.stop();
    await refused?.stop();
    await admin?.stop();
    await plain?.stop();
    await db?.drop();
    await db2?.drop();
  });

  it("addUser creates the XMPP account on the server (a real login works), removeUser deletes it", async () => {
    const r = await tlim.api("addUser", { userList: JSON.stringify([{ user_id: "newbie", user_name: "New", password: "s3cret pw" }, { user_id: "nopass" }]) });
    expect(r).toEqual({ result: "ok", result_detail: "", users: [{ user_id: "newbie", account: "created" }, { user_id: "nopass", account: "skipped", detail: "no password given" }] });
    const client = await connectClient(admin, "newbie", "s3cret pw");
    await client.stop();
    await expect(connectClient(admin, "nopass", "x", undefined, { timeoutMs: 3000 })).rejects.toThrow();
    // Again: the account exists and keeps its password.
    const again = await tlim.api("addUser", { userList: JSON.stringify([{ user_id: "newbie", password: "other" }]) });
    expect(again.users).toEqual([{ user_id: "newbie", account: "exists" }]);
    expect((await tlim.store.usersGet(["newbie", "nopass"])).length).toBe(2);

    const gone = await tlim.api("removeUser", { userList: JSON.stringify([{ user_id: "newbie" }, { user_id: "nopass" }]) });
    expect(gone).toEqual({ result: "ok", result_detail: "", removed: 2, users: [{ user_id: "newbie", account: "removed" }, { user_id: "nopass", account: "absent" }] });
    await expect(connectClient(admin, "newbie", "s3cret pw", undefined, { timeoutMs: 3000 })).rejects.toThrow();
  });

  it("says error-019, per user, when the server does not let the component administer accounts", async () => {
    const r = await refused.api("addUser", { userList: JSON.stringify([{ user_id: "blocked", password: "pw" }]) });
    expect(r.result).toBe("error-019");
    expect(r.result_detail).toContain("blocked: the server refused: forbidden");
    expect(r.result_detail).toContain("make it an admin");
    expect(r.users).toEqual([{ user_id: "blocked", account: "failed", detail: expect.stringContaining("forbidden") }]);
    // The user is kept in tlim's table all the same.
    expect((await refused.store.usersGet(["blocked"])).length).toBe(1);
    expect((await refused.api("removeUser", { userList: JSON.stringify([{ user_id: "blocked" }]) })).result).toBe("error-019");
  });
});
