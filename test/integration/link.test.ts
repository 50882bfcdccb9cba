// The component survives its server: a half-open link (server frozen, socket still open) is
// detected by the ping watchdog, and the backoff reconnects once the server answers again.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { createDb, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { sleep } from "../support/tlim-stanzas.js";

describe(onServer("XMPP link watchdog"), () => {
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  let frozen: number | null = null;

  beforeAll(async () => {
    prosody = await startXmppServer();
    db = await createDb("sqlite", "link");
    tlim = await startTestTlim(prosody, db.url, { xmppPingIntervalS: 1, xmppPingTimeoutS: 1 });
  });

  afterAll(async () => {
    if (frozen) process.kill(frozen, "SIGCONT");
    await tlim?.stop();
    await prosody?.stop();
    await db?.drop();
  });

  it("tears down a half-open link when pings go unanswered, then reconnects", async () => {
    const pid = Number(readFileSync(prosody.pidFile, "utf8").trim());
    const states: string[] = [];
    tlim.xmpp.link.onOffline(() => states.push("offline"));
    tlim.xmpp.link.onOnline(() => states.push("online"));
    process.kill(pid, "SIGSTOP"); // the TCP connection stays open; nothing answers
    frozen = pid;
    const until = Date.now() + 8000;
    while (!states.includes("offline") && Date.now() < until) await sleep(100);
    expect(states).toContain("offline");
    expect(tlim.xmpp.link.isOnline()).toBe(false);
    const health = await fetch(`${tlim.httpUrl}/healthz`);
    expect(health.status).toBe(503);

    process.kill(pid, "SIGCONT");
    frozen = null;
    await tlim.online(15000);
    expect(states[states.length - 1]).toBe("online");
  });
});
