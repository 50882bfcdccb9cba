// Session endpoints over real HTTP against a real database (SQLite and MariaDB), with real XMPP
// clients through Prosody observing every state change.
import { beforeAll, describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { DB_KINDS, type TestTlim } from "../support/tlim.js";
import { envelopeOf, isMessageWithId, sleep } from "../support/tlim-stanzas.js";
import { xml } from "../support/xmpp-client.js";
import { addSession, chatText, refused, sendStored, sessionText } from "./http-support.js";
import { onServer } from "../support/xmpp-server.js";

describe.each(DB_KINDS)(onServer("HTTP session endpoints on %s"), (kind) => {
  const f = useTlim(kind, { prefix: "hs", users: 50 });
  let tlim: TestTlim;
  let C = "";
  beforeAll(() => {
    ({ tlim, C } = f);
  });
  const members = async (sid: string) => ((await tlim.api("findSubscribers", { session_id: sid })).subscribers ?? []).map((m: any) => m.user_id);

  it("addSession snapshots names and pictures from the users table, falling back to the id", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    expect((await tlim.api("addUser", { userList: JSON.stringify([{ user_id: a, user_name: "Alice 😀", pic_url: "a.png", acct_login: "alice" }]) })).result).toBe("ok");
    const r = await tlim.api("addSession", { session_type: "0", request_user: a, subscribers: JSON.stringify([{ user_id: b, user_name: "Given B" }]) });
    expect(r).toMatchObject({ result: "ok", session_name: "Alice 😀,Given B", subscribers: [{ user_id: a }, { user_id: b }] });
    const subs = await tlim.api("findSubscribers", { session_id: r.session_id });
    expect(subs).toMatchObject({ result: "ok", session_id: r.session_id, session_name: "Alice 😀,Given B", session_type: 0, session_user: a });
    expect(subs.subscribers).toEqual([
      { user_id: a, user_name: "Alice 😀", acct_login: "alice", pic: "a.png", session_id: r.session_id, ts: r.session_create_time },
      { user_id: b, user_name: "Given B", acct_login: b, session_id: r.session_id, ts: r.session_create_time },
    ]);
    const tooLong = await tlim.api("addSession", { session_type: "0", request_user: a, subscribers: JSON.stringify([{ user_id: "x".repeat(65) }]) });
    expect(tooLong.result).toBe("error-004");
    expect(tooLong.result_detail).toContain("64");
    expect((await tlim.api("addSession", { session_type: "99999999999", request_user: a, subscribers: "[]" })).result).toBe("error-002");
  });

  it("modifySession renames and changes members; an added member gets the next message through the XMPP server, a removed one no longer", async () => {
    const [a, b, c] = [f.fresh(), f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b]);
    const [alice, bob, carol] = [await f.login(a), await f.login(b), await f.login(c)];
    await f.settle();
    const early = sessionText(b, sid, "before the change");
    await sendStored(bob, `${sid}@${C}`, early);

    const before = Date.now();
    const r = await tlim.api("modifySession", { session_id: sid, session_name: "Project X", subscribers: JSON.stringify([{ user_id: c, type: "add" }, { userId: b, type: "del" }]) }, { method: "POST" });
    expect(r).toMatchObject({ result: "ok", result_detail: "", session_id: sid, session_name: "Project X" });
    expect(Number(r.session_modify_time)).toBeGreaterThanOrEqual(before);
    expect(await members(sid)).toEqual([a, c]);

    const next = sessionText(a, sid, "welcome carol");
    await sendStored(alice, `${sid}@${C}`, next);
    expect(envelopeOf(await carol.waitFor(isMessageWithId(next.msg_id))).body[0].text).toBe("welcome carol");
    const denied = await refused(bob, `${sid}@${C}`, sessionText(b, sid, "still here?"));
    expect(denied.getChildText("body")).toBe("error-012");
    await sleep(200);
    expect(bob.messages().filter(isMessageWithId(next.msg_id))).toHaveLength(0);
    // "del" removes the membership only: what bob said stays in the history.
    const h = await tlim.api("findSessionHistory", { session_id: sid, length: "max" });
    expect(h.message_list.map((m: any) => m.msg_id)).toEqual([next.msg_id, early.msg_id]);
    // Adding a member twice keeps one membership; re-adding bob brings him back.
    await tlim.api("modifySession", { session_id: sid, subscribers: JSON.stringify([{ user_id: c, type: "add" }, { user_id: b, type: "ADD" }]) });
    expect(await members(sid)).toEqual([a, c, b]);
    expect((await tlim.api("findSession", { session_id: sid })).session_name).toBe("Project X");
  });

  it("modifySession refuses bad parameters with codes and details", async () => {
    const [a] = [f.fresh()];
    const sid = await addSession(tlim, a, []);
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ session_name: "x" }, "error-007", "session_id"],
      [{ session_id: "no-such-session", session_name: "x" }, "error-009", "does not exist"],
      [{ session_id: sid }, "error-003", "nothing to change"],
      [{ session_id: sid, subscribers: "[]" }, "error-003", "nothing to change"],
      [{ session_id: sid, subscribers: "{oops" }, "error-004", "JSON"],
      [{ session_id: sid, subscribers: "[{user_id:'u',type:'kick'}]" }, "error-004", "'add' or 'del'"],
      [{ session_id: sid, subscribers: "[{type:'add'}]" }, "error-004", "user_id is empty"],
      [{ session_id: sid, session_name: "n".repeat(257) }, "error-016", "256"],
    ];
    for (const [params, code, detail] of cases) {
      const r = await tlim.api("modifySession", params);
      expect(r.result, JSON.stringify(params)).toBe(code);
      expect(r.result_detail).toContain(detail);
    }
  });

  it("switchSession closes and reopens a session; findSessions honours valid", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b]);
    const alice = await f.login(a);
    await f.settle();
    expect(await tlim.api("switchSession", { session_id: sid, session_valid: "1" })).toEqual({ result: "ok", result_detail: "", session_id: sid, session_valid: 1 });
    const closed = await refused(alice, `${sid}@${C}`, sessionText(a, sid, "anyone?"));
    expect(closed.getChildText("body")).toBe("error-011");
    expect((await tlim.api("findSessions", { user_id: b })).sessions).toEqual([]);
    expect((await tlim.api("findSessions", { user_id: b, valid: "1" })).sessions.map((s: any) => s.session_id)).toEqual([sid]);
    // Absent session_valid means 0 (docs/http-api.md "switchSession").
    expect((await tlim.api("switchSession", { session_id: sid })).session_valid).toBe(0);
    await sendStored(alice, `${sid}@${C}`, sessionText(a, sid, "open again"));
    for (const [params, code] of [
      [{ session_id: sid, session_valid: "2" }, "error-016"],
      [{ session_id: sid, session_valid: "yes" }, "error-016"],
      [{ session_valid: "1" }, "error-007"],
      [{ session_id: "nope", session_valid: "1" }, "error-009"],
    ] as Array<[Record<string, string>, string]>) {
      expect((await tlim.api("switchSession", params)).result, JSON.stringify(params)).toBe(code);
    }
  });

  it("updateSessionPic sets (echoed as given) and clears the picture", async () => {
    const sid = await addSession(tlim, f.fresh(), []);
    expect(await tlim.api("updateSessionPic", { session_id: sid, session_pic: "pics/g 1.png" })).toEqual({ result: "ok", result_detail: "", session_id: sid, session_pic: "pics/g 1.png" });
    expect((await tlim.api("findSession", { session_id: sid })).session_pic).toBe("pics/g 1.png");
    expect(await tlim.api("updateSessionPic", { session_id: sid })).toEqual({ result: "ok", result_detail: "", session_id: sid });
    expect((await tlim.api("findSession", { session_id: sid })).session_pic).toBeUndefined();
    expect((await tlim.api("updateSessionPic", { session_pic: "x" })).result).toBe("error-007");
    expect((await tlim.api("updateSessionPic", { session_id: "nope", session_pic: "x" })).result).toBe("error-009");
    expect((await tlim.api("updateSessionPic", { session_id: sid, session_pic: "p".repeat(257) })).result).toBe("error-016");
  });

  it("deleteSession removes the session and its members and keeps the history", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b]);
    const alice = await f.login(a);
    await f.settle();
    await sendStored(alice, `${sid}@${C}`, sessionText(a, sid, "kept"));
    const r = await tlim.api("deleteSession", { session_id: sid });
    expect(r).toMatchObject({ result: "ok", result_detail: "", session_id: sid });
    expect(r.session_delete_time).toMatch(/^\d{13}$/);
    expect(await tlim.api("findSession", { session_id: sid })).toMatchObject({ result: "error-009", session_type: 0 });
    expect((await tlim.api("findSessions", { user_id: b })).sessions).toEqual([]);
    expect((await refused(alice, `${sid}@${C}`, sessionText(a, sid, "gone?"))).getChildText("body")).toBe("error-009");
    expect((await tlim.api("findSessionHistory", { session_id: sid })).total).toBe(1);
    expect((await tlim.api("deleteSession", { session_id: sid })).result).toBe("error-009");
    expect((await tlim.api("deleteSession", {})).result).toBe("error-007");
  });

  it("dissolved notifies every member with a server MTS-107 through the XMPP server (offline ones later), then purges", async () => {
    const [a, b, c] = [f.fresh(), f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b, c]);
    const [alice, bob] = [await f.login(a), await f.login(b)];
    await f.settle();
    await sendStored(bob, `${sid}@${C}`, sessionText(b, sid, "last words"));
    await tlim.api("addPubact", { session_id: sid, user_id: a, title: "board", content: "stays" });

    const r = await tlim.api("dissolved", { session_id: sid }, { method: "POST" });
    expect(r).toMatchObject({ result: "ok", result_detail: "", session_id: sid });
    for (const client of [alice, bob]) {
      const got = await client.waitFor(isMessageWithId(r.msg_id));
      expect(got.attrs.from).toBe(`${sid}@${C}`);
      expect(envelopeOf(got)).toMatchObject({ msg_type: "MTS-107", msg_from: "admin", msg_to: sid, body: [{ session_id: sid }] });
    }
    const carol = await f.login(c);
    await carol.waitFor(isMessageWithId(r.msg_id));

    const h = await tlim.api("findSessionHistory", { session_id: sid, length: "max" });
    expect(h.message_list.map((m: any) => [m.msg_id, m.msg_type])).toEqual([[r.msg_id, "MTS-107"]]);
    expect(await tlim.api("findSubscribers", { session_id: sid })).toMatchObject({ result: "error-009", session_type: 0 });
    expect((await tlim.api("findSessions", { user_id: a })).sessions).toEqual([]);
    expect((await tlim.api("findSessions", { user_id: a, valid: "1" })).sessions).toEqual([]);
    expect((await refused(bob, `${sid}@${C}`, sessionText(b, sid, "hello?"))).getChildText("body")).toBe("error-011");
    const again = await tlim.api("dissolved", { session_id: sid });
    expect(again.result).toBe("error-009");
    expect(again.result_detail).toContain("dissolved");
    // deleteSession takes the same live-session check: a dissolved session is error-009 and stays.
    const del = await tlim.api("deleteSession", { session_id: sid });
    expect(del).toMatchObject({ result: "error-009", session_id: sid });
    expect(del.result_detail).toContain("dissolved");
    expect((await tlim.api("dissolved", { session_id: "nope" })).result).toBe("error-009");
    expect((await tlim.api("dissolved", {})).result).toBe("error-007");
    // The original kept the board (docs/http-api.md "dissolved").
    expect((await tlim.api("findPubactList", { session_id: sid })).pubactList).toHaveLength(1);
  });

  it("dissolved also works for a closed session and one its owner has left", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b]);
    await tlim.api("modifySession", { session_id: sid, subscribers: JSON.stringify([{ user_id: a, type: "del" }]) });
    await tlim.api("switchSession", { session_id: sid, session_valid: "1" });
    const r = await tlim.api("dissolved", { session_id: sid });
    expect(r.result).toBe("ok");
    const bob = await f.login(b);
    expect(envelopeOf(await bob.waitFor(isMessageWithId(r.msg_id))).msg_type).toBe("MTS-107");
  });

  it("findSessions and findWebSessions list by latest activity: sessions, 1:1 chats (type 99) and the system entry", async () => {
    const [u, p, q] = [f.fresh(), f.fresh(), f.fresh()];
    await tlim.api("addUser", { userList: JSON.stringify([{ user_id: p, user_name: "Peer P", pic_url: "p.png" }]) });
    const s1 = await addSession(tlim, u, [q]);
    await sleep(5);
    const s2 = await addSession(tlim, q, [u], "1");
    await sleep(5);
    await addSession(tlim, u, [p], "99"); // a type-99 session is never listed as a group
    const closed = await addSession(tlim, u, []);
    await tlim.api("switchSession", { session_id: closed, session_valid: "1" });
    const user = await f.login(u);
    await f.settle();
    await sleep(5);
    await sendStored(user, `${p}@${C}`, chatText(u, p, "hi p"));
    await sleep(5);
    const sys = await tlim.api("systemMessage", { msgTo: u, params: JSON.stringify([{ title: "t", content: "c", type: 2 }]) });
    await sleep(5);
    await tlim.api("approval", { msgTo: u, params: "[{bizId:'b'}]" }); // MTB-000 is not a system message
    await sleep(5);
    await sendStored(user, `${s1}@${C}`, sessionText(u, s1, "latest"));

    const web = await tlim.api("findWebSessions", { user_id: u });
    expect(web.result).toBe("ok");
    expect(web.sessions.map((s: any) => [s.session_id, s.session_type])).toEqual([[s1, 0], ["systemMessage", 100], [p, 99], [s2, 1]]);
    const [g1, system, chat, g2] = web.sessions;
    expect(Number(g1.session_modify_time)).toBeGreaterThan(Number(system.session_modify_time));
    expect(system).toEqual({ session_id: "systemMessage", session_name: "系统消息", session_type: 100, session_valid: 0, session_user: "admin", session_modify_time: sys.msg_time });
    expect(chat).toMatchObject({ session_id: p, session_name: "Peer P", session_pic: "p.png", session_type: 99, session_valid: 0, session_user: u });
    expect(chat.session_create_time).toMatch(/^\d{13}$/);
    expect(g2).toMatchObject({ session_type: 1, session_valid: 0, session_user: q, session_create_time: expect.stringMatching(/^\d{13}$/) });
    expect(g2.session_modify_time).toBeUndefined();
    // The peer sees the chat too, named by id when unknown to the users table.
    expect((await tlim.api("findWebSessions", { user_id: p })).sessions.find((s: any) => s.session_type === 99)).toMatchObject({ session_id: u, session_name: u });

    expect((await tlim.api("findWebSessions", { user_id: u, valid: "1" })).sessions.map((s: any) => s.session_id)).toEqual([closed]);
    const plain = await tlim.api("findSessions", { user_id: u });
    expect(plain.sessions.map((s: any) => s.session_id)).toEqual([s1, s2]);
    expect(plain.sessions[0]).toEqual({ session_id: s1, session_name: `${u},${q}`, session_type: 0, session_user: u });
    expect(await tlim.api("findWebSessions", { user_id: f.fresh() })).toEqual({ result: "ok", result_detail: "", sessions: [] });
    expect((await tlim.api("findWebSessions", {})).result).toBe("error-008");
    expect((await tlim.api("findSessions", {})).result).toBe("error-008");
    expect((await tlim.api("findWebSessions", { user_id: u, valid: "7" })).result).toBe("error-016");
  });

  it("findPresence reports what the component sees: available, away, offline", async () => {
    const [a, b, c] = [f.fresh(), f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b, c]);
    await f.login(a);
    const bob = await f.login(b, undefined, false);
    await bob.send(xml("presence", { to: C }, xml("show", {}, "away")));
    await f.settle();
    const r = await tlim.api("findPresence", { session_id: sid });
    expect(r).toEqual([{ user_id: a, status: "available" }, { user_id: b, status: "away" }, { user_id: c, status: "offline" }]);
    await bob.sendPresenceTo(C);
    await f.settle();
    expect((await tlim.api("findPresence", { session_id: sid }))[1]).toEqual({ user_id: b, status: "available" });
    expect((await tlim.api("findPresence", {})).result).toBe("error-007");
    expect((await tlim.api("findPresence", { session_id: "nope" })).result).toBe("error-009");
    const empty = await addSession(tlim, c, []);
    await tlim.api("modifySession", { session_id: empty, subscribers: JSON.stringify([{ user_id: c, type: "del" }]) });
    expect(await tlim.api("findPresence", { session_id: empty })).toEqual({ result: "ok", result_detail: "" });
  });

  it("findSession and findSubscribers: header and members; error-007 and error-009", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b], "2");
    const s = await tlim.api("findSession", { session_id: sid });
    expect(s).toMatchObject({ result: "ok", result_detail: "", session_id: sid, session_name: `${a},${b}`, session_type: 2, session_user: a, session_valid: 0 });
    expect(s.session_create_time).toMatch(/^\d{13}$/);
    expect(s.subscribers.map((m: any) => m.user_id)).toEqual([a, b]);
    for (const name of ["findSession", "findSubscribers"]) {
      expect(await tlim.api(name, {})).toEqual({ result: "error-007", result_detail: "session_id为空 (session_id is empty)" });
      expect(await tlim.api(name, { session_id: "nope" })).toEqual({ result: "error-009", result_detail: "session 'nope' does not exist", session_id: "nope", session_type: 0 });
    }
  });
});
