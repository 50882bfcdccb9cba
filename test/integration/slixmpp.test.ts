// A third-party XMPP client (Debian's python3-slixmpp, no tlim code) next to tlim users: it adds
// a tlim user as a roster contact (nothing else), gets their messages as readable text with the
// envelope in a XEP-0335 container, and its plain <body> reaches them as MTT-000; its own text
// never comes back to it (docs/protocol.md "Plain XMPP clients").
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { envelope, envelopeOf, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { XMPP_SERVER } from "../support/xmpp-server.js";

const SCRIPT = new URL("../support/slixmpp-client.py", import.meta.url).pathname;

interface SlixEvent {
  event: string;
  from?: string;
  type?: string;
  body?: string;
  json?: string | null;
}

/** Runs the slixmpp client to completion; resolves with its events. */
function slixmpp(cfg: Record<string, unknown>): Promise<SlixEvent[]> {
  return new Promise((resolve, reject) => {
    const p = spawn("/usr/bin/python3", [SCRIPT, JSON.stringify(cfg)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("exit", () => {
      const events = out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as SlixEvent);
      if (!events.some((e) => e.event === "online")) reject(new Error(`slixmpp did not come online:\n${err.slice(-2000)}`));
      else resolve(events);
    });
  });
}

describe(`a slixmpp client on ${XMPP_SERVER}`, () => {
  const fx = useTlim("sqlite", { prefix: "slix", users: ["sx-alice", "sx-carol"] });

  it("adds a tlim user as a contact, reads their messages as text, and its own plain text reaches them", async () => {
    const { C, server } = fx;
    const alice = await fx.login("sx-alice", "a1");
    await sleep(200);

    const hello = envelope({ msg_from: "sx-alice", msg_to: "sx-carol", msg_type: "MTT-000", body: [{ text: "hello carol" }] });
    const run = slixmpp({
      jid: `sx-carol@${server.userDomain}/sx`, password: "pw", host: "127.0.0.1", port: server.c2sPort,
      subscribe: [`sx-alice@${C}`],
      send: [{ to: `sx-alice@${C}`, body: "hi alice", after_ms: 1500 }],
      duration_ms: 5000,
    });
    // Once carol's roster contact is set up (tlim approves and asks back; slixmpp accepts), alice writes.
    await sleep(1200);
    await alice.send(tlimMessage(`sx-carol@${C}`, hello));
    const events = await run;

    const got = events.filter((e) => e.event === "message" && e.from === `sx-alice@${C}` && e.json);
    const mine = got.find((e) => JSON.parse(e.json!).msg_id === hello.msg_id);
    expect(mine, JSON.stringify(events)).toBeDefined();
    expect(mine!.body).toBe("hello carol");
    expect(mine!.type).toBe("chat");
    // Its own "hi alice" never comes back to it as if alice had written it.
    expect(events.filter((e) => e.event === "message" && e.body === "hi alice")).toEqual([]);

    const fromCarol = await alice.waitFor((el) => el.is("message") && envelopeOf(el)?.msg_from === "sx-carol", 10_000);
    expect(envelopeOf(fromCarol)).toMatchObject({ msg_type: "MTT-000", msg_to: "sx-alice", body: [{ text: "hi alice" }] });
  }, 60_000);
});
