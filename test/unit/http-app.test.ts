// The HTTP app over a stub core (no database, no XMPP): the wait errors error-020/021 become
// HTTP 429/503 with Retry-After (docs/http-api.md "Wait statuses"), and ids are checked and
// folded before the core sees them (docs/http-api.md "Identifiers"). The integration tests
// (test/integration/http*.test.ts) prove the same ids end to end without any double.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImCore } from "../../src/core/im.js";
import { ImError } from "../../src/protocol/errors.js";
import { createHttpApp } from "../../src/transports/http/app.js";

type Call = [string, ...unknown[]];

describe("the HTTP app over a stub core", () => {
  const calls: Call[] = [];
  /** What the next message-writing call throws (null: it succeeds). */
  let refusal: ImError | null = null;
  const stored = { msgId: "m1", msgType: "MTB-000", msgTime: "1", msgFrom: "admin" };
  const write = (name: string) => async (...args: unknown[]) => {
    calls.push([name, ...args]);
    if (refusal) throw refusal;
    return stored;
  };
  const stub = {
    messaging: {
      business: write("business"),
      revoke: async (...args: unknown[]) => ({ target: await write("revokeMessage")(...args), notice: null }),
      offline: async (...args: unknown[]) => (calls.push(["offline", ...args]), []),
    },
    sessions: { dissolve: write("dissolveSession") },
    cursors: { all: async () => ({}) },
  } as unknown as ImCore;

  let server: Server;
  let base = "";
  beforeAll(async () => {
    const app = createHttpApp({
      core: stub,
      apiSecret: null,
      files: { dir: "/nonexistent", maxBytes: 1 },
      health: async () => ({ xmpp: "online", database: "up" }),
      log: pino({ level: "silent" }),
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/plugins/tlim`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const call = (name: string, params: Record<string, string>) => fetch(`${base}/${name}?${new URLSearchParams(params)}`);
  const json = async (res: Response): Promise<any> => res.json();

  const WRITERS: Array<[string, Record<string, string>]> = [
    ["approval", { msgTo: "u1", params: "[{}]" }],
    ["approvalBack", { msgTo: "u1", params: "[{}]" }],
    ["systemMessage", { msgTo: "u1", params: "[{}]" }],
    ["revokeMessage", { msg_id: "m1" }],
    ["dissolved", { session_id: "s1" }],
  ];

  it.each([
    ["rateLimited", ImError.rateLimited("u1 is sending too fast"), 429, "error-020"],
    ["overloaded", ImError.overloaded("the write queue is full"), 503, "error-021"],
  ] as const)("%s: HTTP %i, Retry-After and the usual body on every endpoint that writes a message", async (_kind, err, status, code) => {
    refusal = err;
    try {
      for (const [name, params] of WRITERS) {
        const res = await call(name, params);
        expect(res.status, name).toBe(status);
        expect(res.headers.get("retry-after"), name).toBe("1");
        expect(res.headers.get("content-type"), name).toBe("application/json; charset=utf-8");
        expect(await json(res), name).toEqual({ result: code, result_detail: err.message });
      }
    } finally {
      refusal = null;
    }
  });

  it("other refusals keep the 200-with-a-code convention and no Retry-After", async () => {
    refusal = ImError.internal();
    try {
      const res = await call("approval", { msgTo: "u1", params: "[{}]" });
      expect(res.status).toBe(200);
      expect(res.headers.get("retry-after")).toBeNull();
      expect((await json(res)).result).toBe("error-500");
    } finally {
      refusal = null;
    }
    const ok = await call("approval", { msgTo: "u1", params: "[{}]" });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("retry-after")).toBeNull();
  });

  it("ids reach the core validated and folded; a hostile one never reaches it", async () => {
    calls.length = 0;
    expect((await json(await call("approval", { msgTo: " Bob ", params: "[{}]" }))).result).toBe("ok");
    expect((await json(await call("getOffline", { user_id: "ÀLICE", msg_id: "Ab-1" }))).result).toBe("ok");
    expect(calls).toEqual([
      ["business", "MTB-000", "bob", "[{}]"],
      ["offline", "àlice", "http", "Ab-1", true, 1000],
    ]);
    calls.length = 0;
    for (const [name, params, code] of [
      ["approval", { msgTo: "bo\u0001b", params: "[{}]" }, "error-008"],
      ["approval", { msgTo: "a@b", params: "[{}]" }, "error-008"],
      ["getOffline", { user_id: "a b" }, "error-008"],
      ["getOffline", { user_id: "u1", msg_id: "m\u0000" }, "error-016"],
      ["revokeMessage", { msg_id: "x".repeat(65) }, "error-000"],
      ["revokeMessage", { msg_id: "m1", msg_from: "a/b" }, "error-016"],
      ["dissolved", { session_id: "s<1>" }, "error-007"],
    ] as const) {
      const body = await json(await call(name, params));
      expect(body.result, `${name} ${JSON.stringify(params)}`).toBe(code);
      // The detail names the parameter and the rule, never the value.
      expect(body.result_detail).toMatch(/^(msgTo|user_id|msg_id|msg_from|session_id) /);
      for (const v of Object.values(params)) if (v.length > 2 && v !== "[{}]" && v !== "u1" && v !== "m1") expect(body.result_detail).not.toContain(v);
    }
    expect(calls).toEqual([]);
  });
});
