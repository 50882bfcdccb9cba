// Retention's walk (src/store/purge.ts) over hand-made tables, where commit times can be anything:
// only a prefix of a conversation goes, a row behind a newer one waits, an inbox's kept entries
// are passed over once per pass, and every call stays within its bounds.
import { describe, expect, it } from "vitest";
import { purgeWalk, type KeyRow, type PurgeRead, type WalkRow } from "../../src/store/purge.js";
import type { PurgeCursor, PurgeRequest } from "../../src/store/types.js";

interface Tables {
  /** conv_id -> kind, rows in seq order */
  convs: Record<string, { kind: string; rows: WalkRow[] }>;
  /** user_id -> entries in seq order */
  inbox: Record<string, WalkRow[]>;
}

/** Runs whole passes as a store would: answers reads, deletes the plan; counts what was read. */
function pass(t: Tables, req: Omit<PurgeRequest, "cursor">) {
  const calls: Array<{ messages: number; inbox: number; rowsRead: number; keysRead: number; next: PurgeCursor | null }> = [];
  let cursor: PurgeCursor | null = null;
  do {
    const walk = purgeWalk({ ...req, cursor });
    let rowsRead = 0;
    let keysRead = 0;
    let step = walk.next([]);
    while (!step.done) {
      const r: PurgeRead = step.value;
      if (r.op === "keys") {
        const all = Object.keys(r.phase === "messages" ? t.convs : t.inbox).sort();
        const keys: KeyRow[] = all
          .filter((k) => r.from.key === "" || (r.from.seq === null ? k > r.from.key : k >= r.from.key))
          .slice(0, r.n)
          .map((key) => ({ key, kind: t.convs[key]?.kind }));
        keysRead += keys.length;
        step = walk.next(keys);
      } else {
        const rows = (r.phase === "messages" ? t.convs[r.key]!.rows : t.inbox[r.key]!).filter((x) => x.seq > r.afterSeq).slice(0, r.n);
        rowsRead += rows.length;
        step = walk.next(rows);
      }
    }
    const plan = step.value;
    for (const m of plan.messages) t.convs[m.convId]!.rows = t.convs[m.convId]!.rows.filter((x) => x.seq !== m.seq);
    for (const e of plan.inbox) t.inbox[e.userId] = t.inbox[e.userId]!.filter((x) => x.seq !== e.seq);
    calls.push({ messages: plan.messages.length, inbox: plan.inbox.length, rowsRead, keysRead, next: plan.next });
    cursor = plan.next;
    expect(calls.length).toBeLessThan(10_000);
  } while (cursor !== null);
  return calls;
}

const rows = (times: number[], convId?: string): WalkRow[] =>
  times.map((createdAt, i) => ({ seq: i + 1, createdAt, ...(convId ? { convId } : { msgFrom: "a", msgId: `m${i + 1}` }) }));
const seqs = (r: WalkRow[]) => r.map((x) => x.seq);

describe("purgeWalk", () => {
  it("takes only the old prefix of a conversation: a row behind a newer one waits for it", () => {
    // Seq 4 was committed under a clock that went back (time 5 after 50).
    const t: Tables = { convs: { "chat:a:b": { kind: "chat", rows: rows([1, 2, 3, 50, 5, 60]) } }, inbox: {} };
    pass(t, { chatBefore: 10, sessionBefore: 10, limit: 100 });
    expect(seqs(t.convs["chat:a:b"]!.rows)).toEqual([4, 5, 6]);
    // Once the newer row is old too, the rest of the prefix goes with it; what remains is contiguous.
    pass(t, { chatBefore: 55, sessionBefore: 55, limit: 100 });
    expect(seqs(t.convs["chat:a:b"]!.rows)).toEqual([6]);
  });

  it("keeps a kind without a horizon and passes over its inbox entries once per pass", () => {
    const t: Tables = {
      convs: { "chat:a:b": { kind: "chat", rows: rows([1, 2, 3]) }, "session:s": { kind: "session", rows: rows([1, 2, 3]) } },
      // 300 old session entries, then old chat entries, then new ones.
      inbox: { a: [...rows(Array(300).fill(1), "session:s"), ...rows([2, 2, 99], "chat:a:b").map((r) => ({ ...r, seq: r.seq + 300 }))] },
    };
    const calls = pass(t, { chatBefore: 10, sessionBefore: null, limit: 50 });
    expect(t.convs["session:s"]!.rows.length).toBe(3);
    expect(t.convs["chat:a:b"]!.rows).toEqual([]);
    expect(seqs(t.inbox.a!)).toEqual([...Array.from({ length: 300 }, (_, i) => i + 1), 303]);
    // The 300 kept entries were read once each, not once per call.
    expect(calls.reduce((n, c) => n + c.rowsRead, 0)).toBeLessThanOrEqual(3 + 3 + 303);
  });

  it("bounds every call and still finishes a pass over a huge conversation and many small ones", () => {
    const convs: Tables["convs"] = { "chat:big": { kind: "chat", rows: rows(Array(1000).fill(1)) } };
    for (let i = 0; i < 120; i++) convs[`chat:c${String(i).padStart(3, "0")}`] = { kind: "chat", rows: rows([1, 2, 99]) };
    const inbox: Tables["inbox"] = {};
    for (let i = 0; i < 120; i++) inbox[`u${i}`] = rows([1, 99, 99, 99, 99, 99], "chat:x");
    const t: Tables = { convs, inbox };
    const limit = 10;
    const calls = pass(t, { chatBefore: 10, sessionBefore: 10, limit });
    for (const c of calls) {
      expect(c.messages).toBeLessThanOrEqual(limit);
      expect(c.inbox).toBeLessThanOrEqual(limit);
      expect(c.keysRead).toBeLessThanOrEqual(limit);
      expect(c.rowsRead).toBeLessThanOrEqual(4 * limit + 100); // the budget, plus the page that crossed it
    }
    expect(calls.reduce((n, c) => n + c.messages, 0)).toBe(1000 + 240);
    expect(calls.reduce((n, c) => n + c.inbox, 0)).toBe(120);
    expect(t.convs["chat:big"]!.rows).toEqual([]);
    for (let i = 0; i < 120; i++) expect(seqs(t.inbox[`u${i}`]!)).toEqual([2, 3, 4, 5, 6]);
  });

  it("does nothing, in one call, when no kind has a horizon", () => {
    const t: Tables = { convs: { "chat:a:b": { kind: "chat", rows: rows([1]) } }, inbox: { a: rows([1], "chat:a:b") } };
    expect(pass(t, { chatBefore: null, sessionBefore: null, limit: 10 })).toEqual([{ messages: 0, inbox: 0, rowsRead: 0, keysRead: 0, next: null }]);
    expect(t.convs["chat:a:b"]!.rows.length).toBe(1);
  });
});
