// One identifier rule at the HTTP boundary (docs/http-api.md "Identifiers"), over real HTTP, a
// real database (SQLite and MariaDB) and Prosody: a hostile id is refused with the endpoint's
// code and nothing is stored; user ids are case-folded as the XMPP server folds them, so `Bob`
// and `bob` are one user, one inbox and one history.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatConvId } from "../../src/store/types.js";
import { useTlim } from "../support/fixture.js";
import { API_SECRET, DB_KINDS, type TestTlim } from "../support/tlim.js";
import { envelope, envelopeOf, isMessageWithId } from "../support/tlim-stanzas.js";
import { addSession, chatText, postJson, sendStored, sessionText } from "./http-support.js";
import { onServer } from "../support/xmpp-server.js";

/** Ids no endpoint may take: a control character, a space, too long, an address separator. */
const HOSTILE = ["bo\u0001b", "a b", "x".repeat(65), "a@b"];

describe.each(DB_KINDS)(onServer("HTTP identifiers on %s"), (kind) => {
  const fileDir = mkdtempSync(join(tmpdir(), `tlim-ids-${kind}-`));
  const f = useTlim(kind, { prefix: "hi", users: 20, overrides: { fileDir } });
  let tlim: TestTlim;
  let C = "";
  beforeAll(() => {
    ({ tlim, C } = f);
  });
  afterAll(() => rmSync(fileDir, { recursive: true, force: true }));

  /** Asserts the refusal: the code, a detail naming the parameter, never the raw value. */
  const expectRefused = (r: any, code: string, param: string, raw: string, what: string) => {
    expect(r.result, `${what}: ${JSON.stringify(r)}`).toBe(code);
    expect(r.result_detail, what).toContain(param);
    expect(r.result_detail, what).not.toContain(raw);
  };

  it("a hostile user, session or message id is refused with the endpoint's code and nothing is stored", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b]);
    const m = chatText(a, b, "kept");
    await sendStored(await f.login(a), `${b}@${C}`, m);
    const adminChats = (await tlim.store.chatsOf("admin")).length;

    for (const bad of HOSTILE) {
      const what = (name: string) => `${name} ${JSON.stringify(bad)}`;
      // Users.
      expectRefused(await postJson(tlim, "addUser", { userList: [{ user_id: bad, user_name: "X" }] }), "error-008", "userList[0].user_id", bad, what("addUser"));
      expectRefused(await postJson(tlim, "removeUser", { userList: [{ user_id: bad }] }), "error-008", "userList[0].user_id", bad, what("removeUser"));
      expectRefused(await tlim.api("registerAppPushCode", { user_id: bad, registrationId: "r" }), "error-008", "user_id", bad, what("registerAppPushCode"));
      expect(await tlim.store.usersGet([bad, bad.toLowerCase(), "bob", "ab", "a"])).toEqual([]);
      // Sessions: owner, members, the session id itself.
      expectRefused(await tlim.api("addSession", { session_type: "0", request_user: bad, subscribers: `[{"user_id":"${b}"}]` }), "error-004", "request_user", bad, what("addSession owner"));
      expectRefused(await postJson(tlim, "addSession", { session_type: "0", request_user: b, subscribers: [{ user_id: a }, { user_id: bad }] }), "error-004", "subscribers[1].user_id", bad, what("addSession member"));
      expect(await tlim.store.sessionsOf(b, 0)).toEqual([expect.objectContaining({ sessionId: sid })]);
      expectRefused(await postJson(tlim, "modifySession", { session_id: sid, subscribers: [{ user_id: bad, type: "add" }] }), "error-004", "subscribers[0].user_id", bad, what("modifySession"));
      expect((await tlim.store.sessionMembers(sid)).map((x) => x.userId).sort()).toEqual([a, b].sort());
      for (const name of ["findSession", "deleteSession", "switchSession", "updateSessionPic", "dissolved", "findPresence", "findSessionHistory", "findPubactList"]) {
        expectRefused(await tlim.api(name, { session_id: bad }), "error-007", "session_id", bad, what(name));
      }
      for (const name of ["findSessions", "findWebSessions", "findStyleList", "getOffline"]) {
        expectRefused(await tlim.api(name, { user_id: bad }), "error-008", "user_id", bad, what(name));
      }
      // History and read state.
      expectRefused(await tlim.api("findChatHistory", { user_id: bad, session_id: b }), "error-008", "user_id", bad, what("findChatHistory user_id"));
      const peer = await tlim.api("findChatHistory", { user_id: a, session_id: bad });
      expectRefused(peer, "error-007", "session_id", bad, what("findChatHistory peer"));
      expect(peer.total).toBe(0);
      expectRefused(await tlim.api("findSystemHistory", { msg_to: bad }), "error-008", "msg_to", bad, what("findSystemHistory"));
      expectRefused(await tlim.api("syncMessage", { msg_to: bad, msg_id: m.msg_id }), "error-008", "msg_to", bad, what("syncMessage msg_to"));
      expectRefused(await tlim.api("findSessionRead", { session_id: sid, sender: bad }), "error-008", "sender", bad, what("findSessionRead"));
      expectRefused(await tlim.api("findChatRead", { msg_from: a, msg_to: bad }), "error-008", "msg_to", bad, what("findChatRead"));
      expectRefused(await tlim.api("findStatusList", { msg_id: m.msg_id, sender: bad }), "error-008", "sender", bad, what("findStatusList"));
      // Business pushes, revoke, clear: nothing stored, nothing revoked, nothing cleared.
      for (const name of ["approval", "approvalBack", "systemMessage"]) {
        expectRefused(await tlim.api(name, { msgTo: bad, params: "[{}]" }), "error-008", "msgTo", bad, what(name));
      }
      expectRefused(await tlim.api("approval", { msg_to: bad, params: "[{}]" }), "error-008", "msg_to", bad, what("approval msg_to"));
      expectRefused(await tlim.api("revokeMessage", { msg_id: m.msg_id, msg_from: bad }), "error-016", "msg_from", bad, what("revokeMessage msg_from"));
      expectRefused(await tlim.api("clearChatHistory", { user_id: a, other_id: bad }), "error-008", "other_id", bad, what("clearChatHistory"));
      // Board and styles.
      expectRefused(await tlim.api("addPubact", { session_id: sid, user_id: bad, title: "t" }), "error-008", "user_id", bad, what("addPubact"));
      expectRefused(await tlim.api("addPubact", { session_id: bad, user_id: a, title: "t" }), "error-007", "session_id", bad, what("addPubact session"));
      expectRefused(await tlim.api("addStyle", { user_id: bad, style_name: "s" }), "error-008", "user_id", bad, what("addStyle"));
    }
    expect(await tlim.store.chatsOf("admin")).toHaveLength(adminChats);
    expect(await tlim.store.pubactsOf(sid)).toEqual([]);
    expect((await tlim.store.history(chatConvId(a, b), 0, 10)).total).toBe(1);
    expect((await tlim.api("findSession", { session_id: sid })).result).toBe("ok");

    // Message ids: control characters or too long (a space or @ is fine in an opaque msg_id).
    for (const bad of ["m\u0001", "x".repeat(65), "a\u200bb"]) {
      expectRefused(await tlim.api("revokeMessage", { msg_id: bad }), "error-000", "msg_id", bad, `revokeMessage ${JSON.stringify(bad)}`);
      expectRefused(await tlim.api("findStatusList", { msg_id: bad, sender: a }), "error-000", "msg_id", bad, `findStatusList ${JSON.stringify(bad)}`);
      expectRefused(await tlim.api("syncMessage", { msg_to: b, msg_id: bad }), "error-000", "msg_id", bad, `syncMessage ${JSON.stringify(bad)}`);
      expectRefused(await tlim.api("getOffline", { user_id: b, msg_id: bad, getThenClear: "1" }), "error-016", "msg_id", bad, `getOffline ${JSON.stringify(bad)}`);
    }
    expect((await tlim.store.history(chatConvId(a, b), 0, 10)).items.map((x) => x.msgId)).toEqual([m.msg_id]);

    // An upload naming a hostile uploader: 400, nothing kept.
    const form = new FormData();
    form.append("user_id", "bo\u0001b");
    form.append("mFile", new Blob(["x"], { type: "text/plain" }), "a.txt");
    const up = await fetch(`${tlim.httpUrl}/plugins/tlim/uploadForJsonFileId`, { method: "POST", headers: { authorization: `Bearer ${API_SECRET}` }, body: form });
    expect(up.status).toBe(400);
    expectRefused(await up.json(), "error-016", "user_id", "bo\u0001b", "upload");
    expect(readdirSync(fileDir)).toEqual([]);
  });

  it("addUser with an upper-case id is the lower-case user: the same row, inbox, history and lists", async () => {
    const [bob, peer] = [f.fresh(), f.fresh()];
    const Bob = bob.toUpperCase();
    expect(Bob).not.toBe(bob);
    expect(await postJson(tlim, "addUser", { userList: [{ user_id: Bob, user_name: "Bob" }] })).toEqual({ result: "ok", result_detail: "", users: [{ user_id: bob }] });
    expect(await tlim.store.usersGet([Bob])).toEqual([]);
    expect((await tlim.store.usersGet([bob]))[0]).toMatchObject({ userId: bob, userName: "Bob", acctLogin: bob });
    // The same user again, in the other case: updated, not added.
    await postJson(tlim, "addUser", { userList: [{ user_id: bob, pic_url: "b.png" }] });
    expect((await tlim.store.usersGet([bob]))[0]).toMatchObject({ userName: "Bob", picUrl: "b.png" });
    expect(await tlim.api("registerAppPushCode", { user_id: Bob, registrationId: "reg" })).toMatchObject({ result: "ok", user_id: bob });
    expect((await tlim.store.usersGet([bob]))[0]).toMatchObject({ appPushCode: "reg" });

    // A 1:1 message to bob over XMPP: the history and the offline queue as Bob are bob's.
    const p = await f.login(peer);
    await f.settle();
    const hi = chatText(peer, bob, "hi bob");
    await sendStored(p, `${bob}@${C}`, hi);
    const asBob = await tlim.api("getOffline", { user_id: Bob, getThenClear: "1" });
    expect(asBob.message_list.map((x: any) => [x.msg_id, x.delete_user])).toEqual([[hi.msg_id, bob]]);
    expect(await tlim.api("getOffline", { user_id: bob, getThenClear: "1" })).toEqual(asBob);
    const history = await tlim.api("findChatHistory", { user_id: Bob, session_id: peer.toUpperCase() });
    expect(history).toMatchObject({ result: "ok", session_id: peer, total: 1 });
    expect(history).toEqual(await tlim.api("findChatHistory", { user_id: bob, session_id: peer }));
    expect(await tlim.api("findChatRead", { msg_from: peer.toUpperCase(), msg_to: Bob })).toEqual(await tlim.api("findChatRead", { msg_from: peer, msg_to: bob }));

    // Sessions named with Bob are bob's; styles likewise.
    const sid = await addSession(tlim, peer, [Bob]);
    const members = (await tlim.api("findSubscribers", { session_id: sid })).subscribers.map((x: any) => [x.user_id, x.user_name]);
    expect(members.sort()).toEqual([[bob, "Bob"], [peer, peer]].sort());
    expect((await tlim.api("findSessions", { user_id: Bob })).sessions.map((s: any) => s.session_id)).toEqual([sid]);
    expect((await tlim.api("findSessions", { user_id: bob })).sessions.map((s: any) => s.session_id)).toEqual([sid]);
    expect((await tlim.api("modifySession", { session_id: sid.toUpperCase(), subscribers: `[{user_id:'${Bob}',type:'del'}]` })).result).toBe("ok");
    expect((await tlim.store.sessionMembers(sid)).map((x) => x.userId)).toEqual([peer]);
    expect((await tlim.api("addStyle", { user_id: Bob, style_name: "font", style_value: "3" })).user_id).toBe(bob);
    expect((await tlim.api("findStyleList", { user_id: bob })).ofStyleList).toEqual([expect.objectContaining({ user_id: bob, style_value: 3 })]);
    expect(await tlim.api("clearChatHistory", { user_id: Bob, other_id: peer })).toMatchObject({ result: "ok", user_id: bob, deleted: 1 });
  });

  it("a message sent by HTTP to Bob lands in bob's inbox and on bob's devices", async () => {
    const bob = f.fresh();
    const Bob = bob[0]!.toUpperCase() + bob.slice(1);
    const device = await f.login(bob);
    await f.settle();
    const r = await tlim.api("systemMessage", { msgTo: Bob, params: "[{title:'for Bob'}]" });
    expect(r).toMatchObject({ result: "ok", msg_type: "MTB-100" });
    const got = await device.waitFor(isMessageWithId(r.msg_id));
    expect(envelopeOf(got)).toMatchObject({ msg_from: "admin", msg_to: bob, body: [{ title: "for Bob" }] });
    // In bob's inbox (the one XMPP devices sync from and getOffline pulls).
    expect((await tlim.store.inboxAfter(bob, 0, 10)).map((i) => i.message.msgId)).toEqual([r.msg_id]);
    expect((await tlim.api("findSystemHistory", { msg_to: Bob })).message_list.map((x: any) => [x.msg_id, x.msg_to])).toEqual([[r.msg_id, bob]]);
    expect((await tlim.api("syncMessage", { msg_to: bob, msg_id: "unknown" })).result).toBe("ok");
    expect((await tlim.store.inboxAfter(Bob, 0, 10))).toEqual([]);

    // Read state asked with the author in another case: the same marks.
    const peer = f.fresh();
    const sid = await addSession(tlim, bob, [peer]);
    const p = await f.login(peer);
    await f.settle();
    const post = sessionText(bob, sid, "read me");
    await sendStored(device, `${sid}@${C}`, post);
    await sendStored(p, `${sid}@${C}`, envelope({ msg_from: peer, msg_to: sid, msg_type: "MTS-100", body: [{ session_id: sid, msg_id: post.msg_id }] }));
    expect((await tlim.api("findStatusList", { msg_id: post.msg_id, sender: Bob })).ofStatusList.map((x: any) => x.reader)).toEqual([peer]);
    expect((await tlim.api("findSessionRead", { session_id: sid, sender: Bob })).messageReadList).toEqual([{ msg_id: post.msg_id, readNum: 1, memberNum: 1 }]);
    // revokeMessage with the author named in another case finds the message.
    expect(await tlim.api("revokeMessage", { msg_id: post.msg_id, msg_from: Bob })).toMatchObject({ result: "ok", msg_from: bob, notice_msg_type: "MTS-101" });
  });
});
