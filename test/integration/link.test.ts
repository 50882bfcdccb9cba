// The component survives its server: a half-open link (server frozen, socket still open) is
// detected by the ping watchdog, and the backoff reconnects once the server answers again. And
// while tlim is away, what a client sending to it gets back (each server says it its own way).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";
import { createDb, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { sleep } from "../support/tlim-stanzas.js";
import { connectClient, xml } from "../support/xmpp-client.js";

describe(onServer("XMPP link watchdog"), () => {
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  let frozen: number | null = null;

  beforeAll(async () => {
    prosody = await startXmppServer({ users: [["lk1", "pw"]] });
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

  it("while tlim is away, a message to its domain bounces at once: Prosody wait/remote-server-timeout, ejabberd cancel/remote-server-not-found", async () => {
    const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
    const c = await connectClient(prosody, "lk1", "pw");
    await tlim.stop();
    try {
      await c.send(xml("message", { to: `someone@${prosody.componentDomain}`, type: "chat", id: "while-away" }, xml("body", {}, "{}")));
      const bounce = await c.waitFor((el) => el.is("message") && el.attrs.type === "error" && el.attrs.id === "while-away", 5000);
      const error = bounce.getChild("error")!;
      if (prosody.kind === "prosody") {
        // Prosody knows the component (its Component block) and says it is not connected: try later.
        expect(error.attrs.type).toBe("wait");
        expect(error.getChild("remote-server-timeout", NS_STANZAS)).toBeDefined();
      } else {
        // ejabberd 23.01 has no route for a domain whose component is gone and treats it as a
        // remote server it cannot find: a permanent error for this message.
        expect(error.attrs.type).toBe("cancel");
        expect(error.getChild("remote-server-not-found", NS_STANZAS)).toBeDefined();
      }
    } finally {
      await c.stop();
      tlim = await startTestTlim(prosody, db.url, { xmppPingIntervalS: 1, xmppPingTimeoutS: 1 });
    }
  });
});
