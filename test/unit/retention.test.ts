// The retention scheduler (src/core/retention.ts) over the in-memory store: rounds purge in
// batches until nothing is left, never overlap, and stop when asked. The clock the horizons are
// computed from is moved forward instead of waiting days.
import { describe, expect, it } from "vitest";
import { Retention } from "../../src/core/retention.js";
import { createLogger } from "../../src/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import { chat, memberOf, post, sessionOf } from "../store/contract.js";

const DAY = 86_400_000;
const log = createLogger("silent");

async function seeded(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.sessionCreate(sessionOf("s", "a"), ["a", "b"].map((u, i) => memberOf("s", u, i)));
  await store.commitBatch([...Array.from({ length: 7 }, () => chat("a", "b")), ...Array.from({ length: 3 }, () => post("a", "s"))]);
  return store;
}

describe("Retention", () => {
  it("runs a round in batches until nothing is older than the horizons", async () => {
    const store = await seeded();
    const now = Date.now();
    const r = new Retention(store, { chatDays: 30, sessionDays: 30, intervalMs: 3_600_000, batch: 3 }, log);
    // Nothing is 30 days old yet.
    // Nothing is 30 days old yet: one batch walks the conversations, one the inboxes.
    expect(await r.runOnce()).toEqual({ messages: 0, inbox: 0, reads: 0, batches: 2 });
    const later = new Retention(store, { chatDays: 30, sessionDays: 30, intervalMs: 3_600_000, batch: 3, now: () => now + 31 * DAY }, log);
    const totals = await later.runOnce();
    expect(totals).toMatchObject({ messages: 10, inbox: 20 });
    expect(totals.batches).toBeGreaterThanOrEqual(4 + 7); // 10 messages, then 20 inbox entries, 3 per batch
    expect(await store.inboxAfter("a", 0, 100)).toEqual([]);
  });

  it("keeps a kind whose days are 0, and does nothing at all when both are 0", async () => {
    const store = await seeded();
    const future = () => Date.now() + 365 * DAY;
    const sessionsOnly = new Retention(store, { chatDays: 0, sessionDays: 1, intervalMs: 1000, batch: 100, now: future }, log);
    expect(await sessionsOnly.runOnce()).toMatchObject({ messages: 3, inbox: 6 });
    expect((await store.inboxAfter("b", 0, 100)).map((i) => i.message.sessionId)).toEqual(Array(7).fill(null));
    const off = new Retention(store, { chatDays: 0, sessionDays: 0, intervalMs: 1000, batch: 100, now: future }, log);
    expect(off.enabled).toBe(false);
    expect(await off.runOnce()).toEqual({ messages: 0, inbox: 0, reads: 0, batches: 0 });
    expect((await store.inboxAfter("b", 0, 100)).length).toBe(7);
  });

  it("never runs two rounds at once, runs on its timer, and stops", async () => {
    const store = await seeded();
    let rounds = 0; // the clock is read once per round
    const now = () => {
      rounds++;
      return Date.now() + 2 * DAY;
    };
    const r = new Retention(store, { chatDays: 1, sessionDays: 1, intervalMs: 20, batch: 1, firstDelayMs: 0, now }, log);
    const [x, y] = [r.runOnce(), r.runOnce()];
    expect(x).toBe(y);
    expect((await x).messages).toBe(10);
    expect(rounds).toBe(1);
    r.start();
    for (let i = 0; i < 100 && rounds < 4; i++) await new Promise((res) => setTimeout(res, 10));
    expect(rounds).toBeGreaterThanOrEqual(4);
    await r.stop();
    const seen = rounds;
    await new Promise((res) => setTimeout(res, 100));
    expect(rounds).toBe(seen); // no round after stop()
  });
});
