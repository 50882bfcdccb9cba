import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
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

// ---- Self-contained: a user has only this repository ----

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
/** What ships or is read by users: every text file under these (README.md is a file). */
const SCANNED = ["src", "test", "docs", "README.md", "server", "bench", "scripts", "sql", "bin", ".ci", ".github"];
const SKIPPED_DIRS = new Set(["node_modules", "dist", ".build", "results"]);

function filesUnder(path: string): string[] {
  const abs = join(ROOT, path);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [abs];
  return readdirSync(abs, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (SKIPPED_DIRS.has(e.name) ? [] : filesUnder(join(path, e.name))) : [join(abs, e.name)],
  );
}

/** Text files only (a NUL byte in the first 8 KiB means binary). */
function textOf(file: string): string | null {
  const buf = readFileSync(file);
  return buf.subarray(0, 8192).includes(0) ? null : buf.toString("utf8");
}

const scanned = () =>
  SCANNED.flatMap(filesUnder)
    .filter((f) => f !== SELF)
    .flatMap((f) => {
      const text = textOf(f);
      return text === null ? [] : [{ file: relative(ROOT, f), text }];
    });

/** Citations of documents a user does not have: the design notes, the protocol references, the
 * style guide, the machine notes, the original's documents, and their question numbers. */
const OUTSIDE: Array<[RegExp, string]> = [
  [/\bDESIGN\b/, "the design notes (DESIGN)"],
  [/\bSTYLE\b/, "the style guide (STYLE)"],
  [/\bspec\/|\bspec §|\bspec Q\d/, "a protocol reference (spec/)"],
  [/\bnotes\/|\btoolchain (?:notes|§)|toolchain\.md|baseline\.md/, "the machine notes (notes/)"],
  [/\bseeds\//, "the original's documents (seeds/)"],
  [/\bQ\d{1,2}\b/, "a design question number (Q…)"],
];
/**
 * Relative paths in prose (Markdown, and comment lines of code) that leave the repository or name
 * a top-level folder it does not have (a folder next to the checkout is not something a user has):
 * `../x` resolved from the file's own folder must land inside the repository, in a top-level entry
 * that exists. String literals in code are left alone (tests feed `../../etc/passwd` on purpose).
 */
function outsidePaths(file: string, text: string): string[] {
  const out: string[] = [];
  const prose = /\.md$/.test(file)
    ? text
    : text.split("\n").map((l) => (/^\s*(?:\/\/|\/?\*|#|--)/.test(l) ? l : "")).join("\n");
  for (const m of prose.matchAll(/(?<![\w.\/$}])(?:\.\.\/)+[\w.-]+/g)) {
    const target = relative(ROOT, join(ROOT, dirname(file), m[0]));
    const top = target.split(/[\\/]/)[0]!;
    if (target.startsWith("..") || !existsSync(join(ROOT, top))) out.push(`${file}:${lineOf(text, m.index!)}: a path outside the repository: ${JSON.stringify(m[0])}`);
  }
  return out;
}

/** `§` is allowed only right after a public standard: "RFC 6120 §4.9", "XEP-0198 §5", "XML 1.0 §2.2". */
const STANDARD_BEFORE_SECTION = /(?:RFC \d{3,5}|XEP-\d{4}|XML 1\.0)(?:'s)? $/;

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

/** Headings of a Markdown file, outside fenced code, without backticks; plus bold lead-in labels
 * (`- **Wait statuses**: …`), which the docs use as the titles of their list items. */
function titlesOf(markdown: string, labels = true): string[] {
  const titles: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const h = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (h) titles.push(h[1]!.replace(/`/g, ""));
    const label = labels ? /^\s*(?:[-*]\s+|\d+\.\s+)?\*\*([^*]+)\*\*/.exec(line) : null;
    if (label) titles.push(label[1]!.replace(/`/g, "").replace(/\.$/, ""));
  }
  return titles;
}

/** GitHub's anchor of a heading. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** A citation names a title exactly, or its beginning up to a natural break
 * ("Devices" for "Devices: online, offline and acknowledgements"). */
const cites = (title: string, cited: string) =>
  title === cited || (title.startsWith(cited) && /^(?::|,|;| \(| —)/.test(title.slice(cited.length)));

describe("the repository is self-contained", () => {
  it("cites no document outside it (only the project's docs and public standards)", () => {
    const problems: string[] = [];
    for (const { file, text } of scanned()) {
      for (const [re, what] of OUTSIDE) {
        const g = new RegExp(re.source, "g");
        for (const m of text.matchAll(g)) problems.push(`${file}:${lineOf(text, m.index!)}: cites ${what}: ${JSON.stringify(m[0])}`);
      }
      problems.push(...outsidePaths(file, text));
      for (const m of text.matchAll(/§/g)) {
        const before = text.slice(Math.max(0, m.index! - 20), m.index!);
        if (!STANDARD_BEFORE_SECTION.test(before))
          problems.push(`${file}:${lineOf(text, m.index!)}: "§" not after a standard (RFC n, XEP-nnnn, XML 1.0): ${JSON.stringify(before + "§")}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every `docs/<file>.md "Title"` citation names a heading of that file', () => {
    const titles = new Map<string, string[]>();
    const titlesIn = (doc: string) => {
      if (!titles.has(doc)) titles.set(doc, existsSync(join(ROOT, "docs", doc)) ? titlesOf(readFileSync(join(ROOT, "docs", doc), "utf8")) : []);
      return titles.get(doc)!;
    };
    const problems: string[] = [];
    for (const { file, text } of scanned()) {
      // A citation may wrap onto the next comment line.
      const flat = text.replace(/[ \t]*\n[ \t]*(?:\/\/+|\*(?!\/)|#+)?[ \t]*/g, " ");
      for (const m of flat.matchAll(/docs\/([\w-]+\.md) "([^"]+)"/g)) {
        const [, doc, cited] = m as unknown as [string, string, string];
        if (!existsSync(join(ROOT, "docs", doc))) problems.push(`${file}: docs/${doc} does not exist`);
        else if (!titlesIn(doc).some((t) => cites(t, cited))) problems.push(`${file}: docs/${doc} has no heading "${cited}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("README's and the docs' relative links point at files and headings that exist", () => {
    const pages = [join(ROOT, "README.md"), ...filesUnder("docs").filter((f) => f.endsWith(".md"))];
    const problems: string[] = [];
    for (const page of pages) {
      const text = readFileSync(page, "utf8");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
        const [path, anchor] = link.split("#") as [string, string | undefined];
        const target = path === "" ? page : join(dirname(page), path);
        const where = `${relative(ROOT, page)}:${lineOf(text, m.index!)}: ${link}`;
        if (!existsSync(target)) problems.push(`${where}: no such file`);
        else if (anchor !== undefined && target.endsWith(".md")) {
          const anchors = titlesOf(readFileSync(target, "utf8"), false).map(slug);
          if (!anchors.includes(anchor)) problems.push(`${where}: no such heading`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
