// Message bodies and secrets never reach the log (docs/reliability.md "Logs").
import { Writable } from "node:stream";
import { QueryFailedError } from "typeorm";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger("debug", stream), text: () => lines.join("") };
}

describe("logging", () => {
  it("logs a failed batch without its query parameters (message bodies) or the values a driver quotes", () => {
    const { log, text } = capture();
    const body = '[{"text":"the body nobody may read"}]';
    const driverError = Object.assign(new Error(`Duplicate entry 'alice-m1' for key 'UQ'`), {
      code: "ER_DUP_ENTRY", errno: 1062, sqlMessage: `Duplicate entry 'alice-m1' for key 'UQ'`,
      sql: `INSERT INTO messages VALUES ('chat:a:b', 1, 'm1', 'alice', 'bob', '${body}')`,
    });
    const err = new QueryFailedError("INSERT INTO messages (conv_id, body) VALUES (?, ?)", ["chat:a:b", body], driverError);
    log.error({ err, size: 3 }, "commit failed; nothing of the batch was stored");
    const out = text();
    expect(out).toContain("commit failed");
    expect(out).toContain("ER_DUP_ENTRY");
    expect(out).not.toContain("the body nobody may read");
    expect(out).not.toContain("alice-m1");
  });

  it("redacts body, text and secret fields wherever a caller passes them", () => {
    const { log, text } = capture();
    log.info({ body: "hello body", text: "hello text", password: "pw1", user: { secret: "s3", token: "t0k", name: "ok" } }, "x");
    const out = text();
    for (const s of ["hello body", "hello text", "pw1", "s3", "t0k"]) expect(out).not.toContain(s);
    expect(out).toContain('"name":"ok"');
  });
});
