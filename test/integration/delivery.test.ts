// At least once per device, never lost by a restart (docs/reliability.md): a slow device and a
// server restart, a client whose connection dies with pushes in flight, a device that acknowledged
// never getting a message again, a plain client after a tlim restart (nothing twice, no headline),
// and the link coming back knowing who is online. Real XMPP server, real SQLite and MariaDB.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { envelope, envelopeOf, isMessageWithId, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { connectClient, xml, type Element, type TestClient } from "../support/xmpp-client.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";

const PASSWORD = "pw";

/** Every tlim message a client received, by msg_id (several when it got one twice). */
function countsById(c: TestClient): Map<string, Element[]> {
  const out = new Map<string, Element[]>();
  for (const el of c.messages()) {
    if (el.attrs.type === "error") continue;
    const id = envelopeOf(el)?.msg_id;
    if (typeof id === "string") out.set(id, [...(out.get(id) ?? []), el]);
  }
  return out;
}

/** Sends XEP-0184 receipts for every tlim message the client receives from now on. */
function autoAck(c: TestClient): void {
  c.xmpp.on("stanza", (el: Element) => {
    if (!el.is("message") || el.attrs.type === "error" || !el.getChild("request", "urn:xmpp:receipts")) return;
    c.send(xml("message", { to: el.attrs.from }, xml("received", { xmlns: "urn:xmpp:receipts", id: el.attrs.id }))).catch(() => {});
  });
}

/** The client's TCP socket: pausing it makes a device that does not read (a slow network). */
function socketOf(c: TestClient): import("node:net").Socket {
  return (c.xmpp as unknown as { socket: import("node:net").Socket }).socket;
}

describe.each(DB_KINDS)(onServer("delivery guarantees on %s"), (kind) => {
  let server: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  const users = Array.from({ length: 40 }, (_, i) => `dv${i + 1}`);
  let next = 0;
  const fresh = () => users[next++]!;
  const clients: TestClient[] = [];

  const connect = async (user: string, resource: string, presenceToC = true) => {
    const c = await connectClient(server, user, PASSWORD, resource);
    clients.push(c);
    if (presenceToC) await c.sendPresenceTo(server.componentDomain);
    return c;
  };
  /** Sends n 1:1 messages and waits for every receipt (all stored). */
  /**
   * Sends n 1:1 messages and waits until every one has a receipt (stored). Like a real client, it
   * sends again, with the same msg_id, what got no receipt in time (a receipt can be lost when the
   * link between the server and tlim drops just then; the resend is a duplicate, acknowledged again).
   */
  const sendMany = async (from: TestClient, sender: string, to: string, n: number, tag: string) => {
    const envs = Array.from({ length: n }, (_, i) => envelope({ msg_from: sender, msg_to: to, msg_type: "MTT-000", body: [{ text: `${tag} ${i}` }] }));
    const acked = new Set<string>();
    const byStanza = new Map<string, string>();
    const onStanza = (el: Element) => {
      const id = el.getChild("received", "urn:xmpp:receipts")?.attrs.id as string | undefined;
      const msgId = id && byStanza.get(id);
      if (msgId) acked.add(msgId);
    };
    from.xmpp.on("stanza", onStanza);
    try {
      for (let round = 0; round < 4 && acked.size < n; round++) {
        for (const e of envs) {
          if (acked.has(e.msg_id)) continue;
          const s = tlimMessage(`${to}@${server.componentDomain}`, e);
          byStanza.set(s.attrs.id as string, e.msg_id);
          await from.send(s);
        }
        const until = Date.now() + (round === 0 ? 20_000 : 5_000);
        while (acked.size < n && Date.now() < until) await sleep(50);
      }
    } finally {
      from.xmpp.off("stanza", onStanza);
    }
    expect(acked.size, `${tag}: messages with a receipt`).toBe(n);
    return envs.map((e) => e.msg_id);
  };

  beforeAll(async () => {
    server = await startXmppServer({ users: users.map((u) => [u, PASSWORD] as [string, string]) });
    db = await createDb(kind, "delivery");
    // No per-user rate limit here: these tests send bursts of a thousand messages on purpose.
    tlim = await startTestTlim(server, db.url, { userRate: 0, userInFlightMax: 100_000 });
  }, 60_000);

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.stop();
  });

  afterAll(async () => {
    await tlim?.stop();
    await server?.stop();
    await db?.drop();
  });

  it("a slow device that had 1,200 messages pushed gets every one after the server restarts", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await connect(a, "a1");
    const bob = await connect(b, "slow");
    await sleep(200);
    bob.xmpp.reconnect.stop(); // this device does not come back by itself; a new client does
    socketOf(bob).pause(); // reads nothing from now on: everything tlim sends waits in the server
    const ids = await sendMany(alice, a, b, 1200, "slow");
    await sleep(300);
    const back = tlim.nextOnline(20_000);
    await server.restart();
    await back;
    await bob.stop();
    const again = await connect(b, "slow");
    const wanted = new Set(ids);
    await again.waitForCount((el) => wanted.has(envelopeOf(el)?.msg_id), 1200, 30_000);
    const got = countsById(again);
    expect(ids.filter((id) => !got.has(id))).toEqual([]);
  }, 90_000);

  it("a device that acknowledged never gets those messages again, even after a server restart", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await connect(a, "a1");
    const bob = await connect(b, "acker");
    bob.xmpp.reconnect.stop();
    autoAck(bob);
    await sleep(200);
    const ids = await sendMany(alice, a, b, 100, "acked");
    await bob.waitForCount((el) => ids.includes(envelopeOf(el)?.msg_id), 100, 15_000);
    await sleep(1500); // the receipts reach tlim, the cursor book flushes
    const back = tlim.nextOnline(20_000);
    await server.restart();
    await back;
    await bob.stop();
    const again = await connect(b, "acker");
    const alice2 = await connect(a, "a2");
    const [later] = await sendMany(alice2, a, b, 1, "later");
    await again.waitFor(isMessageWithId(later!), 10_000);
    expect([...countsById(again).keys()].filter((id) => ids.includes(id))).toEqual([]);
  }, 90_000);

  it("a client whose connection dies with pushes in flight gets them at its next login", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await connect(a, "a1");
    const bob = await connect(b, "phone");
    await sleep(200);
    bob.xmpp.reconnect.stop(); // this device does not come back by itself; a new client does
    socketOf(bob).pause();
    const ids = await sendMany(alice, a, b, 50, "inflight");
    await sleep(300);
    socketOf(bob).destroy(); // the network drops: the server sees the connection close
    await sleep(500);
    const again = await connect(b, "phone");
    await again.waitForCount((el) => ids.includes(envelopeOf(el)?.msg_id), 50, 15_000);
  }, 60_000);

  it("a device that never reads does not lose messages, and a reader does not get its whole backlog at every login", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await connect(a, "a1");
    const ids = await sendMany(alice, a, b, 30, "backlog");
    const first = await connect(b, "laptop"); // answers pings, sends no receipts
    await first.waitForCount((el) => ids.includes(envelopeOf(el)?.msg_id), 30, 10_000);
    await sleep(300);
    await first.stop();
    const second = await connect(b, "laptop");
    const [later] = await sendMany(alice, a, b, 1, "later");
    await second.waitFor(isMessageWithId(later!), 10_000);
    expect([...countsById(second).keys()].filter((id) => ids.includes(id))).toEqual([]);
  }, 60_000);

  describe("across a tlim restart", () => {
    it("a plain client that stayed online gets new messages once, as chat, without logging in again; nothing twice after its next presence", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await connect(a, "a1");
      const bob = await connect(b, "plain"); // sends no receipts, answers pings
      await sleep(200);
      const [before] = await sendMany(alice, a, b, 1, "before");
      await bob.waitFor(isMessageWithId(before!), 5000);
      await sleep(300);

      await tlim.stop();
      tlim = await startTestTlim(server, db.url, { userRate: 0, userInFlightMax: 100_000 });
      // alice and bob stayed connected to the server; neither says anything to tlim.
      await sleep(500);
      const after = await sendMany(alice, a, b, 3, "after");
      await bob.waitForCount((el) => after.includes(envelopeOf(el)?.msg_id), 3, 10_000);

      await bob.sendPresenceTo(server.componentDomain); // a presence again: must not replay anything
      await sleep(800);
      const got = countsById(bob);
      for (const id of [before!, ...after]) {
        expect(got.get(id)?.length, id).toBe(1);
        expect(got.get(id)![0]!.attrs.type).toBe("chat");
      }
    }, 60_000);
  });
});
