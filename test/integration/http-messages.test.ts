// Messages the HTTP API makes or changes — business pushes, revokeMessage, clearChatHistory and
// the getOffline pull — over real HTTP, a real database (SQLite and MariaDB) and Prosody.
import { beforeAll, describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { DB_KINDS, type TestTlim } from "../support/tlim.js";
import { envelopeOf, isMessageWithId, sleep } from "../support/tlim-stanzas.js";
import { addSession, chatText, postJson, sendStored, sessionText } from "./http-support.js";
import { onServer } from "../support/xmpp-server.js";

describe.each(DB_KINDS)(onServer("HTTP message endpoints on %s"), (kind) => {
  const f = useTlim(kind, { prefix: "hm", users: 40 });
  let tlim: TestTlim;
  let C = "";
  beforeAll(() => {
    ({ tlim, C } = f);
  });

  it("business pushes answer whether they were accepted, with codes for what is wrong", async () => {
    const u = f.fresh();
    const user = await f.login(u);
    await f.settle();
    const ok = await postJson(tlim, "approvalBack", { msgTo: u, params: [{ taskId: "T9", comment: "redo" }] });
    expect(ok).toMatchObject({ result: "ok", msg_type: "MTB-001" });
    expect(envelopeOf(await user.waitFor(isMessageWithId(ok.msg_id))).body).toEqual([{ taskId: "T9", comment: "redo" }]);
    // The legacy spelling msg_to works too.
    expect((await tlim.api("approval", { msg_to: u, params: "[{bizId:'b'}]" })).result).toBe("ok");
    for (const [name, params, code] of [
      ["systemMessage", { params: "[{}]" }, "error-008"],
      ["systemMessage", { msgTo: u }, "error-000"],
      ["systemMessage", { msgTo: u, params: "{broken" }, "error-006"],
      ["approval", { msgTo: u, params: "{\"not\":\"an array\"}" }, "error-006"],
      ["approvalBack", { msgTo: u, params: "[]" }, "error-000"],
      ["approval", { msgTo: "x".repeat(65), params: "[{}]" }, "error-008"],
    ] as const) {
      const r = await tlim.api(name, params);
      expect(r.result, `${name} ${JSON.stringify(params)}`).toBe(code);
      expect(r.msg_id).toBeUndefined();
    }
  });

  it("revokeMessage revokes a session message with a server MTS-101 to every member; history and offline leave it out", async () => {
    const [a, b, c] = [f.fresh(), f.fresh(), f.fresh()];
    const sid = await addSession(tlim, a, [b, c]);
    const [alice, bob] = [await f.login(a), await f.login(b)];
    await f.settle();
    const bad = sessionText(b, sid, "regrettable");
    const fine = sessionText(b, sid, "fine");
    await sendStored(bob, `${sid}@${C}`, bad);
    await sendStored(bob, `${sid}@${C}`, fine);
    const r = await tlim.api("revokeMessage", { msg_id: bad.msg_id }, { method: "POST" });
    expect(r).toMatchObject({ result: "ok", result_detail: "", msg_id: bad.msg_id, msg_from: b, notice_msg_type: "MTS-101" });
    for (const client of [alice, bob]) {
      const got = await client.waitFor(isMessageWithId(r.notice_msg_id));
      expect(got.attrs.from).toBe(`${sid}@${C}`);
      expect(envelopeOf(got)).toMatchObject({ msg_from: "admin", msg_type: "MTS-101", body: [{ session_id: sid, msg_id: bad.msg_id }] });
    }
    const h = await tlim.api("findSessionHistory", { session_id: sid, length: "max" });
    expect(h.total).toBe(2);
    expect(h.message_list.map((m: any) => m.msg_id)).toEqual([r.notice_msg_id, fine.msg_id]);
    // carol was offline: her queue has the kept message and the notice, not the revoked one.
    const offline = await tlim.api("getOffline", { user_id: c, getThenClear: "1" });
    expect(offline.message_list.map((m: any) => m.msg_id)).toEqual([fine.msg_id, r.notice_msg_id]);
    const carol = await f.login(c);
    await carol.waitFor(isMessageWithId(r.notice_msg_id));
    expect(carol.messages().filter(isMessageWithId(bad.msg_id))).toHaveLength(0);

    // Again: acknowledged, nothing new delivered.
    const again = await tlim.api("revokeMessage", { msg_id: bad.msg_id });
    expect(again).toEqual({ result: "ok", result_detail: "", msg_id: bad.msg_id, msg_from: b });
    expect((await tlim.api("revokeMessage", { msg_id: "no-such-message" })).result).toBe("error-017");
    expect((await tlim.api("revokeMessage", {})).result).toBe("error-000");
  });

  it("revokeMessage of a 1:1 message: an MTT-101 in the author's name to both; an ambiguous msg_id needs msg_from", async () => {
    const [a, b, c] = [f.fresh(), f.fresh(), f.fresh()];
    const [alice, bob, carol] = [await f.login(a), await f.login(b), await f.login(c)];
    await f.settle();
    const m = chatText(a, b, "oops");
    await sendStored(alice, `${b}@${C}`, m);
    // carol reuses the same msg_id in her own conversation (msg_id is unique per sender only).
    await sendStored(carol, `${b}@${C}`, { ...chatText(c, b, "mine"), msg_id: m.msg_id });
    const ambiguous = await tlim.api("revokeMessage", { msg_id: m.msg_id });
    expect(ambiguous.result).toBe("error-016");
    expect(ambiguous.result_detail).toContain("msg_from");
    const r = await tlim.api("revokeMessage", { msg_id: m.msg_id, msg_from: a });
    expect(r).toMatchObject({ result: "ok", msg_from: a, notice_msg_type: "MTT-101" });
    const got = await bob.waitFor(isMessageWithId(r.notice_msg_id));
    expect(got.attrs.from).toBe(`${a}@${C}`);
    expect(envelopeOf(got)).toMatchObject({ msg_from: a, msg_to: b, msg_type: "MTT-101", body: [{ msg_id: m.msg_id }] });
    const copy = await alice.waitFor(isMessageWithId(r.notice_msg_id));
    expect(copy.getChildText("subject")).toBe("ASYNC");
    expect((await tlim.api("findChatHistory", { user_id: b, session_id: a })).message_list.map((x: any) => x.msg_id)).toEqual([r.notice_msg_id]);
    expect((await tlim.api("findChatHistory", { user_id: b, session_id: c })).total).toBe(1);
    expect((await tlim.api("revokeMessage", { msg_id: m.msg_id, msg_from: "nobody" })).result).toBe("error-017");
  });

  it("clearChatHistory deletes the 1:1 history for both sides, nobody is notified, the conversation goes on", async () => {
    const [a, b, c] = [f.fresh(), f.fresh(), f.fresh()];
    const [alice, bob] = [await f.login(a), await f.login(b)];
    await f.settle();
    await sendStored(alice, `${b}@${C}`, chatText(a, b, "1"));
    await sendStored(bob, `${a}@${C}`, chatText(b, a, "2"));
    await sendStored(alice, `${c}@${C}`, chatText(a, c, "kept"));
    const before = bob.messages().length;
    expect(await tlim.api("clearChatHistory", { user_id: b, other_id: a })).toEqual({ result: "ok", result_detail: "", user_id: b, other_id: a, deleted: 2 });
    for (const [me, peer] of [[a, b], [b, a]]) expect(await tlim.api("findChatHistory", { user_id: me!, session_id: peer! })).toMatchObject({ total: 0, message_list: [] });
    expect((await tlim.api("findChatHistory", { user_id: a, session_id: c })).total).toBe(1);
    expect((await tlim.api("getOffline", { user_id: c, getThenClear: "1" })).message_list).toHaveLength(1);
    await sleep(200);
    expect(bob.messages().length).toBe(before);
    const next = chatText(a, b, "fresh start");
    await sendStored(alice, `${b}@${C}`, next);
    expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).message_list.map((m: any) => m.msg_id)).toEqual([next.msg_id]);
    expect((await tlim.api("clearChatHistory", { user_id: a, other_id: b })).deleted).toBe(1);
    expect((await tlim.api("clearChatHistory", { user_id: a })).result).toBe("error-008");
    expect((await tlim.api("clearChatHistory", { other_id: a })).result).toBe("error-008");
  });

  it("getOffline: msg_status 1 for what the web client has, the msg_id watermark, and a clear that never drops later arrivals", async () => {
    const [w, p] = [f.fresh(), f.fresh()];
    // The HTTP device is known from here on (a device never seen starts where the user's most
    // advanced device is, and the web client is about to receive everything live).
    expect(await tlim.api("getOffline", { user_id: w })).toEqual({ result: "ok", result_detail: "", message_list: [] });
    const web = await f.login(w, "x1[web]");
    const peer = await f.login(p);
    await f.settle();
    const live = [chatText(p, w, "live 1"), chatText(p, w, "live 2")];
    for (const e of live) await sendStored(peer, `${w}@${C}`, e);
    for (const e of live) await web.waitFor(isMessageWithId(e.msg_id));
    await f.settle(); // the device's answer to tlim's barrier ping confirms what it read
    await web.stop();
    await f.settle();
    const later = [1, 2, 3].map((i) => chatText(p, w, `later ${i}`));
    for (const e of later) await sendStored(peer, `${w}@${C}`, e);

    const all = await tlim.api("getOffline", { user_id: w, getThenClear: "1" });
    expect(all.message_list.map((m: any) => [JSON.parse(m.body)[0].text, m.msg_status])).toEqual([["live 1", 1], ["live 2", 1], ["later 1", 0], ["later 2", 0], ["later 3", 0]]);
    expect(all.message_list[0]).toMatchObject({ msg_from: p, msg_to: p, session_id: p, delete_user: w });
    // The watermark: what came after the message the device has.
    const after = await tlim.api("getOffline", { user_id: w, msg_id: later[0]!.msg_id, getThenClear: "1" });
    expect(after.message_list.map((m: any) => m.msg_id)).toEqual([later[1]!.msg_id, later[2]!.msg_id]);

    // Clear a page of two: only what was returned is cleared; the rest, and what arrives
    // meanwhile, comes with the next pull.
    const page = await tlim.api("getOffline", { user_id: w, length: "2" });
    expect(page.message_list.map((m: any) => m.msg_id)).toEqual(live.map((e) => e.msg_id));
    const meanwhile = chatText(p, w, "meanwhile");
    await sendStored(peer, `${w}@${C}`, meanwhile);
    const rest = await tlim.api("getOffline", { user_id: w }, { method: "POST" });
    expect(rest.message_list.map((m: any) => m.msg_id)).toEqual([...later.map((e) => e.msg_id), meanwhile.msg_id]);
    expect((await tlim.api("getOffline", { user_id: w })).message_list).toEqual([]);
    // Each device has its own cursor; the history is untouched.
    expect((await tlim.api("getOffline", { user_id: w, device: "phone-2", getThenClear: "1" })).message_list).toHaveLength(0);
    expect((await tlim.api("findChatHistory", { user_id: w, session_id: p })).total).toBe(6);
    expect((await tlim.api("getOffline", { user_id: w, length: "x" })).result).toBe("error-016");
  });
});
