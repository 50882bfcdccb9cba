// The walking skeleton's HTTP endpoints against a real database (SQLite and MariaDB) and the
// XMPP flow they observe; every refusal gets its `result` code and a readable detail.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { connectClient, type TestClient } from "../support/xmpp-client.js";
import { envelope, isMessageWithId, sleep, tlimMessage } from "../support/tlim-stanzas.js";

describe.each(DB_KINDS)(onServer("HTTP API on %s"), (kind) => {
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    prosody = await startXmppServer({ users: [["h1", "pw"], ["h2", "pw"], ["h3", "pw"]] });
    db = await createDb(kind, "http");
    // Any origin, as the original (no cross-origin access is the default: TLIM_CORS_ORIGIN unset).
    tlim = await startTestTlim(prosody, db.url, { corsOrigin: "*" });
  });

  afterAll(async () => {
    for (const c of clients) await c.stop();
    await tlim?.stop();
    await prosody?.stop();
    await db?.drop();
  });

  it("requires the API secret (Bearer header or secret=) on every endpoint", async () => {
    for (const name of ["addSession", "findSessionHistory", "findChatHistory", "getOffline"]) {
      const res = await fetch(`${tlim.httpUrl}/plugins/tlim/${name}`);
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).result).toBe("error-014");
    }
    const wrong = await tlim.api("getOffline", { user_id: "x" }, { secret: "nope" });
    expect(wrong.result).toBe("error-014");
    expect(wrong.result_detail).toContain("wrong");
    const viaParam = await tlim.api("getOffline", { user_id: "x", secret: "test-api-secret" }, { secret: null });
    expect(viaParam.result).toBe("ok");
  });

  it("answers CORS preflight and sends JSON UTF-8 with Access-Control-Allow-Origin *", async () => {
    const res = await fetch(`${tlim.httpUrl}/plugins/tlim/getOffline?user_id=x`, { headers: { authorization: "Bearer test-api-secret" } });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("content-type")).toMatch(/application\/json; charset=utf-8/);
  });

  it("addSession creates a session (owner included), by GET or POST, with the original's response", async () => {
    for (const method of ["GET", "POST"] as const) {
      const r = await tlim.api("addSession", { session_type: "1", request_user: "h1", subscribers: "[{user_id:'h2'},{user_id:'h3'}]" }, { method });
      expect(r).toMatchObject({ result: "ok", result_detail: "", session_type: 1, session_user: "h1", session_name: "h1,h2,h3" });
      expect(r.session_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.session_create_time).toMatch(/^\d{13}$/);
      expect(r.subscribers).toEqual([{ user_id: "h1" }, { user_id: "h2" }, { user_id: "h3" }]);
    }
  });

  it("addSession refuses bad parameters with codes and details", async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ request_user: "h1", subscribers: "[]" }, "error-002"],
      [{ session_type: "abc", request_user: "h1", subscribers: "[]" }, "error-002"],
      [{ session_type: "0", subscribers: "[]" }, "error-004"],
      [{ session_type: "0", request_user: "h1" }, "error-004"],
      [{ session_type: "0", request_user: "h1", subscribers: "{not json" }, "error-004"],
      [{ session_type: "0", request_user: "h1", subscribers: "[{\"name\":\"x\"}]" }, "error-004"],
    ];
    for (const [params, code] of cases) {
      const r = await tlim.api("addSession", params);
      expect(r.result, JSON.stringify(params)).toBe(code);
      expect(r.result_detail.length).toBeGreaterThan(5);
    }
  });

  it("history endpoints validate ids and paging", async () => {
    expect((await tlim.api("findSessionHistory", {})).result).toBe("error-007");
    expect((await tlim.api("findChatHistory", { session_id: "h2" })).result).toBe("error-008");
    const bad = await tlim.api("findSessionHistory", { session_id: "s", start: "x" });
    expect(bad.result).toBe("error-016");
    expect(bad.result_detail).toContain("start");
    const empty = await tlim.api("findSessionHistory", { session_id: "nosuch", start: "0", length: "max" });
    expect(empty).toEqual({ result: "ok", result_detail: "", session_id: "nosuch", total: 0, message_list: [] });
  });

  it("pages history newest first with a correct total; a member added over HTTP gets the next message", async () => {
    const created = await tlim.api("addSession", { session_type: "0", request_user: "h1", subscribers: JSON.stringify([{ user_id: "h2" }]) });
    const sid = created.session_id;
    const h1 = await connectClient(prosody, "h1", "pw");
    const h2 = await connectClient(prosody, "h2", "pw");
    clients.push(h1, h2);
    await h1.sendPresenceTo(prosody.componentDomain);
    await h2.sendPresenceTo(prosody.componentDomain);
    await sleep(150);
    const envs = [1, 2, 3, 4, 5].map((i) => envelope({ msg_from: "h1", msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text: `n${i}` }] }));
    for (const e of envs) await h1.send(tlimMessage(`${sid}@${prosody.componentDomain}`, e));
    await h2.waitFor(isMessageWithId(envs[4]!.msg_id));
    const page = await tlim.api("findSessionHistory", { session_id: sid, start: "1", length: "2" });
    expect(page.total).toBe(5);
    expect(page.message_list.map((m: any) => JSON.parse(m.body)[0].text)).toEqual(["n4", "n3"]);
    expect(page.message_list[0]).toMatchObject({ msg_type: "MTS-000", msg_from: "h1", msg_to: sid, session_id: sid });
  });

  it("getOffline returns the inbox after the watermark and clears by moving the cursor, never deleting", async () => {
    const h3 = await connectClient(prosody, "h3", "pw");
    clients.push(h3);
    await h3.sendPresenceTo(prosody.componentDomain);
    await sleep(150);
    const envs = [1, 2, 3].map((i) => envelope({ msg_from: "h3", msg_to: "offline-user", msg_type: "MTT-000", body: [{ text: `o${i}` }] }));
    for (const e of envs) await h3.send(tlimMessage(`offline-user@${prosody.componentDomain}`, e));
    await h3.waitForCount((el) => el.getChild("received", "urn:xmpp:receipts") !== undefined, 3);

    const keep = await tlim.api("getOffline", { user_id: "offline-user", getThenClear: "1" });
    expect(keep.result).toBe("ok");
    expect(keep.message_list.map((m: any) => JSON.parse(m.body)[0].text)).toEqual(["o1", "o2", "o3"]);
    expect(keep.message_list[0]).toMatchObject({ msg_from: "h3", msg_to: "h3", session_id: "h3", delete_user: "offline-user", msg_status: 0 });

    const afterWatermark = await tlim.api("getOffline", { user_id: "offline-user", msg_id: envs[0]!.msg_id, getThenClear: "1" });
    expect(afterWatermark.message_list.map((m: any) => m.msg_id)).toEqual([envs[1]!.msg_id, envs[2]!.msg_id]);

    const cleared = await tlim.api("getOffline", { user_id: "offline-user" });
    expect(cleared.message_list).toHaveLength(3);
    expect((await tlim.api("getOffline", { user_id: "offline-user" })).message_list).toEqual([]);
    // Nothing was deleted: history still has all three.
    expect((await tlim.api("findChatHistory", { user_id: "offline-user", session_id: "h3" })).total).toBe(3);
    expect((await tlim.api("getOffline", {})).result).toBe("error-008");
  });

  it("never answers a bad request with a stack trace", async () => {
    const res = await fetch(`${tlim.httpUrl}/plugins/tlim/addSession`, {
      method: "POST",
      headers: { authorization: "Bearer test-api-secret", "content-type": "application/json" },
      body: "{broken",
    });
    expect(res.status).toBe(400);
    const j = (await res.json()) as any;
    expect(j.result).toBe("error-005");
    expect(JSON.stringify(j)).not.toContain("at ");
    const unknown = await fetch(`${tlim.httpUrl}/plugins/tlim/noSuchThing`, { headers: { authorization: "Bearer test-api-secret" } });
    expect(unknown.status).toBe(404);
  });
});
