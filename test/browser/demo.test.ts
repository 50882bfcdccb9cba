// The demo a person can use (docs/demo.md), end to end with real parts: `tlim demo` as a process
// (the machine's Prosody, tlim on SQLite, the web client at /web/) and two people in Debian's
// Chromium (two browser contexts, driven by playwright-core). Alice and Bob log in, chat 1:1, see
// read receipts, send a picture and a file, revoke a message, and chat in the demo session.
// Screenshots of every step go to test-artifacts/demo/ (gitignored); their paths are printed.
//
//   apt-get install -y chromium prosody && npm run test:browser
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts", "demo");

/** A PNG of w×h pixels of one colour (RFC 2083: signature, IHDR, one IDAT, IEND). */
function png(w: number, h: number, [r, g, b]: [number, number, number]): Buffer {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const byte of buf) c = table[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  const pixels = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(pixels)), chunk("IEND", Buffer.alloc(0))]);
}

interface Demo {
  proc: ChildProcess;
  url: string;
  passwords: Record<string, string>;
  dataDir: string;
  output: () => string;
}

/** Starts `tlim demo` (src/cli.ts, the command a user runs) and reads what it prints. */
async function startDemo(): Promise<Demo> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TLIM_")));
  const proc = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "demo"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const until = Date.now() + 60_000;
  while (!out.includes("Press Ctrl-C to stop.")) {
    if (proc.exitCode !== null || Date.now() > until) {
      proc.kill("SIGKILL");
      throw new Error(`tlim demo did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /web client\s+(http:\/\/\S+\/web\/)/.exec(out)?.[1];
  const passwords = Object.fromEntries([...out.matchAll(/user\s+(\w+)\s+password\s+(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  const dataDir = /data\s+(\S+)/.exec(out)?.[1];
  if (!url || !passwords.alice || !passwords.bob || !dataDir) throw new Error(`cannot read the demo's URL, users or data dir:\n${out}`);
  return { proc, url, passwords, dataDir, output: () => out };
}

describe("tlim demo in Chromium: two people chatting", () => {
  let demo: Demo | null = null;
  let browser: Browser | null = null;
  const shots: string[] = [];
  let step = 0;
  const shot = async (who: string, page: Page, what: string) => {
    const path = join(ARTIFACTS, `${String(++step).padStart(2, "0")}-${who}-${what}.png`);
    await page.screenshot({ path, fullPage: true });
    shots.push(path);
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing (${CHROMIUM}): apt-get install -y chromium`);
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await startDemo();
    // --no-sandbox: the test machines run as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });

  afterAll(async () => {
    await browser?.close();
    if (demo && demo.proc.exitCode === null) {
      // After a failure: Ctrl-C as a person would, then the hard way.
      const gone = new Promise((r) => demo!.proc.once("exit", r));
      demo.proc.kill("SIGINT");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      demo.proc.kill("SIGKILL");
    }
    if (shots.length > 0) console.log(`screenshots:\n  ${shots.join("\n  ")}`);
  });

  it("log in, chat 1:1 with read receipts, send a picture and a file, revoke, chat in the session; Ctrl-C cleans up", async () => {
    const d = demo!;
    const open = async (user: string) => {
      const context = await browser!.newContext({ viewport: { width: 1100, height: 760 } });
      const page = await context.newPage();
      page.on("pageerror", (err) => console.error(`[${user}] page error: ${err.message}`));
      await page.goto(d.url);
      await page.getByLabel("User").fill(user);
      await page.getByLabel("Password").fill(d.passwords[user]!);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByText(`Logged in as ${user}`).waitFor();
      await page.getByText("(online)").waitFor();
      return page;
    };
    const alice = await open("alice");
    const bob = await open("bob");
    // Both see the demo session tlim demo created.
    for (const p of [alice, bob]) await p.getByRole("heading", { name: "Session: Demo team" }).waitFor();
    await shot("alice", alice, "logged-in");
    await shot("bob", bob, "logged-in");

    // A wrong password is refused by the XMPP server, with a message the person can read.
    {
      const context = await browser!.newContext();
      const page = await context.newPage();
      await page.goto(d.url);
      await page.getByLabel("User").fill("alice");
      await page.getByLabel("Password").fill("not-the-password");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("alert").getByText("Login failed: wrong user or password").waitFor();
      await shot("mallory", page, "wrong-password");
      await context.close();
    }

    const message = (p: Page, text: string | RegExp) => p.locator("#messages li").filter({ hasText: text });
    const send = async (p: Page, text: string) => {
      await p.getByLabel("Message", { exact: true }).fill(text);
      await p.getByLabel("Message", { exact: true }).press("Enter"); // the keyboard path
    };

    // 1:1: Alice opens a chat with Bob and writes; tlim stores it (sent) and pushes it to Bob.
    await alice.getByLabel("Chat with").fill("bob");
    await alice.getByRole("button", { name: "Open" }).click();
    await alice.getByRole("heading", { name: "Chat with bob" }).waitFor();
    await send(alice, "Hello Bob, this is Alice");
    await message(alice, "Hello Bob, this is Alice").getByText("sent", { exact: true }).waitFor();
    await shot("alice", alice, "sent-1to1");

    // Bob sees the new conversation with one unread message, opens it: he reads it.
    const aliceEntry = bob.getByRole("button", { name: /^alice \(1:1\)/i });
    await aliceEntry.getByLabel("1 unread").waitFor();
    await shot("bob", bob, "unread-1to1");
    await aliceEntry.click();
    await message(bob, "Hello Bob, this is Alice").waitFor();
    await shot("bob", bob, "reads-1to1");

    // Bob's reading is a read receipt (MTT-100) that reaches Alice.
    await message(alice, "Hello Bob, this is Alice").getByText("read", { exact: true }).waitFor();
    await shot("alice", alice, "read-receipt");

    // Bob answers; Alice, who has the chat open, sees it and reads it; Bob sees that.
    await send(bob, "Hi Alice!");
    await message(alice, "Hi Alice!").waitFor();
    await message(bob, "Hi Alice!").getByText("read", { exact: true }).waitFor();
    await shot("bob", bob, "reply-read");

    // A picture: uploaded through /web/api/ (Alice's login, not the API secret), sent as MTT-001.
    const picture = png(48, 32, [220, 40, 40]);
    await alice.getByLabel("Picture or file").setInputFiles({ name: "red.png", mimeType: "image/png", buffer: picture });
    const img = bob.getByRole("img", { name: "picture red.png" });
    await img.waitFor();
    await expect.poll(() => img.evaluate((el) => {
      const i = el as unknown as { complete: boolean; naturalWidth: number }; // an HTMLImageElement (no DOM types here)
      return i.complete ? i.naturalWidth : 0;
    })).toBe(48);
    await alice.getByRole("img", { name: "picture red.png" }).waitFor();
    await shot("bob", bob, "picture");

    // A file: a download link with its name.
    await alice.getByLabel("Picture or file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("minutes of the demo\n") });
    const link = bob.getByRole("link", { name: /^notes\.txt/ });
    await link.waitFor();
    const href = await link.getAttribute("href");
    expect(href).toMatch(/^\/plugins\/tlim\/file\/[0-9a-f]{32}\?exp=\d+&sig=/); // a signed URL, no API secret
    const fetched = await bob.evaluate(async (u) => (await fetch(u)).text(), href!);
    expect(fetched).toBe("minutes of the demo\n");
    await shot("bob", bob, "file");

    // Revoke: Alice takes a message back; it disappears for Bob.
    await send(alice, "Oops, wrong chat");
    await message(bob, "Oops, wrong chat").waitFor();
    await shot("bob", bob, "before-revoke");
    await message(alice, "Oops, wrong chat").getByRole("button", { name: /^Revoke/ }).click();
    await message(alice, "You revoked this message.").waitFor();
    await message(bob, "This message was revoked.").waitFor();
    expect(await bob.getByText("Oops, wrong chat").count()).toBe(0);
    await shot("alice", alice, "revoked");
    await shot("bob", bob, "revoked");

    // The session: both post, each sees the other's, and Alice sees Bob read hers.
    for (const p of [alice, bob]) await p.getByRole("button", { name: /^Demo team \(session\)/ }).click();
    await send(alice, "Hello team");
    await message(bob, "Hello team").waitFor();
    await send(bob, "Hi everyone");
    await message(alice, "Hi everyone").waitFor();
    await message(alice, "Hello team").getByText("read by 1").waitFor();
    await shot("alice", alice, "session");
    await shot("bob", bob, "session");

    // History: after a reload Bob logs in again and finds the 1:1 chat as it is now.
    await bob.reload();
    await bob.getByLabel("User").fill("bob");
    await bob.getByLabel("Password").fill(d.passwords.bob!);
    await bob.getByRole("button", { name: "Log in" }).click();
    await bob.getByRole("button", { name: /^alice \(1:1\)/i }).click();
    await message(bob, "Hello Bob, this is Alice").waitFor();
    await bob.getByRole("img", { name: "picture red.png" }).waitFor();
    await message(bob, "Hi Alice!").getByText("read", { exact: true }).waitFor();
    expect(await bob.getByText("Oops, wrong chat").count()).toBe(0);
    await shot("bob", bob, "history-after-reload");

    // Ctrl-C: Prosody and tlim stop, the temporary directory is removed, exit status 0.
    expect(existsSync(d.dataDir)).toBe(true);
    const exited = new Promise<number | null>((r) => d.proc.once("exit", (code) => r(code)));
    d.proc.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(existsSync(d.dataDir)).toBe(false);
  });
});
