// Retention (docs/reliability.md "Retention") end to end: a real tlim with TLIM_RETENTION_DAYS=30
// purging on its own schedule, a real XMPP server and clients, SQLite and MariaDB. Messages are
// made old by moving their commit time (created_at) back 40 days in the database, the one thing
// a test cannot wait for.
import { beforeAll, describe, expect, it } from "vitest";
import { createDataSource } from "../../src/store/sql/datasource.js";
import { chatConvId } from "../../src/store/types.js";
import { useTlim } from "../support/fixture.js";
import { DB_KINDS, type TestTlim } from "../support/tlim.js";
import { envelopeOf, sleep } from "../support/tlim-stanzas.js";
import { xml, type Element, type TestClient } from "../support/xmpp-client.js";
import { onServer } from "../support/xmpp-server.js";
import { chatText, sendStored } from "./http-support.js";

const DAY = 86_400_000;

/** Sends XEP-0184 receipts for every tlim message the client receives from now on. */
function autoAck(c: TestClient): void {
  c.xmpp.on("stanza", (el: Element) => {
    if (!el.is("message") || el.attrs.type === "error" || !el.getChild("request", "urn:xmpp:receipts")) return;
    c.send(xml("message", { to: el.attrs.from }, xml("received", { xmlns: "urn:xmpp:receipts", id: el.attrs.id }))).catch(() => {});
  });
}

/** The msg_ids of the tlim messages a client received, in arrival order (repeats included). */
const receivedIds = (c: TestClient): string[] =>
  c.messages().filter((el) => el.attrs.type !== "error").map((el) => envelopeOf(el)?.msg_id).filter((id): id is string => typeof id === "string");

describe.each(DB_KINDS)(onServer("retention on %s"), (kind) => {
  // A page of 4: the device's backlog is read in several pages across the purged range.
  const f = useTlim(kind, { prefix: "rt", users: 10, overrides: { retentionDays: 30, retentionIntervalS: 1, syncPageSize: 4 } });
  let tlim: TestTlim;
  let C = "";
  beforeAll(() => {
    ({ tlim, C } = f);
  });

  /** Moves the commit time of a 1:1 conversation's messages up to `seq` (and their inbox entries) back. */
  const age = async (convId: string, upToSeq: number, days: number) => {
    const ds = createDataSource(tlim.config.dbUrl);
    await ds.initialize();
    try {
      await ds.transaction(async (m) => {
        await m.query("UPDATE messages SET created_at = created_at - ? WHERE conv_id = ? AND seq <= ?", [days * DAY, convId, upToSeq]);
        await m.query("UPDATE inbox SET created_at = created_at - ? WHERE conv_id = ? AND conv_seq <= ?", [days * DAY, convId, upToSeq]);
      });
    } finally {
      await ds.destroy();
    }
  };
  const history = async (me: string, peer: string): Promise<string[]> =>
    (await tlim.api("findChatHistory", { user_id: me, session_id: peer, length: "max" })).message_list.map((m: any) => m.msg_id).reverse();
  /** Waits for the scheduler (every second) to leave exactly `n` messages in the conversation. */
  const purgedTo = async (me: string, peer: string, n: number) => {
    for (let i = 0; i < 150 && (await history(me, peer)).length !== n; i++) await sleep(100);
    expect(await history(me, peer)).toHaveLength(n);
  };

  it("a device whose cursor is older than the horizon gets exactly what remains, in order, once", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const alice = await f.login(a);
    const phone = await f.login(b, "phone");
    autoAck(phone);
    await f.settle();
    // The phone gets and acknowledges the first three: its cursor is at bob's inbox seq 3.
    const sent: string[] = [];
    for (let i = 0; i < 3; i++) {
      const e = chatText(a, b, `seen ${i}`);
      await sendStored(alice, `${b}@${C}`, e);
      sent.push(e.msg_id);
    }
    await phone.waitForCount((el) => sent.includes(envelopeOf(el)?.msg_id), 3);
    await sleep(300); // the receipts reach tlim
    await phone.stop();
    await f.settle();
    // Twelve more while the phone is away; the first ten of the fifteen become 40 days old.
    for (let i = 0; i < 12; i++) {
      const e = chatText(a, b, `offline ${i}`);
      await sendStored(alice, `${b}@${C}`, e);
      sent.push(e.msg_id);
    }
    // An HTTP device pulls three (new, it starts where the phone is: after the third), its cursor
    // moves to them (the sixth), then it goes quiet.
    const ids = (r: any): string[] => r.message_list.map((m: any) => m.msg_id);
    expect(ids(await tlim.api("getOffline", { user_id: b, device: "pull", length: "3" }))).toEqual(sent.slice(3, 6));
    await age(chatConvId(a, b), 10, 40);
    await purgedTo(b, a, 5);
    const remaining = sent.slice(10);
    expect(await history(b, a)).toEqual(remaining);
    // getOffline behind the horizon: from its cursor (6), or from a watermark naming a purged
    // message (which falls back to the cursor), it gets exactly what remains.
    expect(ids(await tlim.api("getOffline", { user_id: b, device: "pull", getThenClear: "1" }))).toEqual(remaining);
    expect(ids(await tlim.api("getOffline", { user_id: b, device: "pull", getThenClear: "1", msg_id: sent[5]! }))).toEqual(remaining);

    // The phone comes back at its old cursor (3), below the oldest entry left (11): it starts there.
    const again = await f.login(b, "phone");
    autoAck(again);
    await again.waitForCount((el) => remaining.includes(envelopeOf(el)?.msg_id), remaining.length, 10_000);
    await sleep(1500); // anything sent twice, or late, would arrive by now
    expect(receivedIds(again)).toEqual(remaining);

    // The conversation goes on: a new message comes live, once, after the remaining ones.
    const next = chatText(a, b, "after the purge");
    await sendStored(alice, `${b}@${C}`, next);
    await again.waitFor((el) => envelopeOf(el)?.msg_id === next.msg_id);
    await sleep(300);
    expect(receivedIds(again)).toEqual([...remaining, next.msg_id]);
    expect(await history(a, b)).toEqual([...remaining, next.msg_id]);
  }, 60_000);

  it("clearChatHistory deletes what the purge left, for both sides, and the conversation goes on", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const alice = await f.login(a);
    await f.settle();
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) {
      const e = chatText(a, b, `m ${i}`);
      await sendStored(alice, `${b}@${C}`, e);
      sent.push(e.msg_id);
    }
    await age(chatConvId(a, b), 2, 31);
    await purgedTo(a, b, 2);
    expect(await tlim.api("clearChatHistory", { user_id: b, other_id: a })).toEqual({ result: "ok", result_detail: "", user_id: b, other_id: a, deleted: 2 });
    for (const [me, peer] of [[a, b], [b, a]]) expect(await history(me!, peer!)).toEqual([]);
    // bob never logged in: nothing of the conversation is left in his queue.
    expect((await tlim.api("getOffline", { user_id: b })).message_list).toEqual([]);
    const next = chatText(a, b, "fresh start");
    await sendStored(alice, `${b}@${C}`, next);
    expect(await history(a, b)).toEqual([next.msg_id]);
    expect((await tlim.api("getOffline", { user_id: b })).message_list.map((m: any) => m.msg_id)).toEqual([next.msg_id]);
  }, 60_000);
});
