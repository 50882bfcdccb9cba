// The write path's memory of counter rows it saw committed (src/store/sql/commit.ts): per table,
// bounded, and a known id added again does not count twice toward the bound.
import { describe, expect, it } from "vitest";
import { KnownCounters } from "../../src/store/sql/commit.js";

describe("KnownCounters", () => {
  it("knows ids per table, counts each id once, and forgets everything past its bound", () => {
    const k = new KnownCounters(3);
    k.addAll("conversations", ["a", "b"]);
    expect(k.has("conversations", "a")).toBe(true);
    expect(k.has("user_inbox", "a")).toBe(false);
    k.addAll("conversations", ["a", "b", "a"]); // already known: still two
    k.addAll("user_inbox", ["a"]);
    expect([k.has("conversations", "b"), k.has("user_inbox", "a")]).toEqual([true, true]);
    k.addAll("user_inbox", ["c"]); // a fourth id: the bound of 3 is passed, all is forgotten first
    expect([k.has("conversations", "a"), k.has("conversations", "b"), k.has("user_inbox", "a"), k.has("user_inbox", "c")]).toEqual([false, false, false, true]);
  });
});
