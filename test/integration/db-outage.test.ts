// The database hangs for 30 s under load (a throwaway mariadbd of this test's own, SIGSTOP):
// every accepted message is kept and delivered afterwards; while the write queue is full senders
// get a wait error (error-021) instead of memory growing; /healthz answers 503 within a second
// instead of hanging, and 200 again at once afterwards (docs/reliability.md "Database outage").
// TLIM_TEST_DB_OUTAGE_S shortens the outage for a quick local run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMariadbd, type MariadbHandle } from "../support/mariadbd.js";
import { startTestTlim, type TestTlim } from "../support/tlim.js";
import { envelope, envelopeOf, isMessageWithId, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { connectClient, type Element, type TestClient } from "../support/xmpp-client.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";

const OUTAGE_S = Number(process.env.TLIM_TEST_DB_OUTAGE_S ?? 30);
const QUEUE_MAX = 50;

describe(onServer("a database that hangs under load"), () => {
  let server: XmppServerHandle;
  let db: MariadbHandle;
  let tlim: TestTlim;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    server = await startXmppServer({ users: [["o1", "pw"], ["o2", "pw"]] });
    db = await startMariadbd();
    tlim = await startTestTlim(server, db.url, { writeQueueMax: QUEUE_MAX, userRate: 0, userInFlightMax: 100_000 });
  }, 90_000);

  afterAll(async () => {
    db?.thaw();
    for (const c of clients) await c.stop();
    await tlim?.stop();
    await server?.stop();
    await db?.stop();
  });

  it(`keeps every accepted message through ${OUTAGE_S} s of a hung database, refuses with wait errors once the queue is full, and reports 503 promptly`, async () => {
    const C = server.componentDomain;
    const alice = await connectClient(server, "o1", "pw");
    const bob = await connectClient(server, "o2", "pw");
    clients.push(alice, bob);
    await bob.sendPresenceTo(C);
    await sleep(200);

    const sent: Array<{ msgId: string; stanzaId: string }> = [];
    const send = async (text: string) => {
      const env = envelope({ msg_from: "o1", msg_to: "o2", msg_type: "MTT-000", body: [{ text }] });
      const stanza = tlimMessage(`o2@${C}`, env);
      sent.push({ msgId: env.msg_id, stanzaId: stanza.attrs.id as string });
      await alice.send(stanza);
    };
    // Light load throughout: 5 messages a second.
    let n = 0;
    const load = setInterval(() => void send(`light ${n++}`), 200);
    try {
      await sleep(1000);
      db.freeze();
      await sleep(1000);

      // /healthz answers within a second, and says the database is down.
      const t0 = Date.now();
      const health = await fetch(`${tlim.httpUrl}/healthz`);
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { database: string }).database).toBe("down");

      // A burst fills the queue: beyond it senders get error-021 (wait), memory stays bounded.
      for (let i = 0; i < 150; i++) await send(`burst ${i}`);
      await sleep(OUTAGE_S * 1000 - 2000);
      expect(tlim.core.writer.queued).toBeLessThanOrEqual(QUEUE_MAX);
    } finally {
      clearInterval(load);
      db.thaw();
    }

    // Every message gets exactly one answer: a receipt (stored) or a wait error (refused).
    const ids = new Map(sent.map((s) => [s.stanzaId, s.msgId]));
    const answerOf = (el: Element) => (el.attrs.type === "error" ? (el.attrs.id as string) : (el.getChild("received", "urn:xmpp:receipts")?.attrs.id as string));
    const answers = await alice.waitForCount((el) => ids.has(answerOf(el)), sent.length, 60_000);
    const refused = answers.filter((el) => el.attrs.type === "error");
    const stored = answers.filter((el) => el.attrs.type !== "error").map((el) => ids.get(answerOf(el))!);
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) {
      expect(e.getChildText("body")).toBe("error-021");
      expect(e.getChild("error")!.attrs.type).toBe("wait");
    }
    expect(stored.length).toBeGreaterThan(QUEUE_MAX);

    // Healthy again at once; every stored message reaches bob.
    const until = Date.now() + 5000;
    while ((await fetch(`${tlim.httpUrl}/healthz`)).status !== 200) {
      if (Date.now() > until) throw new Error("not healthy 5 s after the database came back");
      await sleep(100);
    }
    const wanted = new Set(stored);
    await bob.waitForCount((el) => wanted.has(envelopeOf(el)?.msg_id), stored.length, 30_000);
    expect((await tlim.api("findChatHistory", { user_id: "o1", session_id: "o2", length: "1000" })).total).toBe(stored.length);
    expect(bob.messages().filter(isMessageWithId(stored[0]!)).length).toBeGreaterThanOrEqual(1);
  }, (OUTAGE_S + 120) * 1000);
});
