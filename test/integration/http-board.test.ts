// The session notice board (pubact) and per-user styles over real HTTP and a real database
// (SQLite and MariaDB). Board ids are UUIDs and work for modify and delete (the original's failed for UUID ids).
import { beforeAll, describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { DB_KINDS, type TestTlim } from "../support/tlim.js";
import { sleep } from "../support/tlim-stanzas.js";
import { postJson } from "./http-support.js";
import { onServer } from "../support/xmpp-server.js";

describe.each(DB_KINDS)(onServer("HTTP board and style endpoints on %s"), (kind) => {
  const f = useTlim(kind, { prefix: "hb", users: 4 });
  let tlim: TestTlim;
  beforeAll(() => {
    ({ tlim } = f);
  });

  it("addPubact, findPubactList, modifyPubact, deletePubact with UUID ids", async () => {
    const sid = "board-session";
    const first = await tlim.api("addPubact", { session_id: sid, user_id: "hb1", title: "Office move", content: "Monday 9:00" });
    expect(first).toMatchObject({ result: "ok", result_detail: "" });
    expect(first.id_).toMatch(/^[0-9a-f-]{36}$/);
    await sleep(3);
    const second = await postJson(tlim, "addPubact", { session_id: sid, user_id: "hb2", title: "节日快乐 🎉", content: "x".repeat(3920) });
    await tlim.api("addPubact", { session_id: "elsewhere", user_id: "hb1", title: "not here" });
    const list = await tlim.api("findPubactList", { session_id: sid });
    expect(list.pubactList.map((p: any) => p.id_)).toEqual([second.id_, first.id_]);
    expect(list.pubactList[1]).toEqual({ id_: first.id_, title: "Office move", content: "Monday 9:00", user_id: "hb1", ts: first.ts, session_id: sid });
    expect(list.pubactList[0].title).toBe("节日快乐 🎉");

    expect(await tlim.api("modifyPubact", { id_: first.id_, title: "Office move (updated)" }, { method: "POST" })).toEqual({ result: "ok", result_detail: "", id_: first.id_ });
    expect(await tlim.api("modifyPubact", { id_: first.id_, content: "" })).toMatchObject({ result: "ok" });
    const changed = (await tlim.api("findPubactList", { session_id: sid })).pubactList[1];
    expect([changed.title, changed.content]).toEqual(["Office move (updated)", ""]);
    expect(await tlim.api("deletePubact", { id_: first.id_ })).toEqual({ result: "ok", result_detail: "", id_: first.id_ });
    expect((await tlim.api("findPubactList", { session_id: sid })).pubactList.map((p: any) => p.id_)).toEqual([second.id_]);
    expect(await tlim.api("findPubactList", { session_id: "empty" })).toEqual({ result: "ok", result_detail: "", pubactList: [] });

    for (const [name, params, code] of [
      ["addPubact", { user_id: "hb1", title: "t" }, "error-007"],
      ["addPubact", { session_id: sid, title: "t" }, "error-008"],
      ["addPubact", { session_id: sid, user_id: "hb1" }, "error-016"],
      ["addPubact", { session_id: sid, user_id: "hb1", title: "t".repeat(257) }, "error-016"],
      ["addPubact", { session_id: sid, user_id: "hb1", content: "c".repeat(3921) }, "error-016"],
      ["findPubactList", {}, "error-007"],
      ["modifyPubact", { title: "x" }, "error-016"],
      ["modifyPubact", { id_: second.id_ }, "error-016"],
      ["modifyPubact", { id_: first.id_, title: "gone" }, "error-018"],
      ["deletePubact", { id_: first.id_ }, "error-018"],
      ["deletePubact", {}, "error-016"],
    ] as const) {
      const r = await tlim.api(name, params);
      expect(r.result, `${name} ${JSON.stringify(params)}`).toBe(code);
      expect(r.result_detail.length).toBeGreaterThan(5);
    }
  });

  it("addStyle upserts by (style_name, user_id); findStyleList lists a user's styles", async () => {
    const a = await tlim.api("addStyle", { user_id: "hb3", style_name: "theme", style_value: "2" });
    expect(a).toMatchObject({ result: "ok", style_name: "theme", style_value: 2, user_id: "hb3" });
    const again = await tlim.api("addStyle", { user_id: "hb3", style_name: "theme", style_value: "5" }, { method: "POST" });
    expect(again.style_id).toBe(a.style_id);
    await tlim.api("addStyle", { user_id: "hb3", style_name: "font" }); // style_value absent = 0
    await tlim.api("addStyle", { user_id: "hb4", style_name: "theme", style_value: "1" });
    expect(await tlim.api("findStyleList", { user_id: "hb3" })).toEqual({
      result: "ok",
      result_detail: "",
      ofStyleList: [
        { style_id: expect.any(String), style_name: "font", style_value: 0, user_id: "hb3" },
        { style_id: a.style_id, style_name: "theme", style_value: 5, user_id: "hb3" },
      ],
    });
    for (const [name, params, code] of [
      ["addStyle", { style_name: "x" }, "error-008"],
      ["addStyle", { user_id: "hb3" }, "error-016"],
      ["addStyle", { user_id: "hb3", style_name: "x", style_value: "big" }, "error-016"],
      ["addStyle", { user_id: "hb3", style_name: "s".repeat(65) }, "error-016"],
      ["findStyleList", {}, "error-008"],
    ] as const) {
      expect((await tlim.api(name, params)).result, `${name} ${JSON.stringify(params)}`).toBe(code);
    }
  });
});
