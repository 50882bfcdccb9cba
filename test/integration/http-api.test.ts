// The HTTP API as a whole: docs/openapi.yaml and docs/http-api.md cover exactly the endpoints
// the app serves; every endpoint needs the API secret (unless TLIM_API_AUTH=none); CORS is
// configurable; and no parameters, or nonsense ones, never give an HTTP 500 or a stack trace —
// on SQLite and MariaDB.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { FILE_ENDPOINTS } from "../../src/transports/http/files.js";
import { routes } from "../../src/transports/http/routes.js";
import { useTlim } from "../support/fixture.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { API_SECRET, createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";

const doc = parse(readFileSync(new URL("../../docs/openapi.yaml", import.meta.url), "utf8"));
const prose = readFileSync(new URL("../../docs/http-api.md", import.meta.url), "utf8");
const JSON_ENDPOINTS = Object.keys(routes);
const ALL_ENDPOINTS = [...JSON_ENDPOINTS, ...FILE_ENDPOINTS];
const UPLOADS = FILE_ENDPOINTS.filter((n) => n.startsWith("upload"));

/** The parameter names the document gives an endpoint (after $ref). */
function documentedParams(name: string): string[] {
  const op = doc.paths[`/${name}`]?.get ?? doc.paths[`/${name}`]?.post;
  return (op?.parameters ?? []).map((p: any) => (p.$ref ? doc.components.parameters[p.$ref.split("/").pop()] : p).name);
}

describe(onServer("the API documents"), () => {
  it("docs/openapi.yaml has exactly the served endpoints (33 of the original's + the file service)", () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(JSON_ENDPOINTS).toHaveLength(33);
    expect(Object.keys(doc.paths).sort()).toEqual(ALL_ENDPOINTS.map((n) => `/${n}`).sort());
    for (const name of ALL_ENDPOINTS) {
      const path = doc.paths[`/${name}`];
      const methods = Object.keys(path).sort();
      expect(methods, name).toEqual(UPLOADS.includes(name) ? ["post"] : ["get", "post"]);
      for (const m of methods) expect(path[m].summary, `${name} ${m}`).toBeTruthy();
      if (!UPLOADS.includes(name)) {
        const params = documentedParams(name);
        expect(params.length, name).toBeGreaterThan(0);
        expect(params.every((p) => typeof p === "string"), `${name}: unresolved $ref`).toBe(true);
      }
    }
  });

  it("docs/http-api.md has a section for every endpoint and none for an endpoint that does not exist", () => {
    const headings = [...prose.matchAll(/^### `([A-Za-z]+)`/gm)].map((m) => m[1]);
    expect([...headings].sort()).toEqual([...ALL_ENDPOINTS].sort());
  });
});

/** Values no caller should send; every endpoint must answer them with a code, not a crash. */
const NONSENSE = ["", " ", "x".repeat(1500), "'\"<>{}[]%00\u0000😀", "-1", "99999999999999999999999", "max", "{}", "[{\"user_id\":{}}]", "[null]", "null", "../../../etc/passwd"];
const NONSENSE_JSON: unknown[] = [{}, [], [{}], 123, -5.5, true, null, { user_id: ["a"] }];

describe.each(DB_KINDS)(onServer("HTTP API conventions on %s"), (kind) => {
  const f = useTlim(kind, { prefix: "ha", users: 2 });
  let tlim: TestTlim;
  beforeAll(() => {
    ({ tlim } = f);
  });

  const expectAnswered = async (res: Response, what: string) => {
    const text = await res.text();
    expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
    expect(text, what).not.toMatch(/\n\s+at |Error:/);
    let body: any;
    expect(() => (body = JSON.parse(text)), `${what}: not JSON: ${text.slice(0, 300)}`).not.toThrow();
    if (!Array.isArray(body)) expect(body.result, `${what}: ${text.slice(0, 300)}`).toMatch(/^(ok|error-\d{3})$/);
  };

  it("every endpoint requires the API secret", async () => {
    for (const name of ALL_ENDPOINTS) {
      for (const init of [{}, { method: "POST" }, { headers: { authorization: "Bearer wrong" } }]) {
        const res = await fetch(`${tlim.httpUrl}/plugins/tlim/${name}`, init);
        expect(res.status, `${name} ${JSON.stringify(init)}`).toBe(401);
        expect(((await res.json()) as any).result).toBe("error-014");
      }
    }
  });

  it("no parameters, or nonsense in every parameter, by GET, form POST or JSON POST: a code and a detail, never a 500", async () => {
    const auth = { authorization: `Bearer ${API_SECRET}` };
    for (const name of ALL_ENDPOINTS) {
      const url = `${tlim.httpUrl}/plugins/tlim/${name}`;
      const params = UPLOADS.includes(name) ? ["user_id"] : documentedParams(name);
      await expectAnswered(await fetch(url, { headers: auth }), `${name} {}`);
      for (const value of NONSENSE) {
        const q = new URLSearchParams(params.map((p): [string, string] => [p, value]));
        await expectAnswered(await fetch(`${url}?${q}`, { headers: auth }), `${name} GET ${value.slice(0, 20)}`);
        await expectAnswered(await fetch(url, { method: "POST", headers: { ...auth, "content-type": "application/x-www-form-urlencoded" }, body: q }), `${name} POST ${value.slice(0, 20)}`);
      }
      for (const value of NONSENSE_JSON) {
        const body = JSON.stringify(Object.fromEntries(params.map((p) => [p, value])));
        await expectAnswered(await fetch(url, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body }), `${name} JSON ${body.slice(0, 60)}`);
      }
    }
  });

  it("GET, form POST and JSON POST are the same call", async () => {
    const sid = (await tlim.api("addSession", { session_type: "0", request_user: "ha1", subscribers: "[{user_id:'ha2'}]" })).session_id;
    const get = await tlim.api("findSubscribers", { session_id: sid });
    const form = await tlim.api("findSubscribers", { session_id: sid }, { method: "POST" });
    const json = await (await fetch(`${tlim.httpUrl}/plugins/tlim/findSubscribers`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ session_id: sid }),
    })).json();
    expect(form).toEqual(get);
    expect(json).toEqual(get);
    expect(get.subscribers.map((m: any) => m.user_id)).toEqual(["ha1", "ha2"]);
    // Query and body together: the body wins.
    const both = await (await fetch(`${tlim.httpUrl}/plugins/tlim/findSubscribers?session_id=nope`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_SECRET}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ session_id: sid }),
    })).json();
    expect(both).toEqual(get);
  });
});

describe.each(DB_KINDS)(onServer("an open API (TLIM_API_AUTH=none) with a configured CORS origin on %s"), (kind) => {
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  beforeAll(async () => {
    prosody = await startXmppServer();
    db = await createDb(kind, "open");
    tlim = await startTestTlim(prosody, db.url, { apiAuth: "none", corsOrigin: "https://app.example" });
  });
  afterAll(async () => {
    await tlim?.stop();
    await prosody?.stop();
    await db?.drop();
  });

  it("answers without a secret, with the configured Access-Control-Allow-Origin, and preflights", async () => {
    // The configured origin is echoed to a request from it (a browser always sends Origin cross-origin).
    const res = await fetch(`${tlim.httpUrl}/plugins/tlim/findSessions?user_id=nobody`, { headers: { origin: "https://app.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("vary")).toMatch(/Origin/);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await res.json()).toEqual({ result: "ok", result_detail: "", sessions: [] });
    const pre = await fetch(`${tlim.httpUrl}/plugins/tlim/addSession`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
  });
});
