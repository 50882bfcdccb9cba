// Core dispatch and the group-commit writer, on the in-memory store (no I/O).
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ImCore } from "../../src/core/im.js";
import { HandlerRegistry } from "../../src/core/registry.js";
import type { DeliverySink, Inbound } from "../../src/core/types.js";
import { CursorBook } from "../../src/core/cursors.js";
import { GroupCommitWriter } from "../../src/core/writer.js";
import { decodeEnvelope } from "../../src/protocol/envelope.js";
import { ImError } from "../../src/protocol/errors.js";
import { MemoryStore } from "../../src/store/memory.js";
import { RetryBatch, type CommitOptions, type InboxItem, type NewMessage, type Store } from "../../src/store/types.js";

const silent = pino({ level: "silent" });

function inbound(user: string, env: Record<string, unknown>, node: string | null = null): Inbound {
  return {
    sender: { userId: user, resource: "r" },
    addressedNode: node,
    envelope: decodeEnvelope(JSON.stringify({ msg_id: `id-${Math.random()}`, msg_time: "1", ...env })),
  };
}

function makeCore(store: Store = new MemoryStore()) {
  const core = new ImCore(store, { maxTextChars: 3000, revokeWindowS: 120, writeBatchMax: 100, syncPageSize: 2 }, silent);
  const pushed: InboxItem[] = [];
  const sink: DeliverySink = { name: "test", push: (i) => pushed.push(i) };
  core.addSink(sink);
  return { core, pushed, store };
}

async function refusal(p: Promise<unknown>): Promise<ImError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ImError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("HandlerRegistry", () => {
  it("rejects a code registered twice, at start-up", () => {
    const h = { types: ["MTT-000"], handle: async () => ({ kind: "passed" as const, to: "x", envelope: {} as never }) };
    expect(() => new HandlerRegistry([h, h])).toThrow(/registered twice/);
  });

  it("finds exact codes first, then the class fallback", () => {
    const r = new HandlerRegistry();
    expect(r.lookup("MTT-000", "MTT")!.types).toContain("MTT-000");
    expect(r.lookup("MTT-777", "MTT")!.types).toContain("MTT-*");
    expect(r.lookup("MTC-000", "MTC")!.types).toContain("MTC-*");
  });
});

describe("GroupCommitWriter", () => {
  it("commits what accumulated in one transaction, in arrival order", async () => {
    const store = new MemoryStore();
    const batches: number[] = [];
    const spy = new Proxy(store, {
      get(target, prop, recv) {
        if (prop === "commitBatch") return (b: NewMessage[]) => (batches.push(b.length), target.commitBatch(b));
        return Reflect.get(target, prop, recv);
      },
    });
    const order: number[] = [];
    const writer = new GroupCommitWriter(spy, { maxBatch: 100, maxInFlight: 2 }, { committed: (o) => o.status === "stored" && order.push(o.message.seq) });
    const msgs = Array.from({ length: 10 }, (_, i): NewMessage => ({
      convId: "chat:a:b", msgId: `m${i}`, msgFrom: "a", msgTo: "b", msgType: "MTT-000", msgTime: "1",
      body: "[]", sessionId: null, recipients: ["b", "a"], compress: "0", encode: "0", encrypt: "0", version: "2.1.0",
    }));
    const outcomes = await Promise.all(msgs.map((m) => writer.submit(m)));
    expect(batches).toEqual([10]);
    expect(outcomes.map((o) => (o.status === "stored" ? o.message.seq : -1))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(order).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("fails every message of a failed batch and keeps working", async () => {
    let fail = true;
    const store = new MemoryStore();
    const flaky = new Proxy(store, {
      get(target, prop, recv) {
        if (prop === "commitBatch") return (b: NewMessage[]) => (fail ? Promise.reject(new Error("db down")) : target.commitBatch(b));
        return Reflect.get(target, prop, recv);
      },
    });
    const writer = new GroupCommitWriter(flaky, { maxBatch: 10, maxInFlight: 2 });
    const m: NewMessage = { convId: "chat:a:b", msgId: "x", msgFrom: "a", msgTo: "b", msgType: "MTT-000", msgTime: "1", body: "[]", sessionId: null, recipients: ["b"], compress: "0", encode: "0", encrypt: "0", version: "2.1.0" };
    await expect(writer.submit(m)).rejects.toThrow("db down");
    fail = false;
    expect((await writer.submit(m)).status).toBe("stored");
  });
});

describe("GroupCommitWriter on a store with concurrent commits", () => {
  const msg = (i: number): NewMessage => ({
    convId: "chat:a:b", msgId: `m${i}`, msgFrom: "a", msgTo: "b", msgType: "MTT-000", msgTime: "1",
    body: "[]", sessionId: null, recipients: ["b"], compress: "0", encode: "0", encrypt: "0", version: "2.1.0",
  });

  /** A store whose commits the test finishes by hand: locks, then commit, in any order. */
  function manualStore() {
    const calls: Array<{ size: number; locked: () => void; finish: (fail?: Error) => void }> = [];
    const store = {
      concurrentCommits: true,
      commitBatch(batch: NewMessage[], opts: { locked?: () => void } = {}) {
        return new Promise((resolve, reject) => {
          calls.push({
            size: batch.length,
            locked: () => opts.locked?.(),
            finish: (fail) => (fail ? reject(fail) : resolve(batch.map((m) => ({ status: "duplicate", message: { msgId: m.msgId } })))),
          });
        });
      },
    } as unknown as Store;
    return { store, calls };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it("starts the next batch once the previous holds its locks, and settles in order", async () => {
    const { store, calls } = manualStore();
    const seen: string[] = [];
    const writer = new GroupCommitWriter(store, { maxBatch: 2, maxInFlight: 2 }, { committed: (o) => o.status === "duplicate" && seen.push(o.message.msgId) });
    const results = [0, 1, 2, 3, 4].map((i) => writer.submit(msg(i)).then(() => seen.push(`resolved m${i}`), (e: Error) => seen.push(`failed m${i}: ${e.message}`)));
    await tick();
    expect(calls.map((c) => c.size)).toEqual([2]); // the second waits for the first's locks
    calls[0]!.locked();
    await tick();
    expect(calls.map((c) => c.size)).toEqual([2, 2]);
    calls[1]!.locked();
    await tick();
    expect(calls.length).toBe(2); // at most two in flight
    // The second finishes first; nothing of it is delivered or answered before the first.
    calls[1]!.finish();
    await tick();
    expect(seen).toEqual([]);
    calls[0]!.finish();
    await tick();
    expect(seen).toEqual(["m0", "m1", "resolved m0", "resolved m1", "m2", "m3", "resolved m2", "resolved m3"]);
    expect(calls.map((c) => c.size)).toEqual([2, 2, 1]);
    calls[2]!.finish(new Error("db down"));
    await Promise.all(results);
    expect(seen.at(-1)).toBe("failed m4: db down");
  });

  it("commits one batch at a time when asked to (TLIM_WRITE_PIPELINE=1)", async () => {
    const { store, calls } = manualStore();
    const writer = new GroupCommitWriter(store, { maxBatch: 2, maxInFlight: 1 });
    const results = [0, 1, 2, 3].map((i) => writer.submit(msg(i)));
    await tick();
    calls[0]!.locked();
    await tick();
    expect(calls.length).toBe(1); // locked, but not finished: the next one waits
    calls[0]!.finish();
    await tick();
    expect(calls.map((c) => c.size)).toEqual([2, 2]);
    calls[1]!.finish();
    expect((await Promise.all(results)).length).toBe(4);
  });

  it("fails only the batch that failed", async () => {
    const { store, calls } = manualStore();
    const writer = new GroupCommitWriter(store, { maxBatch: 1, maxInFlight: 2 });
    const a = writer.submit(msg(0)).then(() => "stored", (e: Error) => e.message);
    const b = writer.submit(msg(1)).then(() => "stored", (e: Error) => e.message);
    await tick();
    calls[0]!.finish(new Error("deadlock"));
    await tick();
    expect(calls.length).toBe(2);
    calls[1]!.finish();
    expect(await a).toBe("deadlock");
    expect(await b).toBe("stored");
  });
});

describe("GroupCommitWriter: order under retries, duplicates in flight, a bounded queue", () => {
  const msg = (i: number, from = "a"): NewMessage => ({
    convId: "chat:a:b", msgId: `m${i}`, msgFrom: from, msgTo: "b", msgType: "MTT-000", msgTime: "1",
    body: "[]", sessionId: null, recipients: ["b"], compress: "0", encode: "0", encrypt: "0", version: "2.1.0",
  });
  const tick = () => new Promise((r) => setImmediate(r));

  /**
   * A pipelined store the test drives by hand. Like the SQL store, a batch commits only after its
   * `ready` resolves, and rolls back (RetryBatch) when `ready` rejects; `fail(retry)` makes a
   * batch fail after its locks, as a deadlock or another instance's duplicate would.
   */
  function gatedStore() {
    let seq = 0;
    const committed: string[] = [];
    const calls: Array<{ ids: string[]; locked: () => void; commit: () => void; fail: (err: Error) => void }> = [];
    const store = {
      concurrentCommits: true,
      commitBatch(batch: NewMessage[], opts: CommitOptions = {}) {
        return new Promise((resolve, reject) => {
          let go!: () => void;
          const allowed = new Promise<void>((r) => (go = r));
          calls.push({
            ids: batch.map((m) => m.msgId),
            locked: () => opts.locked?.(),
            commit: () => go(),
            fail: (err) => reject(err),
          });
          void allowed.then(async () => {
            try {
              await opts.ready;
            } catch (err) {
              return reject(new RetryBatch(err));
            }
            resolve(batch.map((m) => {
              committed.push(m.msgId);
              return { status: "stored", message: { ...m, seq: ++seq, createdAt: 0, revoked: false, hidden: false }, inbox: [] };
            }));
          });
        });
      },
    } as unknown as Store;
    return { store, calls, committed };
  }

  it("runs a batch that failed after its locks again before the batch after it, which rolls back and follows (numbering = settling order = arrival order)", async () => {
    const { store, calls, committed } = gatedStore();
    const settled: string[] = [];
    const writer = new GroupCommitWriter(store, { maxBatch: 2, maxInFlight: 2 }, { committed: (o) => o.status === "stored" && settled.push(`${o.message.msgId}#${o.message.seq}`) });
    const all = [0, 1, 2, 3].map((i) => writer.submit(msg(i)));
    await tick();
    calls[0]!.locked();
    await tick();
    expect(calls.map((c) => c.ids)).toEqual([["m0", "m1"], ["m2", "m3"]]);
    calls[1]!.locked();
    calls[1]!.commit(); // waits for batch 0 at its ready gate
    calls[0]!.fail(new RetryBatch(new Error("Deadlock found when trying to get lock")));
    await tick();
    await tick();
    // Batch 1 rolled back at its gate; both run again in their original order.
    expect(committed).toEqual([]);
    expect(calls.slice(2).map((c) => c.ids)).toEqual([["m0", "m1"]]);
    calls[2]!.locked();
    calls[2]!.commit();
    await tick();
    calls[3]!.locked();
    calls[3]!.commit();
    const outcomes = await Promise.all(all);
    expect(outcomes.map((o) => (o.status === "stored" ? o.message.seq : -1))).toEqual([1, 2, 3, 4]);
    expect(settled).toEqual(["m0#1", "m1#2", "m2#3", "m3#4"]);
    expect(writer.stats.reruns).toBe(2);
  });

  it("never sends a message already queued or in flight to the database again: the resend shares its outcome", async () => {
    const store = new MemoryStore();
    const sizes: number[][] = [];
    const spy = new Proxy(store, {
      get(target, prop, recv) {
        if (prop === "commitBatch") return (b: NewMessage[], o?: CommitOptions) => (sizes.push(b.map((m) => Number(m.msgId.slice(1)))), target.commitBatch(b, o));
        return Reflect.get(target, prop, recv);
      },
    });
    const writer = new GroupCommitWriter(spy, { maxBatch: 1, maxInFlight: 1 });
    const first = writer.submit(msg(0));
    const other = writer.submit(msg(1));
    const again = writer.submit(msg(0)); // the client resent before its ack
    const [a, , b] = await Promise.all([first, other, again]);
    expect(sizes).toEqual([[0], [1]]);
    expect(a.status).toBe("stored");
    expect(b.status).toBe("duplicate");
    expect(b.status !== "rejected" && b.message.seq).toBe(a.status === "stored" ? a.message.seq : -1);
  });

  it("refuses with error-021 once the queue is full, and takes messages again when it drains", async () => {
    const { store, calls } = gatedStore();
    const writer = new GroupCommitWriter(store, { maxBatch: 2, maxInFlight: 1, maxQueued: 3 });
    const taken = [0, 1].map((i) => writer.submit(msg(i)));
    await tick(); // m0, m1 are in flight now
    const queued = [2, 3, 4].map((i) => writer.submit(msg(i)));
    const refused = await refusal(writer.submit(msg(5)));
    expect(refused.code).toBe("error-021");
    expect(refused.info.condition).toBe("resource-constraint");
    expect(refused.info.type).toBe("wait");
    calls[0]!.locked();
    calls[0]!.commit();
    await Promise.all(taken);
    await tick();
    expect(writer.queued).toBe(1);
    expect((await Promise.race([writer.submit(msg(6)).then(() => "stored"), tick().then(() => "queued")]))).toBe("queued");
    for (let k = 1; k < 3; k++) {
      await tick();
      calls[k]!.locked();
      calls[k]!.commit();
    }
    expect((await Promise.all(queued)).length).toBe(3);
  });
});

describe("CursorBook", () => {
  it("writes a flush as one store call, keeping the highest seq per device", async () => {
    const store = new MemoryStore();
    const calls: number[] = [];
    const advance = store.cursorAdvance.bind(store);
    store.cursorAdvance = async (a) => {
      calls.push(a.length);
      return advance(a);
    };
    const book = new CursorBook(store, 60_000);
    book.advance("alice", "phone", 3);
    book.advance("alice", "phone", 7);
    book.advance("alice", "phone", 5); // lower: ignored
    book.advance("alice", "desk", 2);
    book.advance("bob", "phone", 1);
    expect(await book.get("alice", "phone")).toBe(7); // pending counts before the flush
    await book.flush();
    expect(calls).toEqual([3]);
    expect(await store.cursorsOf("alice")).toEqual({ desk: 2, phone: 7 });
    expect(await store.cursorGet("bob", "phone")).toBe(1);
  });

  it("writes the others when one row of a flush fails, and reports that one", async () => {
    const store = new MemoryStore();
    const errors: unknown[] = [];
    const book = new CursorBook(store, 60_000, (e) => errors.push(e));
    book.advance("alice", "phone", 4);
    book.advance("alice", "x".repeat(200), 4);
    book.advance("bob", "phone", 2);
    await book.flush();
    expect(errors).toHaveLength(1);
    expect(await store.cursorsOf("alice")).toEqual({ phone: 4 });
    expect(await store.cursorGet("bob", "phone")).toBe(2);
  });
});

describe("ImCore.submit", () => {
  it("stores a 1:1 message and pushes an inbox entry to recipient and sender, once", async () => {
    const { core, pushed } = makeCore();
    const msg = inbound("alice", { msg_from: "alice", msg_to: "bob", msg_type: "MTT-000", body: [{ text: "hi" }] }, "bob");
    const r = await core.submit(msg);
    expect(r.kind).toBe("stored");
    expect(pushed.map((p) => [p.userId, p.inboxSeq])).toEqual([["bob", 1], ["alice", 1]]);
    const again = await core.submit({ ...msg, envelope: { ...msg.envelope } });
    expect(again.kind).toBe("duplicate");
    expect(pushed).toHaveLength(2);
  });

  it("fills an empty msg_from from the sender and refuses a different one", async () => {
    const { core } = makeCore();
    const ok = await core.submit(inbound("alice", { msg_to: "bob", msg_type: "MTT-000", body: [{ text: "x" }] }));
    expect(ok.kind === "stored" && ok.message.msgFrom).toBe("alice");
    const err = await refusal(core.submit(inbound("mallory", { msg_from: "alice", msg_to: "bob", msg_type: "MTT-000", body: [{ text: "x" }] })));
    expect(err.info.condition).toBe("forbidden");
  });

  it("refuses an address that contradicts the envelope, and a missing peer", async () => {
    const { core } = makeCore();
    expect((await refusal(core.submit(inbound("a", { msg_from: "a", msg_to: "b", msg_type: "MTT-000", body: [{ text: "x" }] }, "c")))).code).toBe("error-000");
    expect((await refusal(core.submit(inbound("a", { msg_from: "a", msg_type: "MTT-000", body: [{ text: "x" }] })))).code).toBe("error-000");
  });

  it("checks body rules per type: text length, fileId", async () => {
    const { core } = makeCore();
    const long = "😀".repeat(3001);
    expect((await refusal(core.submit(inbound("a", { msg_from: "a", msg_to: "b", msg_type: "MTT-000", body: [{ text: long }] })))).code).toBe("error-013");
    expect((await core.submit(inbound("a", { msg_from: "a", msg_to: "b", msg_type: "MTT-000", body: [{ text: "😀".repeat(3000) }] }))).kind).toBe("stored");
    expect((await refusal(core.submit(inbound("a", { msg_from: "a", msg_to: "b", msg_type: "MTT-001", body: [{ text: "no file" }] })))).code).toBe("error-000");
  });

  it("needs membership for session posts, and an existing session", async () => {
    const { core, pushed } = makeCore();
    const { session } = await core.sessions.create({ sessionType: 0, owner: "a", members: [{ userId: "b" }] });
    const sid = session.sessionId;
    const r = await core.submit(inbound("b", { msg_from: "b", msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text: "x" }] }));
    expect(r.kind).toBe("stored");
    expect(pushed.map((p) => p.userId).sort()).toEqual(["a", "b"]);
    expect((await refusal(core.submit(inbound("z", { msg_from: "z", msg_type: "MTS-000", body: [{ session_id: sid, text: "x" }] })))).code).toBe("error-012");
    expect((await refusal(core.submit(inbound("z", { msg_from: "z", msg_type: "MTS-000", body: [{ session_id: "nope", text: "x" }] })))).code).toBe("error-009");
    expect((await refusal(core.submit(inbound("z", { msg_from: "z", msg_type: "MTS-000", body: [{ text: "x" }] })))).code).toBe("error-007");
  });

  it("passes MTC and client MTB through unstored", async () => {
    const { core, pushed } = makeCore();
    const r = await core.submit(inbound("a", { msg_from: "a", msg_to: "b", msg_type: "MTC-000", body: [{ msg_id: "x" }] }));
    expect(r).toMatchObject({ kind: "passed", to: "b" });
    expect(pushed).toHaveLength(0);
  });

  it("turns an unexpected failure into one internal error reply", async () => {
    const store = new MemoryStore();
    const broken = new Proxy(store, {
      get(target, prop, recv) {
        if (prop === "commitBatch") return () => Promise.reject(new Error("disk on fire"));
        return Reflect.get(target, prop, recv);
      },
    });
    const { core } = makeCore(broken);
    const err = await refusal(core.submit(inbound("a", { msg_from: "a", msg_to: "b", msg_type: "MTT-000", body: [{ text: "x" }] })));
    expect(err.code).toBe("error-500");
    expect(err.message).not.toContain("disk on fire");
  });
});

describe("ImCore sync", () => {
  it("pages the backlog after a cursor; a new device starts at the user's most advanced device", async () => {
    const { core } = makeCore();
    for (let i = 0; i < 5; i++) await core.submit(inbound("a", { msg_from: "a", msg_to: "b", msg_type: "MTT-000", body: [{ text: `m${i}` }] }));
    expect(await core.openDevice("b", "phone")).toBe(0);
    const pages: number[][] = [];
    for await (const page of core.backlog("b", 0)) pages.push(page.map((i) => i.inboxSeq));
    expect(pages).toEqual([[1, 2], [3, 4], [5]]);
    core.cursors.advance("b", "phone", 3);
    expect(await core.openDevice("b", "phone")).toBe(3);
    expect(await core.openDevice("b", "laptop")).toBe(3);
    core.cursors.advance("b", "phone", 2); // never moves back
    expect(await core.cursors.get("b", "phone")).toBe(3);
  });
});
