// The file service under /plugins/tlim/ (docs/http-api.md "Files") over real HTTP and a real database (SQLite and
// MariaDB): the four upload variants, download by id, the size limit, path traversal, and a file
// sent in an MTT-001 body through Prosody that the recipient downloads.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { API_SECRET, DB_KINDS, type TestTlim } from "../support/tlim.js";
import { envelope, envelopeOf, isMessageWithId } from "../support/tlim-stanzas.js";
import { sendStored } from "./http-support.js";
import { onServer } from "../support/xmpp-server.js";

const MAX_BYTES = 4096;
const AUTH = { authorization: `Bearer ${API_SECRET}` };

describe.each(DB_KINDS)(onServer("HTTP file endpoints on %s"), (kind) => {
  const fileDir = mkdtempSync(join(tmpdir(), `tlim-files-${kind}-`));
  const f = useTlim(kind, { prefix: "hf", users: 4, overrides: { fileDir: join(fileDir, "not-yet-there"), maxUploadBytes: MAX_BYTES } });
  let tlim: TestTlim;
  let C = "";
  beforeAll(() => {
    ({ tlim, C } = f);
  });
  afterAll(() => rmSync(fileDir, { recursive: true, force: true }));

  const upload = async (variant: string, bytes: Uint8Array | string, name: string, type: string, extra: Record<string, string> = {}, part = "mFile") => {
    const form = new FormData();
    for (const [k, v] of Object.entries(extra)) form.append(k, v);
    form.append(part, new Blob([bytes], { type }), name);
    return fetch(`${tlim.httpUrl}/plugins/tlim/${variant}`, { method: "POST", headers: AUTH, body: form });
  };
  const download = (query: string) => fetch(`${tlim.httpUrl}/plugins/tlim/download?${query}`, { headers: AUTH });
  const stored = () => readdirSync(join(fileDir, "not-yet-there"));

  it("uploads in the four shapes of the original and downloads by file id, with the content type recorded", async () => {
    const pdf = new TextEncoder().encode("%PDF-1.4 fake ✓");
    const res = await upload("uploadForFileId", pdf, "报告 1.pdf", "application/pdf", { user_id: "hf1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const fileId = await res.text();
    expect(fileId).toMatch(/^[0-9a-f]{32}$/);
    expect(stored()).toContain(fileId);

    const got = await download(`fileId=${fileId}`);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/pdf");
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");
    expect(got.headers.get("content-disposition")).toBe(`attachment; filename="__ 1.pdf"; filename*=UTF-8''${encodeURIComponent("报告 1.pdf")}`);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(pdf);
    expect(await tlim.store.fileGet(fileId)).toMatchObject({ fileName: "报告 1.pdf", contentType: "application/pdf", size: pdf.length, userId: "hf1" });

    const json = (await (await upload("uploadForJsonFileId", "hello", "a.txt", "text/plain")).json()) as { fileId: string; fileUrl: string };
    expect(json).toEqual({
      result: "ok", result_detail: "", fileId: expect.stringMatching(/^[0-9a-f]{32}$/),
      fileUrl: expect.stringMatching(/^\/plugins\/tlim\/file\/[0-9a-f]{32}\?exp=\d+&sig=[\w-]{43}$/), fileUrlExpires: expect.any(Number),
    });
    expect(json.fileUrl).toContain(json.fileId);
    // The signed URL needs no API secret.
    expect(await (await fetch(`${tlim.httpUrl}${json.fileUrl}`)).text()).toBe("hello");

    const url = await (await upload("uploadForUrl", "img", "pic 1.png", "image/png", {}, "file")).text();
    expect(url).toMatch(/^\/plugins\/tlim\/download\?fileId=[0-9a-f]{32}&fileName=pic%201\.png$/);
    const viaUrl = await fetch(`${tlim.httpUrl}${url}`, { headers: AUTH });
    expect(await viaUrl.text()).toBe("img");
    expect(viaUrl.headers.get("content-type")).toBe("image/png");
    expect(viaUrl.headers.get("content-disposition")).toMatch(/^inline; filename="pic 1.png"/);

    const jsonUrl = (await (await upload("uploadForJsonUrl", "x", "x.bin", "")).json()) as { url: string };
    const [, id] = /^\/plugins\/tlim\/download\?fileId=([0-9a-f]{32})&fileName=x\.bin$/.exec(jsonUrl.url) ?? [];
    expect(id).toBeDefined();
    // fileName names the download; a path in it is dropped.
    const bin = await download(`fileId=${id}&fileName=${encodeURIComponent("../../renamed.bin")}`);
    expect(bin.headers.get("content-type")).toBe("application/octet-stream");
    expect(bin.headers.get("content-disposition")).toMatch(/^attachment; filename="renamed.bin"/);
  });

  it("refuses files over TLIM_MAX_UPLOAD_BYTES (413, nothing kept) and uploads that are not multipart", async () => {
    const before = stored().length;
    const big = await upload("uploadForFileId", new Uint8Array(MAX_BYTES + 1), "big.bin", "application/octet-stream");
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ result: "error-013", result_detail: `the file is larger than ${MAX_BYTES} bytes (TLIM_MAX_UPLOAD_BYTES)` });
    expect(stored().length).toBe(before);
    expect((await upload("uploadForJsonFileId", new Uint8Array(MAX_BYTES), "fits.bin", "application/octet-stream")).status).toBe(200);

    const get = await fetch(`${tlim.httpUrl}/plugins/tlim/uploadForFileId`, { headers: AUTH });
    expect(get.status).toBe(400);
    expect(((await get.json()) as any).result_detail).toContain("multipart/form-data POST");
    const noFile = new FormData();
    noFile.append("user_id", "hf1");
    const empty = await fetch(`${tlim.httpUrl}/plugins/tlim/uploadForFileId`, { method: "POST", headers: AUTH, body: noFile });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as any).result).toBe("error-016");
    const broken = await fetch(`${tlim.httpUrl}/plugins/tlim/uploadForFileId`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "multipart/form-data; boundary=xyz" },
      body: "--xyz\r\nContent-Disposition: form-data; name=\"mFile\"; filename=\"a\"\r\n\r\nunterminated",
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as any).result).toBe("error-016");
    const unauthorized = await fetch(`${tlim.httpUrl}/plugins/tlim/uploadForFileId`, { method: "POST", body: new FormData() });
    expect(unauthorized.status).toBe(401);
    expect(stored().length).toBe(before + 1);
  });

  it("downloads nothing but tlim's own file ids: unknown ids and path tricks are 404, never a file-system path", async () => {
    for (const id of ["0123456789abcdef0123456789abcdef", "../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "abc%00", ".", "..", "prosody.cfg.lua"]) {
      const res = await download(`fileId=${id}`);
      expect(res.status, id).toBe(404);
      expect(((await res.json()) as any).result, id).toBe("error-018");
    }
    const missing = await download("fileName=x");
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as any).result).toBe("error-016");
    expect((await fetch(`${tlim.httpUrl}/plugins/tlim/download?fileId=x`)).status).toBe(401);
  });

  it("a file sent by fileId in an MTT-001 body is downloadable by the recipient; HTML is never served inline", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const [alice, bob] = [await f.login(a), await f.login(b)];
    await f.settle();
    const html = "<script>alert(1)</script>";
    const fileId = await (await upload("uploadForFileId", html, "page.html", "text/html", { user_id: a })).text();
    const msg = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-001", body: [{ fileId }] });
    await sendStored(alice, `${b}@${C}`, msg);
    const received = envelopeOf(await bob.waitFor(isMessageWithId(msg.msg_id)));
    const res = await download(`fileId=${received.body[0].fileId}`);
    expect(await res.text()).toBe(html);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment;/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
