// Core is the only door to the store (docs/architecture.md): transports call core's services,
// never the store; and the services keep the checks the transports relied on (live session,
// membership, record not found), on the in-memory store.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ImCore } from "../../src/core/im.js";
import { MemoryStore } from "../../src/store/memory.js";

const silent = pino({ level: "silent" });
const root = fileURLToPath(new URL("../../", import.meta.url));
const transports = join(root, "src/transports");

/** Every way a transport file could reach a store: a `.store` member (`core.store`,
 * `x.store.y`, `x.store?.y`, `x["store"]`) or an import of a store implementation (only the
 * plain data types of src/store/types.ts may be imported). */
const STORE_ACCESS = [
  /\bcore\s*(\?\.|\.)\s*#?store\b/,
  /\.\s*#?store\s*(\?\.|\.|\[)/,
  /\[\s*["'`]store["'`]\s*\]/,
  /from\s+["'][^"']*\/store\/(?!types\.js["'])[^"']*["']/,
  /import\s*\(\s*["'][^"']*\/store\/(?!types\.js["'])/,
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.[cm]?[jt]s$/.test(f))
    .map((f) => join(dir, f));
}

describe("core is the only door to the store", () => {
  it("no file under src/transports reaches the store (core.store, .store., a store import)", () => {
    const files = sourceFiles(transports);
    expect(files.length).toBeGreaterThan(20);
    const hits: string[] = [];
    for (const file of files) {
      readFileSync(file, "utf8").split("\n").forEach((line, i) => {
        if (STORE_ACCESS.some((re) => re.test(line))) hits.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });

  it("the patterns catch what they must (and not the XEP-0334 `store` hint option)", () => {
    const caught = (line: string) => STORE_ACCESS.some((re) => re.test(line));
    expect(caught("await core.store.fileAdd(x)")).toBe(true);
    expect(caught("await this.core.store.sessionGet(id)")).toBe(true);
    expect(caught("const store = deps.core.store;")).toBe(true);
    expect(caught("deps.core?.store?.history(c, 0, 1)")).toBe(true);
    expect(caught('core["store"]')).toBe(true);
    expect(caught('import { MemoryStore } from "../../store/memory.js";')).toBe(true);
    expect(caught('import { openStore } from "../../store/open.js";')).toBe(true);
    expect(caught('import type { InboxItem } from "../../store/types.js";')).toBe(false);
    expect(caught('const hint = opts.store ? "" : noStore;')).toBe(false);
  });

  it("the store is not a property of the core at run time", () => {
    const core = new ImCore(new MemoryStore(), { maxTextChars: 3000, revokeWindowS: 120, writeBatchMax: 100, syncPageSize: 10 }, silent);
    expect("store" in core).toBe(false);
    expect((core as unknown as Record<string, unknown>).store).toBeUndefined();
  });
});

describe("the services keep the checks", () => {
  const makeCore = () => new ImCore(new MemoryStore(), { maxTextChars: 3000, revokeWindowS: 120, writeBatchMax: 100, syncPageSize: 10 }, silent);

  it("sessions.delete: a live session only (unknown and dissolved are error-009); members go, the id is free again", async () => {
    const core = makeCore();
    await expect(core.sessions.delete("nope")).rejects.toMatchObject({ code: "error-009", message: expect.stringContaining("'nope' does not exist") });
    const { session } = await core.sessions.create({ sessionType: 0, owner: "a", members: [{ userId: "b" }] });
    await core.sessions.delete(session.sessionId);
    expect(await core.sessions.get(session.sessionId)).toBeNull();
    expect(await core.sessions.members(session.sessionId)).toEqual([]);
    await expect(core.sessions.delete(session.sessionId)).rejects.toMatchObject({ code: "error-009" });

    const { session: gone } = await core.sessions.create({ sessionId: "gone", sessionType: 0, owner: "a", members: [{ userId: "b" }] });
    await core.sessions.dissolve(gone.sessionId);
    await expect(core.sessions.delete("gone")).rejects.toMatchObject({ code: "error-009", message: expect.stringContaining("was dissolved") });
    expect(await core.sessions.get("gone")).toMatchObject({ sessionId: "gone" });
    await core.close();
  });

  it("sessions.membersSeenBy: the members for a member, null for anyone else and for an unknown session", async () => {
    const core = makeCore();
    const { session } = await core.sessions.create({ sessionType: 0, owner: "a", members: [{ userId: "b" }] });
    expect((await core.sessions.membersSeenBy(session.sessionId, "b"))?.map((m) => m.userId).sort()).toEqual(["a", "b"]);
    expect(await core.sessions.membersSeenBy(session.sessionId, "c")).toBeNull();
    expect(await core.sessions.membersSeenBy("nope", "a")).toBeNull();
  });

  it("messaging.historyFor: a session's history for its members only, a 1:1 history for either party", async () => {
    const core = makeCore();
    const { session } = await core.sessions.create({ sessionType: 0, owner: "a", members: [{ userId: "b" }] });
    expect(await core.messaging.historyFor("c", { sessionId: session.sessionId })).toBeNull();
    const read = await core.messaging.historyFor("b", { sessionId: session.sessionId });
    expect(await read!(0, 10)).toMatchObject({ total: 0, items: [] });
    await core.messaging.business("MTB-100", "b", '[{"text":"hi"}]');
    const chat = await core.messaging.historyFor("b", { peer: "admin" });
    expect((await chat!(0, 10)).items.map((m) => m.msgType)).toEqual(["MTB-100"]);
    await core.close();
  });

  it("a shutdown refuses the services' messages too: one accepted before drain() commits, one after gets error-021 and is not stored", async () => {
    const core = makeCore();
    const { session } = await core.sessions.create({ sessionType: 0, owner: "a", members: [{ userId: "b" }] });
    const before = core.messaging.business("MTB-100", "b", '[{"text":"before"}]');
    const drained = core.drain();
    await expect(core.messaging.business("MTB-100", "b", '[{"text":"after"}]')).rejects.toMatchObject({ code: "error-021", message: expect.stringContaining("shutting down") });
    await expect(core.sessions.dissolve(session.sessionId)).rejects.toMatchObject({ code: "error-021" });
    await drained;
    expect((await before).msgType).toBe("MTB-100");
    const chat = await core.messaging.historyFor("b", { peer: "admin" });
    expect((await chat!(0, 10)).items.map((m) => m.body)).toEqual(['[{"text":"before"}]']);
    expect((await core.sessions.membersSeenBy(session.sessionId, "b"))?.length).toBeGreaterThan(0); // not dissolved
    await core.close();
  });

  it("board.update / board.delete of an unknown entry: error-018 naming it", async () => {
    const core = makeCore();
    await expect(core.board.update("x", { title: "t" })).rejects.toMatchObject({ code: "error-018", message: "board entry 'x' does not exist" });
    await expect(core.board.delete("x")).rejects.toMatchObject({ code: "error-018", message: "board entry 'x' does not exist" });
    const entry = await core.board.add({ sessionId: "s", userId: "a", title: "t", content: "c" });
    await core.board.update(entry.id, { content: "c2" });
    expect(await core.board.list("s")).toEqual([{ ...entry, content: "c2" }]);
    await core.board.delete(entry.id);
    expect(await core.board.list("s")).toEqual([]);
  });
});
