// Default groups (TLIM_JIM_DEFAULT_GROUPS) and caller-chosen session ids on the memory store:
// the option's parsing, concurrent first joins, closed groups, a failing store.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ImCore } from "../../src/core/im.js";
import { ImError } from "../../src/protocol/errors.js";
import { MemoryStore } from "../../src/store/memory.js";
import { DefaultGroups } from "../../src/transports/jim/default-groups.js";

const silent = pino({ level: "silent" });
const makeCore = (store = new MemoryStore()) => new ImCore(store, { maxTextChars: 3000, revokeWindowS: 120, writeBatchMax: 100, syncPageSize: 10 }, silent);

describe("TLIM_JIM_DEFAULT_GROUPS", () => {
  const env = (v?: string) => ({ TLIM_XMPP_SECRET: "s", ...(v === undefined ? {} : { TLIM_JIM_DEFAULT_GROUPS: v }) });

  it("is empty by default; folds, trims and dedupes the ids; a file may give an array", () => {
    expect(loadConfig({ env: env() }).jimDefaultGroups).toEqual([]);
    expect(loadConfig({ env: env(" 100, Lobby ,100,,") }).jimDefaultGroups).toEqual(["100", "lobby"]);
    expect(loadConfig({ env: env(), file: { jimDefaultGroups: ["A", "b"] } }).jimDefaultGroups).toEqual(["a", "b"]);
    expect(loadConfig({ env: env() }).jimDefaultAvatar).toMatch(/^data:image\/svg\+xml,/);
  });

  it("refuses ids that are not XMPP local parts, naming the rule", () => {
    expect(() => loadConfig({ env: env("100,a b") })).toThrow(/TLIM_JIM_DEFAULT_GROUPS.*space/);
    expect(() => loadConfig({ env: env("x@y") })).toThrow(/TLIM_JIM_DEFAULT_GROUPS/);
  });
});

describe("createSession with a session id", () => {
  it("uses the id, refuses a taken one (error-016) also when two creates race", async () => {
    const core = makeCore();
    const { session } = await core.sessions.create({ sessionId: "team-7", sessionType: 0, owner: "a", members: [{ userId: "b" }] });
    expect(session.sessionId).toBe("team-7");
    await expect(core.sessions.create({ sessionId: "team-7", sessionType: 0, owner: "c", members: [] })).rejects.toMatchObject({ code: "error-016" });
    const race = await Promise.allSettled([1, 2, 3].map((i) => core.sessions.create({ sessionId: "race", sessionType: 0, owner: `u${i}`, members: [] })));
    expect(race.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of race) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ImError);
  });

  it("can leave the owner out of the members and name the session", async () => {
    const core = makeCore();
    const { session, members } = await core.sessions.create({ sessionId: "100", sessionName: "100", sessionType: 0, owner: "admin", ownerIsMember: false, members: [{ userId: "a" }] });
    expect(session).toMatchObject({ sessionName: "100", sessionUser: "admin" });
    expect(members.map((m) => m.userId)).toEqual(["a"]);
  });
});

describe("DefaultGroups.join", () => {
  it("concurrent first logins create the group once and make everyone a member", async () => {
    const store = new MemoryStore();
    const core = makeCore(store);
    const groups = new DefaultGroups(core, ["100", "lobby"], silent);
    const joined = await Promise.all(["a", "b", "c", "d"].map((u) => groups.join(u, [])));
    for (const j of joined) expect(j.map((s) => s.sessionId)).toEqual(["100", "lobby"]);
    for (const id of ["100", "lobby"]) {
      expect(await store.sessionGet(id)).toMatchObject({ sessionUser: "admin", sessionValid: 0, sessionType: 0 });
      expect((await store.sessionMembers(id)).map((m) => m.userId).sort()).toEqual(["a", "b", "c", "d"]);
    }
    // A member already in (its open sessions given) costs nothing and joins nothing again.
    const have = await store.sessionsOf("a", 0);
    expect(await groups.join("a", have)).toEqual([]);
  });

  it("leaves closed and dissolved groups alone, and a failing store does not fail the login", async () => {
    const store = new MemoryStore();
    const core = makeCore(store);
    const groups = new DefaultGroups(core, ["100"], silent);
    await groups.join("a", []);
    await core.sessions.update("100", { sessionValid: 1 });
    expect(await groups.join("b", [])).toEqual([]);
    expect((await store.sessionMembers("100")).map((m) => m.userId)).toEqual(["a"]);
    await store.close();
    expect(await groups.join("c", [])).toEqual([]);
  });
});
