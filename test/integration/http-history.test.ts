// History, system history, syncMessage and read state over real HTTP against a real database
// (SQLite and MariaDB); the messages come through Prosody from real clients.
import { beforeAll, describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { DB_KINDS, type TestTlim } from "../support/tlim.js";
import { envelope, isMessageWithId } from "../support/tlim-stanzas.js";
import { addSession, chatText, sendStored, sessionText } from "./http-support.js";
import { onServer } from "../support/xmpp-server.js";

describe.each(DB_KINDS)(onServer("HTTP history endpoints on %s"), (kind) => {
  const f = useTlim(kind, { prefix: "hh", users: 30 });
  let tlim: TestTlim;
  let C = "";
  beforeAll(() => {
    ({ tlim, C } = f);
  });
  const texts = (page: any) => page.message_list.map((m: any) => JSON.parse(m.body)[0].text);

  it("findSessionHistory pages newest first by start/length/max and by key; revoked messages and receipts are never listed", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b]);
    const [alice, bob] = [await f.login(a), await f.login(b)];
    await f.settle();
    const sent = [1, 2, 3, 4, 5, 6, 7].map((i) => sessionText(i % 2 ? a : b, sid, `m${i}`));
    for (const e of sent) await sendStored(e.msg_from === a ? alice : bob, `${sid}@${C}`, e);
    await sendStored(alice, `${sid}@${C}`, envelope({ msg_from: a, msg_to: sid, msg_type: "MTS-101", body: [{ session_id: sid, msg_id: sent[4]!.msg_id }] }));
    await sendStored(bob, `${sid}@${C}`, envelope({ msg_from: b, msg_to: sid, msg_type: "MTS-100", body: [{ session_id: sid, msg_id: sent[6]!.msg_id }] }));
    // Listed: the revoke notice and m7..m1 without m5 (revoked); the receipt is hidden.
    const all = await tlim.api("findSessionHistory", { session_id: sid, length: "MAX" });
    expect(all.total).toBe(7);
    expect(all.message_list[0].msg_type).toBe("MTS-101");
    expect(texts({ message_list: all.message_list.slice(1) })).toEqual(["m7", "m6", "m4", "m3", "m2", "m1"]);

    const p1 = await tlim.api("findSessionHistory", { session_id: sid, start: "1", length: "3" });
    expect(p1).toMatchObject({ result: "ok", session_id: sid, total: 7 });
    expect(texts(p1)).toEqual(["m7", "m6", "m4"]);
    expect(texts(await tlim.api("findSessionHistory", { session_id: sid, start: "4", length: "3" }))).toEqual(["m3", "m2", "m1"]);
    expect(await tlim.api("findSessionHistory", { session_id: sid, start: "7", length: "3" })).toMatchObject({ total: 7, message_list: [] });
    // By key: the rows older than the last one of the previous page.
    const last = p1.message_list[2].id_;
    const byKey = await tlim.api("findSessionHistory", { session_id: sid, before: last, length: "2" });
    expect(texts(byKey)).toEqual(["m3", "m2"]);
    expect(byKey.total).toBe(7);
    // length absent: a default page, not the original's empty one.
    expect((await tlim.api("findSessionHistory", { session_id: sid })).message_list).toHaveLength(7);
    expect(p1.message_list[0]).toEqual({
      id_: expect.stringMatching(/#\d+$/), msg_id: sent[6]!.msg_id, msg_type: "MTS-000", msg_from: a, msg_to: sid,
      msg_time: sent[6]!.msg_time, body: JSON.stringify(sent[6]!.body), session_id: sid,
    });
    for (const [params, detail] of [[{ start: "-1" }, "negative"], [{ length: "ten" }, "length"], [{ before: "x#y" }, "before"]] as const) {
      const bad = await tlim.api("findSessionHistory", { session_id: sid, ...params });
      expect(bad.result, JSON.stringify(params)).toBe("error-016");
      expect(bad.result_detail).toContain(detail);
    }
  });

  it("findChatHistory pages one 1:1 conversation, the same from both sides; errors keep session_id and total", async () => {
    const [a, b, c] = [f.fresh(), f.fresh(), f.fresh()];
    const [alice, bob] = [await f.login(a), await f.login(b)];
    await f.settle();
    for (const [who, client, to, text] of [[a, alice, b, "x1"], [b, bob, a, "x2"], [a, alice, b, "x3"], [a, alice, c, "other"]] as const) {
      await sendStored(client, `${to}@${C}`, chatText(who, to, text));
    }
    const mine = await tlim.api("findChatHistory", { user_id: a, session_id: b, start: "0", length: "2" });
    expect(mine).toMatchObject({ result: "ok", session_id: b, total: 3 });
    expect(texts(mine)).toEqual(["x3", "x2"]);
    const theirs = await tlim.api("findChatHistory", { user_id: b, session_id: a, length: "max" }, { method: "POST" });
    expect(texts(theirs)).toEqual(["x3", "x2", "x1"]);
    expect(theirs.message_list[1]).toMatchObject({ msg_from: b, msg_to: a, session_id: b });
    expect(await tlim.api("findChatHistory", { session_id: b })).toEqual({ result: "error-008", result_detail: "user_id为空 (user_id is empty)", session_id: b, total: 0 });
    expect(await tlim.api("findChatHistory", { user_id: a })).toMatchObject({ result: "error-007", total: 0 });
  });

  it("findSystemHistory lists a user's MTB-100 system messages, paged, with the total", async () => {
    const u = f.fresh();
    const ids: string[] = [];
    for (const i of [1, 2, 3]) ids.push((await tlim.api("systemMessage", { msgTo: u, params: JSON.stringify([{ title: `s${i}`, type: 2 }]) })).msg_id);
    await tlim.api("approval", { msgTo: u, params: "[{bizId:'b1'}]" });
    const page = await tlim.api("findSystemHistory", { msg_to: u, start: "0", length: "2" });
    expect(page).toMatchObject({ result: "ok", result_detail: "", total: 3 });
    expect(page.message_list.map((m: any) => m.msg_id)).toEqual([ids[2], ids[1]]);
    expect(page.message_list[0]).toMatchObject({ msg_type: "MTB-100", msg_from: "admin", msg_to: u, session_id: "admin" });
    expect(JSON.parse(page.message_list[0].body)).toEqual([{ title: "s3", type: 2 }]);
    expect((await tlim.api("findSystemHistory", { msg_to: u, start: "2", length: "max" })).message_list.map((m: any) => m.msg_id)).toEqual([ids[0]]);
    expect(await tlim.api("findSystemHistory", { msg_to: f.fresh() })).toEqual({ result: "ok", result_detail: "", message_list: [], total: 0 });
    expect((await tlim.api("findSystemHistory", {})).result).toBe("error-008");
  });

  it("syncMessage returns what was addressed to the user after msg_id; an unknown msg_id gives no list", async () => {
    const [u, p] = [f.fresh(), f.fresh()];
    const sid = await addSession(tlim, u, [p]);
    const [user, peer] = [await f.login(u), await f.login(p)];
    await f.settle();
    const first = chatText(p, u, "first");
    await sendStored(peer, `${u}@${C}`, first);
    await sendStored(user, `${p}@${C}`, chatText(u, p, "own, not addressed to u"));
    await sendStored(peer, `${sid}@${C}`, sessionText(p, sid, "session, addressed to the session"));
    const second = chatText(p, u, "second");
    await sendStored(peer, `${u}@${C}`, second);
    const sys = await tlim.api("systemMessage", { msgTo: u, params: "[{title:'t'}]" });
    const r = await tlim.api("syncMessage", { msg_to: u, msg_id: first.msg_id });
    expect(r.result).toBe("ok");
    expect(r.messageList.map((m: any) => m.msg_id)).toEqual([second.msg_id, sys.msg_id]);
    expect(r.messageList[0]).toEqual({ msg_id: second.msg_id, msg_type: "MTT-000", msg_from: p, msg_to: u, msg_time: second.msg_time, body: JSON.stringify(second.body) });
    expect(await tlim.api("syncMessage", { msg_to: u, msg_id: "unknown" })).toEqual({ result: "ok", result_detail: "" });
    expect((await tlim.api("syncMessage", { msg_id: first.msg_id })).result).toBe("error-008");
    expect((await tlim.api("syncMessage", { msg_to: u })).result).toBe("error-000");
    await user.waitFor(isMessageWithId(sys.msg_id));
  });

  it("read state: counts per page, the marks of one message, and their error codes", async () => {
    const [a, b, c] = [f.fresh(), f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b, c]);
    const [alice, bob, carol] = [await f.login(a), await f.login(b, "r1[web]"), await f.login(c)];
    await f.settle();
    const posts = [1, 2, 3].map((i) => sessionText(a, sid, `p${i}`));
    for (const e of posts) await sendStored(alice, `${sid}@${C}`, e);
    const read = (who: string, client: typeof bob, ids: string[]) =>
      sendStored(client, `${sid}@${C}`, envelope({ msg_from: who, msg_to: sid, msg_type: "MTS-100", body: ids.map((msg_id) => ({ session_id: sid, msg_id })) }));
    await read(b, bob, [posts[0]!.msg_id, posts[2]!.msg_id]);
    await read(c, carol, [posts[2]!.msg_id]);
    const page = await tlim.api("findSessionRead", { session_id: sid, sender: a, start: "0", length: "2" });
    expect(page.messageReadList).toEqual([{ msg_id: posts[2]!.msg_id, readNum: 2, memberNum: 2 }]);
    const all = await tlim.api("findSessionRead", { session_id: sid, sender: a, length: "max" });
    expect(all.messageReadList.map((r: any) => [r.msg_id, r.readNum])).toEqual([[posts[2]!.msg_id, 2], [posts[0]!.msg_id, 1]]);
    const marks = await tlim.api("findStatusList", { msg_id: posts[2]!.msg_id, sender: a });
    expect(marks.ofStatusList.map((m: any) => [m.reader, m.status])).toEqual([[b, 1], [c, 2]]);
    for (const [name, params, code] of [
      ["findSessionRead", { sender: a }, "error-007"],
      ["findSessionRead", { session_id: sid }, "error-008"],
      ["findChatRead", { msg_to: b }, "error-008"],
      ["findChatRead", { msg_from: a }, "error-008"],
      ["findStatusList", { sender: a }, "error-000"],
      ["findStatusList", { msg_id: "x" }, "error-008"],
      ["findSessionRead", { session_id: sid, sender: a, start: "z" }, "error-016"],
    ] as const) {
      const r = await tlim.api(name, params);
      expect(r.result, `${name} ${JSON.stringify(params)}`).toBe(code);
      expect(r.result_detail.length).toBeGreaterThan(5);
    }
    expect(await tlim.api("findChatRead", { msg_from: a, msg_to: b })).toEqual({ result: "ok", result_detail: "", messageReadList: [] });
    const direct = chatText(a, b, "1:1");
    await sendStored(alice, `${b}@${C}`, direct);
    await sendStored(bob, `${a}@${C}`, envelope({ msg_from: b, msg_to: a, msg_type: "MTT-100", body: [{ msg_id: direct.msg_id }] }));
    expect((await tlim.api("findChatRead", { msg_from: a, msg_to: b, start: "0", length: "5" })).messageReadList).toEqual([{ msg_id: direct.msg_id, readNum: 1, memberNum: 1 }]);
    expect((await tlim.api("findStatusList", { msg_id: direct.msg_id, sender: a })).ofStatusList).toEqual([expect.objectContaining({ reader: b, status: 1 })]);
  });
});
