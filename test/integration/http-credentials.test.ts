// Credentials that fit the callers (docs/http-api.md "Credentials"), over real HTTP against a
// real tlim: signed, expiring file URLs handed out with uploads and with J-IM file messages and
// fetched without the API secret; altered or expired ones refused with the reason;
// TLIM_API_SECRET_IN_QUERY=0 on both HTTP APIs; CORS from an allow-list, nothing for other origins.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/protocol/jim-token.js";
import { FileUrlSigner } from "../../src/transports/http/file-urls.js";
import { useTlim } from "../support/fixture.js";
import { jimLogin, JimTcpClient, JimWsClient, type JimClient } from "../support/jim-client.js";
import { API_SECRET, type TestTlim } from "../support/tlim.js";
import { onServer } from "../support/xmpp-server.js";

const AUTH = { authorization: `Bearer ${API_SECRET}` };
const TOKEN_SECRET = "cred-token-secret";
const ORIGINS = "https://app.example,https://admin.example:8443";
const token = (user: string) => signToken(TOKEN_SECRET, user, Math.floor(Date.now() / 1000) + 3600);

describe(onServer("credentials: signed file URLs, secret= off, CORS allow-list (sqlite)"), () => {
  const fileDir = mkdtempSync(join(tmpdir(), "tlim-cred-"));
  const f = useTlim("sqlite", {
    prefix: "cr",
    users: 6,
    overrides: { fileDir, apiSecretInQuery: false, corsOrigin: ORIGINS, jimTokenSecret: TOKEN_SECRET, fileUrlTtlS: 120 },
  });
  let tlim: TestTlim;
  const clients: JimClient[] = [];
  beforeAll(() => {
    tlim = f.tlim;
  });
  afterAll(() => {
    for (const c of clients) c.close();
    rmSync(fileDir, { recursive: true, force: true });
  });

  const upload = async (bytes: string, name: string, type: string) => {
    const form = new FormData();
    form.append("mFile", new Blob([bytes], { type }), name);
    const res = await fetch(`${tlim.httpUrl}/plugins/tlim/uploadForJsonUrl`, { method: "POST", headers: AUTH, body: form });
    expect(res.status).toBe(200);
    return (await res.json()) as { result: string; url: string; fileUrl: string; fileUrlExpires: number };
  };

  it("an upload answers a signed URL that fetches the file without the API secret until it expires", async () => {
    const before = Math.floor(Date.now() / 1000);
    const up = await upload("picture bytes", "p.png", "image/png");
    expect(up.result).toBe("ok");
    expect(up.url).toMatch(/^\/plugins\/tlim\/download\?fileId=[0-9a-f]{32}&fileName=p\.png$/);
    expect(up.fileUrlExpires).toBeGreaterThanOrEqual(before + 120);
    expect(up.fileUrlExpires).toBeLessThanOrEqual(before + 121);
    expect(up.fileUrl).toContain(`exp=${up.fileUrlExpires}&sig=`);
    const res = await fetch(`${tlim.httpUrl}${up.fileUrl}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toMatch(/^private, max-age=1[012]\d$/);
    expect(await res.text()).toBe("picture bytes");
    // The download URL still needs the secret.
    expect((await fetch(`${tlim.httpUrl}${up.url}`)).status).toBe(401);
  });

  it("refuses an altered, unsigned, foreign-key or expired URL with 403 error-011 and the reason; an unknown file is 404", async () => {
    const up = await upload("secret plans", "plans.txt", "text/plain");
    const u = new URL(up.fileUrl, tlim.httpUrl);
    const id = u.pathname.split("/").pop()!;
    const refused = async (url: string, reason: RegExp) => {
      const res = await fetch(url.startsWith("http") ? url : `${tlim.httpUrl}${url}`);
      expect(res.status, url).toBe(403);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const body = (await res.json()) as { result: string; result_detail: string };
      expect(body.result).toBe("error-011");
      expect(body.result_detail).toMatch(reason);
      expect(body.result_detail).not.toContain(u.searchParams.get("sig")!);
    };
    const sig = u.searchParams.get("sig")!;
    await refused(`/plugins/tlim/file/${id}?exp=${Number(u.searchParams.get("exp")) + 86400}&sig=${sig}`, /signature is wrong/);
    await refused(`/plugins/tlim/file/${id}?exp=${u.searchParams.get("exp")}&sig=${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`, /signature is wrong/);
    await refused(`/plugins/tlim/file/${id}`, /not signed/);
    await refused(`/plugins/tlim/file/${id}?exp=${u.searchParams.get("exp")}&sig=${sig}&secret=${API_SECRET}`.replace(`sig=${sig}`, "sig=x"), /signature is wrong/);
    await refused(new FileUrlSigner({ secret: "another key", apiSecret: "", ttlS: 60 }).url(id), /signature is wrong/);
    // Signed with tlim's own key (derived from the API secret) two hours ago: expired.
    await refused(new FileUrlSigner({ secret: "", apiSecret: API_SECRET, ttlS: 3600 }).url(id, Date.now() - 7_200_000), /^the file URL expired at \d{4}-/);
    // Signed with that key now: valid, the key really is the derived one.
    expect(await (await fetch(`${tlim.httpUrl}${new FileUrlSigner({ secret: "", apiSecret: API_SECRET, ttlS: 60 }).url(id)}`)).text()).toBe("secret plans");
    const unknown = await fetch(`${tlim.httpUrl}${new FileUrlSigner({ secret: "", apiSecret: API_SECRET, ttlS: 60 }).url("f".repeat(32))}`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { result: string }).result).toBe("error-018");
    expect((await fetch(`${tlim.httpUrl}/plugins/tlim/file/..%2F..%2Fetc%2Fpasswd?exp=1&sig=x`)).status).toBe(404);
  });

  it("a J-IM recipient gets a file message as a fresh signed URL it can fetch; the sender may send such a URL", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const up = await upload("voice bytes", "v.ogg", "audio/ogg");
    const fileId = new URL(up.fileUrl, tlim.httpUrl).pathname.split("/").pop()!;
    const alice = await JimTcpClient.connect(tlim.jimPort);
    const bob = await JimWsClient.connect(tlim.jimPort, `/?username=${b}&token=${token(b)}`);
    clients.push(alice, bob);
    expect((await jimLogin(alice, a, { token: token(a) })).json.code).toBe(10007);
    expect((await bob.next(6)).json.code).toBe(10007);
    // Alice sends the signed URL she was handed (as a browser would): only the file id is kept.
    alice.send(11, { from: a, to: b, chatType: 2, msgType: 2, content: up.fileUrl, id: "cred-voice-1" });
    expect((await alice.next(12)).json.code).toBe(10000);
    const push = await bob.waitFor((p) => p.command === 11 && p.json.data?.id === "cred-voice-1");
    const content = push.json.data.content as string;
    expect(content).toMatch(new RegExp(`^/plugins/tlim/file/${fileId}\\?exp=\\d+&sig=[\\w-]{43}$`));
    const got = await fetch(`${tlim.httpUrl}${content}`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("voice bytes");
    const stored = await tlim.core.messaging.chatHistory(a, b, 0, 10);
    expect(JSON.parse(stored.items[0]!.body)).toEqual([{ fileId }]);
    // The same message in a history list (command 19 type 1) gets a URL signed for that answer.
    bob.send(19, { userId: b, type: 1, fromUserId: a });
    const hist = await bob.next(20);
    expect(hist.json.data.friends[a][0].content).toMatch(new RegExp(`^/plugins/tlim/file/${fileId}\\?exp=\\d+&sig=`));
  });

  it("TLIM_API_SECRET_IN_QUERY=0: secret= is refused with the reason on the HTTP API and the J-IM HTTP API; the header works", async () => {
    const q = await fetch(`${tlim.httpUrl}/plugins/tlim/findSessions?user_id=cr1&secret=${API_SECRET}`);
    expect(q.status).toBe(401);
    expect(await q.json()).toEqual({ result: "error-014", result_detail: expect.stringContaining("TLIM_API_SECRET_IN_QUERY=0") });
    expect((await fetch(`${tlim.httpUrl}/plugins/tlim/findSessions?user_id=cr1`, { headers: AUTH })).status).toBe(200);
    const nobody = f.fresh();
    const jq = await fetch(`http://127.0.0.1:${tlim.jimPort}/api/user/online?userid=${nobody}&secret=${API_SECRET}`);
    expect(jq.status).toBe(401);
    expect(await jq.json()).toMatchObject({ code: 10020, data: { error: "error-014", detail: expect.stringContaining("TLIM_API_SECRET_IN_QUERY=0") } });
    const jh = await fetch(`http://127.0.0.1:${tlim.jimPort}/api/user/online?userid=${nobody}`, { headers: AUTH });
    expect(await jh.json()).toMatchObject({ code: 10001 });
  });

  it("CORS: a listed Origin is echoed with Vary: Origin and preflights pass; another origin gets no Access-Control-* header", async () => {
    const listed = await fetch(`${tlim.httpUrl}/plugins/tlim/findSessions?user_id=cr1`, { headers: { ...AUTH, origin: "https://admin.example:8443" } });
    expect(listed.headers.get("access-control-allow-origin")).toBe("https://admin.example:8443");
    expect(listed.headers.get("vary")).toMatch(/Origin/);
    const pre = await fetch(`${tlim.httpUrl}/plugins/tlim/addSession`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(pre.headers.get("access-control-allow-headers")).toBe("Authorization, Content-Type");
    for (const origin of ["https://evil.example", "https://app.example:444", "http://app.example"]) {
      const res = await fetch(`${tlim.httpUrl}/plugins/tlim/findSessions?user_id=cr1`, { headers: { ...AUTH, origin } });
      expect(res.status).toBe(200);
      expect([...res.headers.keys()].filter((k) => k.startsWith("access-control-")), origin).toEqual([]);
      const p = await fetch(`${tlim.httpUrl}/plugins/tlim/addSession`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
      expect(p.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
  });
});
