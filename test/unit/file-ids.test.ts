// The one tlim file id parser (docs/http-api.md "Files", "Credentials").
import { describe, expect, it } from "vitest";
import { signedFileIdOf, TLIM_FILE_ID, tlimFileIdOf } from "../../src/protocol/file-ids.js";

describe("file ids", () => {
  const ID = "0123456789abcdef0123456789abcdef";

  it("TLIM_FILE_ID: exactly 32 lowercase hex digits", () => {
    expect(TLIM_FILE_ID.test(ID)).toBe(true);
    expect(TLIM_FILE_ID.test(ID.toUpperCase())).toBe(false);
    expect(TLIM_FILE_ID.test(`${ID}0`)).toBe(false);
    expect(TLIM_FILE_ID.test(ID.slice(1))).toBe(false);
  });

  it("signedFileIdOf: the id in a /plugins/tlim/file/<id> path ending at ?, # or the end", () => {
    expect(signedFileIdOf(`https://im.example.com/plugins/tlim/file/${ID}?exp=1&sig=x`)).toBe(ID);
    expect(signedFileIdOf(`/plugins/tlim/file/${ID}#frag`)).toBe(ID);
    expect(signedFileIdOf(`/plugins/tlim/file/${ID}`)).toBe(ID);
    expect(signedFileIdOf(`/plugins/tlim/file/${ID}0`)).toBeNull();
    expect(signedFileIdOf(`/plugins/tlim/file/${ID}/x`)).toBeNull();
    expect(signedFileIdOf(ID)).toBeNull();
  });

  it("tlimFileIdOf: a bare id (trimmed), a signed URL or a download URL (fileId= or file_id=)", () => {
    expect(tlimFileIdOf(`  ${ID}\n`)).toBe(ID);
    expect(tlimFileIdOf(`/plugins/tlim/file/${ID}?exp=1&sig=x`)).toBe(ID);
    expect(tlimFileIdOf(`/plugins/tlim/download?file_id=${ID}`)).toBe(ID);
    expect(tlimFileIdOf(`/plugins/tlim/download?fileName=a&fileId=${ID}#x`)).toBe(ID);
    expect(tlimFileIdOf(`/plugins/tlim/download?fileId=${ID}0`)).toBeNull();
    expect(tlimFileIdOf("")).toBeNull();
  });
});
