// The one API secret check behind the HTTP API, the J-IM HTTP API and /metrics (docs/architecture.md
// "The APIs are closed without a secret"), each outcome.
import { describe, expect, it } from "vitest";
import { checkSecret } from "../../src/transports/http/conventions.js";

const S = "s3cret";
const query = { inQuery: true };
const header = { inQuery: false };

describe("checkSecret", () => {
  it("null (TLIM_API_AUTH=none) lets everything in, whatever was sent", () => {
    expect(checkSecret(null, undefined, undefined, query)).toBe("ok");
    expect(checkSecret(null, "Bearer nope", "nope", header)).toBe("ok");
  });

  it("an empty configured secret is closed, even for an empty bearer or a secret= that is refused", () => {
    expect(checkSecret("", undefined, undefined, query)).toBe("closed");
    expect(checkSecret("", "Bearer ", "", query)).toBe("closed");
    expect(checkSecret("", undefined, "x", header)).toBe("closed");
  });

  it("the right secret as a bearer token (scheme in any case, token trimmed) or as secret=", () => {
    expect(checkSecret(S, `Bearer ${S}`, undefined, query)).toBe("ok");
    expect(checkSecret(S, `bEaReR   ${S}  `, undefined, header)).toBe("ok");
    expect(checkSecret(S, undefined, S, query)).toBe("ok");
    // The header wins over secret= when both come.
    expect(checkSecret(S, `Bearer ${S}`, "wrong", query)).toBe("ok");
    expect(checkSecret(S, "Bearer wrong", S, query)).toBe("wrong");
  });

  it("missing: nothing usable sent (no header, another scheme, an empty token or secret=)", () => {
    expect(checkSecret(S, undefined, undefined, query)).toBe("missing");
    expect(checkSecret(S, undefined, undefined, header)).toBe("missing");
    expect(checkSecret(S, "Bearer  ", undefined, query)).toBe("missing");
    expect(checkSecret(S, `Basic ${S}`, undefined, query)).toBe("missing");
    expect(checkSecret(S, "", "", query)).toBe("missing");
  });

  it("wrong: a secret that differs, shorter, longer or same length", () => {
    expect(checkSecret(S, "Bearer s3cre", undefined, query)).toBe("wrong");
    expect(checkSecret(S, "Bearer s3crets", undefined, query)).toBe("wrong");
    expect(checkSecret(S, "Bearer S3CRET", undefined, query)).toBe("wrong");
    expect(checkSecret(S, undefined, "s3creT", query)).toBe("wrong");
  });

  it("query-refused (TLIM_API_SECRET_IN_QUERY=0): any secret= without a bearer header, the right one too; the header still works", () => {
    expect(checkSecret(S, undefined, S, header)).toBe("query-refused");
    expect(checkSecret(S, undefined, "", header)).toBe("query-refused");
    expect(checkSecret(S, `Basic ${S}`, S, header)).toBe("query-refused");
    expect(checkSecret(S, `Bearer ${S}`, S, header)).toBe("ok");
    expect(checkSecret(S, "Bearer wrong", S, header)).toBe("wrong");
  });

  it("a multi-byte secret compares by its bytes", () => {
    expect(checkSecret("clé-🔑", "Bearer clé-🔑", undefined, query)).toBe("ok");
    expect(checkSecret("clé-🔑", "Bearer cle-🔑", undefined, query)).toBe("wrong");
  });
});
