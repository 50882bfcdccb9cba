// Signed file URLs (docs/http-api.md "Credentials"): the signature covers the file id and the
// expiry, is checked in constant time, and every refusal says why; the key comes from
// TLIM_FILE_URL_SECRET, else HKDF of the API secret, else is random per start. CORS and
// TLIM_API_SECRET_IN_QUERY over the real express app on a stub core (no database).
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImCore } from "../../src/core/im.js";
import { chatToEnvelope, messageToJim } from "../../src/protocol/jim-mapping.js";
import { createHttpApp } from "../../src/transports/http/app.js";
import { FileUrlSigner, tlimFileIdOf } from "../../src/transports/http/file-urls.js";

const ID = "0123456789abcdef0123456789abcdef";
const NOW = 1_700_000_000_000;

describe("FileUrlSigner", () => {
  const signer = new FileUrlSigner({ secret: "", apiSecret: "api-secret", ttlS: 600 });
  const parts = (url: string) => {
    const u = new URL(url, "http://x");
    return { id: u.pathname.split("/").pop()!, exp: u.searchParams.get("exp") ?? undefined, sig: u.searchParams.get("sig") ?? undefined };
  };

  it("signs /plugins/tlim/file/<id>?exp=<now+ttl>&sig=<43 base64url chars> and accepts it until exp", () => {
    const url = signer.url(ID, NOW);
    expect(url).toMatch(new RegExp(`^/plugins/tlim/file/${ID}\\?exp=${NOW / 1000 + 600}&sig=[A-Za-z0-9_-]{43}$`));
    const p = parts(url);
    expect(signer.verify(p.id, p.exp, p.sig, NOW)).toEqual({ ok: true });
    expect(signer.verify(p.id, p.exp, p.sig, NOW + 600_000)).toEqual({ ok: true });
    expect(signer.verify(p.id, p.exp, p.sig, NOW + 601_000)).toEqual({ ok: false, reason: expect.stringMatching(/^the file URL expired at 2023-11-14T22:23:20\.000Z/) });
  });

  it("gives the same URL for one file within a second and a fresh one with the next second's expiry", () => {
    const t = 1_800_000_000_000;
    const a = signer.url("0123456789abcdef0123456789abcdef", t);
    expect(signer.url("0123456789abcdef0123456789abcdef", t + 999)).toBe(a);
    const other = signer.url("fedcba9876543210fedcba9876543210", t);
    expect(other).not.toBe(a);
    const next = signer.url("0123456789abcdef0123456789abcdef", t + 1000);
    expect(next).not.toBe(a);
    for (const [u, now] of [[a, t], [other, t], [next, t + 1000]] as const) {
      const p = parts(u);
      expect(signer.verify(p.id, p.exp, p.sig, now)).toEqual({ ok: true });
    }
  });

  it("refuses another file id, a moved expiry, an altered or malformed signature, and missing parts, each with its reason", () => {
    const p = parts(signer.url(ID, NOW));
    const wrong = { ok: false, reason: expect.stringContaining("signature is wrong") };
    expect(signer.verify(ID.replace("0", "1"), p.exp, p.sig, NOW)).toEqual(wrong);
    expect(signer.verify(p.id, String(Number(p.exp) + 3600), p.sig, NOW)).toEqual(wrong);
    const flipped = (p.sig![0] === "A" ? "B" : "A") + p.sig!.slice(1);
    expect(signer.verify(p.id, p.exp, flipped, NOW)).toEqual(wrong);
    expect(signer.verify(p.id, p.exp, p.sig!.slice(1), NOW)).toEqual(wrong);
    expect(signer.verify(p.id, p.exp, `${p.sig!.slice(1)}*`, NOW)).toEqual(wrong);
    expect(signer.verify(p.id, "soon", p.sig, NOW)).toEqual({ ok: false, reason: "exp must be a Unix time in seconds" });
    expect(signer.verify(p.id, undefined, p.sig, NOW)).toEqual({ ok: false, reason: expect.stringContaining("needs exp= and sig=") });
    expect(signer.verify(p.id, p.exp, undefined, NOW)).toEqual({ ok: false, reason: expect.stringContaining("needs exp= and sig=") });
  });

  it("derives its key from the API secret (stable across instances), prefers TLIM_FILE_URL_SECRET, else a random key per start", () => {
    const again = new FileUrlSigner({ secret: "", apiSecret: "api-secret", ttlS: 600 });
    expect(again.keySource).toBe("TLIM_API_SECRET");
    expect(again.url(ID, NOW)).toBe(signer.url(ID, NOW));
    const own = new FileUrlSigner({ secret: "file-key", apiSecret: "api-secret", ttlS: 600 });
    expect(own.keySource).toBe("TLIM_FILE_URL_SECRET");
    const p = parts(signer.url(ID, NOW));
    expect(own.verify(p.id, p.exp, p.sig, NOW).ok).toBe(false);
    // The derived key is not the API secret itself: an HMAC with the API secret does not verify.
    const withApiSecret = new FileUrlSigner({ secret: "api-secret", apiSecret: "", ttlS: 600 });
    expect(withApiSecret.url(ID, NOW)).not.toBe(signer.url(ID, NOW));
    const r1 = new FileUrlSigner({ secret: "", apiSecret: "", ttlS: 600 });
    const r2 = new FileUrlSigner({ secret: "", apiSecret: "", ttlS: 600 });
    expect(r1.keySource).toBe("random");
    expect(r1.url(ID, NOW)).not.toBe(r2.url(ID, NOW));
    expect(new FileUrlSigner({ secret: "k", apiSecret: "", ttlS: 60, base: "https://im.example.com" }).url(ID, NOW)).toMatch(/^https:\/\/im\.example\.com\/plugins\/tlim\/file\//);
  });

  it("tlimFileIdOf: a bare id, a signed URL or a /plugins/tlim/download URL name tlim's file; anything else is not tlim's", () => {
    expect(tlimFileIdOf(ID)).toBe(ID);
    expect(tlimFileIdOf(`https://im.example.com/plugins/tlim/file/${ID}?exp=1&sig=x`)).toBe(ID);
    expect(tlimFileIdOf(`/plugins/tlim/download?fileId=${ID}&fileName=a.png`)).toBe(ID);
    expect(tlimFileIdOf(`/plugins/tlim/download?fileName=a.png&fileId=${ID}`)).toBe(ID);
    expect(tlimFileIdOf("https://files.example.com/upload/download?fileId=7c1f&fileName=a.png")).toBeNull();
    expect(tlimFileIdOf("f-42")).toBeNull();
    expect(tlimFileIdOf(`${ID}0`)).toBeNull();
  });

  it("J-IM: a signed URL sent as a file reference is stored as its file id; a file message goes out with a fresh URL", () => {
    const req = { to: "b", chatType: 2, msgType: 1, content: `/plugins/tlim/file/${ID}?exp=1&sig=old` } as never;
    expect(chatToEnvelope(req, "a", 0, "x").body).toEqual([{ fileId: ID }]);
    const m = { msgId: "m1", msgFrom: "a", msgTo: "b", msgType: "MTT-001", msgTime: "1", body: JSON.stringify([{ fileId: ID }]), sessionId: null, createdAt: 1, hidden: false };
    const fileUrl = (ref: string) => { const id = tlimFileIdOf(ref); return id ? signer.url(id, NOW) : ref; };
    const out = messageToJim(m, "v3", { fileUrl });
    expect(out.kind === "chat" && out.chat.content).toBe(signer.url(ID, NOW));
    const external = messageToJim({ ...m, body: JSON.stringify([{ fileId: "f-42", url: "https://files.example.com/a.png" }]) }, "v3", { fileUrl });
    expect(external.kind === "chat" && external.chat.content).toBe("https://files.example.com/a.png");
    const text = messageToJim({ ...m, msgType: "MTT-000", body: JSON.stringify([{ text: ID }]) }, "v3", { fileUrl });
    expect(text.kind === "chat" && text.chat.content).toBe(ID);
  });
});

describe("CORS and TLIM_API_SECRET_IN_QUERY over the HTTP app (stub core)", () => {
  const stub = { messaging: { offline: async () => [] }, cursors: { all: async () => ({}) } } as unknown as ImCore;
  const servers: Server[] = [];
  const serve = async (deps: { corsOrigin?: string; apiSecretInQuery?: boolean }) => {
    const app = createHttpApp({
      core: stub, apiSecret: "s3cret", files: { dir: "/nonexistent", maxBytes: 1 }, ...deps,
      health: async () => ({ xmpp: "online", database: "up" }), log: pino({ level: "silent" }),
    });
    const server = await new Promise<Server>((resolve) => { const s = app.listen(0, "127.0.0.1", () => resolve(s)); });
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/plugins/tlim`;
  };
  let closed = "";
  let listed = "";
  let any = "";
  beforeAll(async () => {
    closed = await serve({});
    listed = await serve({ corsOrigin: "https://app.example,https://admin.example:8443", apiSecretInQuery: false });
    any = await serve({ corsOrigin: "*" });
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });
  const auth = { authorization: "Bearer s3cret" };

  it("by default sends no Access-Control-* header at all, to a request or a preflight", async () => {
    const res = await fetch(`${closed}/getOffline?user_id=u`, { headers: { ...auth, origin: "https://evil.example" } });
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    const pre = await fetch(`${closed}/getOffline`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("with an allow-list echoes a listed Origin with Vary: Origin, and gives nothing to another", async () => {
    for (const origin of ["https://app.example", "https://admin.example:8443"]) {
      const res = await fetch(`${listed}/getOffline?user_id=u`, { headers: { ...auth, origin } });
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("vary")).toMatch(/Origin/);
      const pre = await fetch(`${listed}/addSession`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" } });
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe(origin);
      expect(pre.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
      expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    }
    const other = await fetch(`${listed}/getOffline?user_id=u`, { headers: { ...auth, origin: "https://app.example.evil" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(other.headers.get("vary")).toMatch(/Origin/);
    const star = await fetch(`${any}/getOffline?user_id=u`, { headers: { ...auth, origin: "https://anyone.example" } });
    expect(star.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("TLIM_API_SECRET_IN_QUERY=0 refuses secret= with a reason saying so, even the right one; the header works", async () => {
    const q = await fetch(`${listed}/getOffline?user_id=u&secret=s3cret`);
    expect(q.status).toBe(401);
    expect(await q.json()).toEqual({ result: "error-014", result_detail: expect.stringContaining("TLIM_API_SECRET_IN_QUERY=0") });
    const none = await fetch(`${listed}/getOffline?user_id=u`);
    expect(((await none.json()) as { result_detail: string }).result_detail).toBe("the API secret is missing (Authorization: Bearer …)");
    expect((await fetch(`${listed}/getOffline?user_id=u`, { headers: auth })).status).toBe(200);
    // On by default (the original clients send secret=).
    expect((await fetch(`${closed}/getOffline?user_id=u&secret=s3cret`)).status).toBe(200);
  });
});
