// Log format (TLIM_LOG_FORMAT: JSON lines, pino-pretty lines, or pretty only on a terminal) and
// request ids on every log line of an HTTP API request (docs/configuration.md "Logs").
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImCore } from "../../src/core/im.js";
import { createLogger, resolveLogFormat, type LogFormat } from "../../src/log.js";
import { createHttpApp } from "../../src/transports/http/app.js";

function capture(format?: LogFormat, isTty?: boolean) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split("\n").filter((l) => l !== ""));
      done();
    },
  });
  return { log: createLogger("debug", { format, destination: stream, isTty }), lines };
}

describe("log format", () => {
  it("auto is pretty on a terminal and JSON anywhere else; json and pretty are what they say", () => {
    expect(resolveLogFormat("auto", true)).toBe("pretty");
    expect(resolveLogFormat("auto", false)).toBe("json");
    expect(resolveLogFormat("json", true)).toBe("json");
    expect(resolveLogFormat("pretty", false)).toBe("pretty");
  });

  it("json: one JSON object per line with level, time, msg and the fields", () => {
    const { log, lines } = capture("json");
    log.info({ msg_id: "m-1" }, "message committed");
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]!);
    expect(o).toMatchObject({ level: 30, svc: "tlim", msg: "message committed", msg_id: "m-1" });
    expect(typeof o.time).toBe("number");
  });

  it("pretty: a readable line (time, level name, message, then the fields), not JSON, secrets still redacted", () => {
    const { log, lines } = capture("pretty");
    log.warn({ msg_id: "m-2", secret: "hunter2" }, "push bounced");
    const text = lines.join("\n");
    expect(() => JSON.parse(lines[0]!)).toThrow();
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: push bounced$/);
    expect(text).toContain('msg_id: "m-2"');
    expect(text).toContain("[redacted]");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("\u001b["); // not a terminal here: no colours
  });

  it("auto follows the terminal", () => {
    const tty = capture("auto", true);
    tty.log.info("x");
    expect(tty.lines[0]).toMatch(/INFO: x$/);
    const pipe = capture("auto", false);
    pipe.log.info("x");
    expect(JSON.parse(pipe.lines[0]!).msg).toBe("x");
  });
});

describe("HTTP request ids", () => {
  const { log, lines } = capture("json");
  let server: Server;
  let base = "";
  const stub = {
    messaging: {
      business: async () => {
        throw new Error("the database went away");
      },
    },
  } as unknown as ImCore;

  beforeAll(async () => {
    const app = createHttpApp({
      core: stub,
      apiSecret: "s3cret",
      files: { dir: "/nonexistent", maxBytes: 1 },
      health: async () => ({ xmpp: "online", database: "up" }),
      log,
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, any>);

  it("keeps the caller's X-Request-Id, echoes it, and logs the request with it (path only, no query, no secret)", async () => {
    lines.length = 0;
    const res = await fetch(`${base}/plugins/tlim/getUser?userId=u1&secret=s3cret`, { headers: { "x-request-id": "trace-42" } });
    expect(res.headers.get("x-request-id")).toBe("trace-42");
    const line = logged().find((l) => l.msg === "http request");
    expect(line).toMatchObject({ req_id: "trace-42", req: { method: "GET", path: "/plugins/tlim/getUser" }, res: { status: res.status } });
    expect(typeof line!.responseTime).toBe("number");
    expect(lines.join("\n")).not.toContain("s3cret");
  });

  it("makes up an id when there is none, or when the given one is not a plain short token", async () => {
    lines.length = 0;
    const a = await fetch(`${base}/healthz`);
    const b = await fetch(`${base}/healthz`, { headers: { "x-request-id": "bad id\twith spaces" } });
    const ids = [a.headers.get("x-request-id"), b.headers.get("x-request-id")];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
    // Probes log at debug, with their id too.
    expect(logged().filter((l) => l.msg === "http request").map((l) => [l.level, l.req_id])).toEqual([[20, ids[0]], [20, ids[1]]]);
  });

  it("every line of a failing request carries its id: the error and the completion line", async () => {
    lines.length = 0;
    const res = await fetch(`${base}/plugins/tlim/systemMessage`, {
      method: "POST",
      headers: { authorization: "Bearer s3cret", "content-type": "application/x-www-form-urlencoded", "x-request-id": "req-500" },
      body: new URLSearchParams({ msgTo: "u1", params: "[{}]" }),
    });
    expect(res.status).toBe(500);
    const mine = logged();
    expect(mine.map((l) => l.msg)).toEqual(["http request failed", "http request"]);
    for (const l of mine) expect(l.req_id).toBe("req-500");
    expect(mine[0]!.err.message).toBe("the database went away");
    expect(mine.every((l) => l.level === 50)).toBe(true);
    expect(lines.join("\n")).not.toContain("s3cret");
  });
});
