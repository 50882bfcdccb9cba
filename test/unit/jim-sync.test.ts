// A J-IM device's offline bookkeeping (src/transports/jim/sync.ts) and the command table.
import { describe, expect, it } from "vitest";
import { CommandTable, COMMANDS } from "../../src/transports/jim/commands/index.js";
import { CursorSync, DeviceSync } from "../../src/transports/jim/sync.js";
import type { InboxItem } from "../../src/store/types.js";

const item = (seq: number, peer = "p"): InboxItem => ({ userId: "u", inboxSeq: seq, message: { msgFrom: peer } as InboxItem["message"] });
const none = () => false;

describe("DeviceSync", () => {
  it("with no backlog, live pushes move the cursor directly", () => {
    const moved: number[] = [];
    const s = new DeviceSync(4, (seq) => moved.push(seq));
    s.noBacklog();
    s.delivered(5);
    s.delivered(6);
    expect(moved).toEqual([5, 6]);
    expect(s.after).toBe(6);
  });

  it("with a backlog, live pushes wait; a complete fetch covers both and moves past them", () => {
    const moved: number[] = [];
    const s = new DeviceSync(0, (seq) => moved.push(seq));
    s.delivered(3); // live while 1..2 are unfetched
    expect(moved).toEqual([]);
    expect(s.has(3)).toBe(true);
    const items = [item(1), item(2), item(3)];
    const picked = items.filter((i) => !s.has(i.inboxSeq));
    expect(picked.map((i) => i.inboxSeq)).toEqual([1, 2]);
    s.fetched(items, picked, none, true);
    expect(moved).toEqual([3]);
    s.delivered(4);
    expect(moved).toEqual([3, 4]);
  });

  it("a filtered fetch moves the cursor only over the covered prefix", () => {
    const moved: number[] = [];
    const s = new DeviceSync(0, (seq) => moved.push(seq));
    const items = [item(1, "a"), item(2, "b"), item(3, "a")];
    s.fetched(items, items.filter((i) => i.message.msgFrom === "a"), none, true);
    expect(moved).toEqual([1]);
    expect(s.has(3)).toBe(true);
    expect(s.has(2)).toBe(false);
    s.fetched(items.slice(1), [items[1]!], none, true);
    expect(moved).toEqual([1, 3]);
  });

  it("entries with nothing to show count as covered; an incomplete read keeps the backlog open", () => {
    const moved: number[] = [];
    const s = new DeviceSync(0, (seq) => moved.push(seq));
    s.fetched([item(1), item(2)], [item(2)], (i) => i.inboxSeq === 1, false);
    expect(moved).toEqual([2]);
    s.delivered(3);
    expect(moved).toEqual([2]); // still pending: more may exist
  });
});

describe("CursorSync: the stored cursor moves only when the device confirmed", () => {
  it("moves on confirm (traffic), exactly up to a pong's seq, on the grace period, and never after the connection ended", async () => {
    const advanced: number[] = [];
    const cursors = { advance: (_u: string, _d: string, seq: number) => advanced.push(seq) };
    const pings: number[] = [];
    const s: CursorSync = new CursorSync(0, cursors, "u", "jim:ws", 60_000, () => pings.push(s.unconfirmedUpTo));
    s.noBacklog();
    s.delivered(1);
    s.delivered(2);
    await new Promise((r) => setImmediate(r));
    expect(pings).toEqual([2]); // the barrier ping behind this turn's pushes carries seq 2
    s.delivered(3); // pushed while the ping travels
    expect(advanced).toEqual([]); // written to the socket is not read
    s.confirmUpTo(2); // the pong of that ping
    expect(advanced).toEqual([2]);
    s.confirm(); // any frame from the device afterwards
    expect(advanced).toEqual([2, 3]);
    s.delivered(4);
    s.end(); // the connection ended: 4 stays for the next login
    s.confirm();
    expect(advanced).toEqual([2, 3]);

    const quiet: number[] = [];
    const g = new CursorSync(0, { advance: (_u, _d, seq) => quiet.push(seq) }, "u", "jim:tcp", 20, null);
    g.noBacklog();
    g.delivered(7);
    await new Promise((r) => setTimeout(r, 60));
    expect(quiet).toEqual([7]); // the grace period on a connection that stayed open
  });
});

describe("J-IM command table", () => {
  it("registers every command once and refuses a duplicate", () => {
    const t = new CommandTable();
    expect([1, 3, 5, 7, 11, 13, 14, 15, 17, 19].every((n) => t.get(n))).toBe(true);
    expect(t.get(12)).toBeUndefined();
    expect(() => new CommandTable([...COMMANDS, COMMANDS[0]!])).toThrow(/registered twice/);
  });
});
