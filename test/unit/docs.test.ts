import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OPTIONS } from "../../src/config.js";

describe("docs/configuration.md", () => {
  it("documents every configuration option (a test fails when one is added undocumented)", () => {
    const doc = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
    for (const [key, o] of Object.entries(OPTIONS)) {
      expect(doc, o.env).toContain(`\`${o.env}\``);
      expect(doc, key).toContain(`\`${key}\``);
    }
  });
});
