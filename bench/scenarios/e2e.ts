// Scenario 3: end to end through a real Prosody 0.12 (the test harness's throwaway server, Nagle
// off), with raw clients (bench/lib/c2s-client.ts): K pairs s<i>@localhost → r<i>@…, closed loop
// with W in flight per pair, the same JSON envelope as the body in all three:
//   prosody   plain routing, Prosody alone (what the messages cost the server by themselves)
//   mam       Prosody + mod_mam archiving to the same MariaDB (what a user would pick instead)
//   tlim      clients → Prosody → tlim (component, MariaDB) → Prosody → clients
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startProsody, type ProsodyHandle } from "../../test/support/prosody.js";
import { RawClient } from "../lib/c2s-client.js";
import type { MessageTag } from "../lib/component-driver.js";
import { createBenchDb, query, type BenchDb } from "../lib/db.js";
import { CpuMeter, findPid, rssMiB } from "../lib/proc.js";
import { progress, row, type ResultRow } from "../lib/report.js";
import { Latencies, round, sleep } from "../lib/stats.js";
import { PerSecond } from "../lib/window.js";
import { startTlimChild, type TlimChild } from "../lib/tlim-process.js";
import { tlimOverrides } from "./component.js";

export type E2eConfig = "prosody" | "mam" | "tlim";

const TEXT = "benchmark message: the quick brown fox jumps over the lazy dog";

function envelope(from: string, to: string, msgId: string): string {
  return (
    `{"compress":"0","encode":"0","encrypt":"0","version":"2.1.0","msg_from":"${from}","msg_to":"${to}",` +
    `"msg_id":"${msgId}","msg_type":"MTT-000","msg_time":"${Date.now()}","body":[{"text":"${TEXT}"}]}`
  );
}

/** Is lua-dbi-mysql (Prosody's MySQL driver) there? Installs it with apt-get when root. */
export function ensureLuaDbiMysql(): { ok: boolean; note: string } {
  const installed = () => spawnSync("dpkg-query", ["-W", "-f=${Status}", "lua-dbi-mysql"], { encoding: "utf8" }).stdout?.includes("install ok installed");
  if (installed()) return { ok: true, note: "lua-dbi-mysql present" };
  if (process.getuid?.() !== 0) return { ok: false, note: "lua-dbi-mysql missing and not root: apt-get install lua-dbi-mysql" };
  progress("end to end: installing lua-dbi-mysql (Prosody's MySQL driver for mod_mam) with apt-get");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let r = spawnSync("apt-get", ["install", "-y", "-qq", "lua-dbi-mysql"], { encoding: "utf8", env });
  if (r.status !== 0) {
    spawnSync("apt-get", ["update", "-qq"], { encoding: "utf8", env });
    r = spawnSync("apt-get", ["install", "-y", "-qq", "lua-dbi-mysql"], { encoding: "utf8", env });
  }
  return installed() ? { ok: true, note: "lua-dbi-mysql installed by the bench" } : { ok: false, note: `apt-get install lua-dbi-mysql failed: ${(r.stderr || r.stdout || "").slice(-300)}` };
}

export function prosodyVersion(): string {
  try {
    const out = execFileSync("prosodyctl", ["about"], { encoding: "utf8", timeout: 15_000 });
    const v = /Prosody\s+(\S+)/.exec(out)?.[1] ?? "?";
    const lua = /Lua version:?\s+(.+)/i.exec(out)?.[1]?.trim();
    return `${v}${lua ? ` (${lua})` : ""}`;
  } catch {
    return "not found";
  }
}

function mamConfig(dbUrl: string): string {
  const u = new URL(dbUrl);
  const q = (s: string) => JSON.stringify(s);
  return `modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "offline"; "presence"; "mam" }
storage = { archive = "sql" }
sql = { driver = "MySQL", database = ${q(decodeURIComponent(u.pathname.slice(1)))}, username = ${q(decodeURIComponent(u.username || "root"))}, password = ${q(decodeURIComponent(u.password))}, host = ${q(u.hostname || "127.0.0.1")}, port = ${u.port || 3306} }
archive_expires_after = "never"
default_archive_policy = true
`;
}

/** Prosody writes its pidfile into the harness's throwaway dir. */
export function prosodyPidOf(p: ProsodyHandle): number | null {
  try {
    return Number(readFileSync(join(p.dir, "prosody.pid"), "utf8").trim()) || null;
  } catch {
    return null;
  }
}

export interface E2eOptions {
  config: E2eConfig;
  pairs: number;
  window: number;
  warmupS: number;
  measureS: number;
  experiments?: string[];
}

export async function runE2e(o: E2eOptions): Promise<ResultRow> {
  const names = { prosody: "Prosody alone (plain routing)", mam: "Prosody + mod_mam → MariaDB", tlim: "clients → Prosody → tlim (MariaDB) → Prosody" };
  const variant = `${names[o.config]}, K=${o.pairs} W=${o.window}${o.experiments?.length ? ` +${o.experiments.join("+")}` : ""}`;
  progress(`end to end: ${variant}: starting`);
  const K = o.pairs;
  const users: Array<[string, string]> = [];
  for (let i = 0; i < K; i++) users.push([`s${i}`, "pw"], [`r${i}`, "pw"]);
  let db: BenchDb | null = null;
  let prosody: ProsodyHandle | null = null;
  let child: TlimChild | null = null;
  const clients: RawClient[] = [];
  try {
    if (o.config !== "prosody") db = await createBenchDb("mariadb", `e2e_${o.config}`);
    prosody = await startProsody({ users, extraConfig: o.config === "mam" ? mamConfig(db!.url) : "" });
    const prosodyPid = prosodyPidOf(prosody);
    if (o.config === "tlim") {
      child = await startTlimChild(
        tlimOverrides(prosody.componentService, db!.url, { xmppDomain: prosody.componentDomain, xmppSecret: prosody.componentSecret, userDomain: prosody.userDomain }),
        { name: "e2e", experiments: o.experiments },
      );
      const until = Date.now() + 15_000;
      while ((await child.stats()).link !== "online") {
        if (Date.now() > until) throw new Error("tlim did not come online against Prosody");
        await sleep(50);
      }
    }
    const to = (i: number) => (o.config === "tlim" ? `r${i}@${prosody!.componentDomain}` : `r${i}@${prosody!.userDomain}`);
    for (let i = 0; i < K; i += 10) {
      const batch = await Promise.all(
        users.slice(2 * i, 2 * Math.min(K, i + 10)).map(([u, p]) => RawClient.login(prosody!.c2sPort, prosody!.userDomain, u, p)),
      );
      clients.push(...batch);
    }
    const sender = (i: number) => clients[2 * i]!;
    const receiver = (i: number) => clients[2 * i + 1]!;
    if (o.config === "tlim") {
      // Directed presence: tlim then pushes to each device's full JID (delivery.ts).
      for (const c of clients) c.write(`<presence to='${prosody.componentDomain}'/>`);
      await sleep(1500);
    }

    const seq = new Int32Array(K);
    const lastSeen = new Int32Array(K);
    let sending = true;
    let measuring = false;
    let sent = 0;
    let delivered = 0;
    let deliveredInWindow = 0;
    let duplicates = 0;
    let errors = 0;
    const perSecond = new PerSecond();
    const lat = new Latencies();
    const stanza = (i: number): string => {
      const n = ++seq[i]!;
      const now = performance.now();
      const id = `${n}t${now.toFixed(3)}`;
      sent++;
      return `<message type='chat' to='${to(i)}' id='${id}'><body>${envelope(`s${i}`, `r${i}`, id)}</body></message>`;
    };
    for (let i = 0; i < K; i++) {
      const r = receiver(i);
      let topUp = 0;
      // The receiver acknowledges every message (XEP-0184), as real clients do.
      let receipts = "";
      r.onMessage = (tag: MessageTag, now: number) => {
        if (tag.type === "error") {
          errors++;
          return;
        }
        const t = tag.id.indexOf("t");
        if (t < 0) return;
        receipts += `<message to='${tag.from}'><received xmlns='urn:xmpp:receipts' id='${tag.id}'/></message>`;
        const n = Number(tag.id.slice(0, t));
        if (n <= lastSeen[i]!) {
          duplicates++;
          return;
        }
        lastSeen[i] = n;
        delivered++;
        topUp++;
        if (measuring) {
          deliveredInWindow++;
          perSecond.count++;
          lat.add(now - Number(tag.id.slice(t + 1)));
        }
      };
      r.onChunkEnd = () => {
        if (receipts) {
          r.write(receipts);
          receipts = "";
        }
        if (!sending || topUp === 0) return;
        let out = "";
        for (; topUp > 0; topUp--) out += stanza(i);
        sender(i).write(out);
      };
      // Errors bounce to the sender.
      sender(i).onMessage = (tag: MessageTag) => {
        if (tag.type === "error") errors++;
      };
    }
    for (let i = 0; i < K; i++) {
      let out = "";
      for (let w = 0; w < o.window; w++) out += stanza(i);
      sender(i).write(out);
    }
    progress(`end to end: ${variant}: warm-up ${o.warmupS} s`);
    await sleep(o.warmupS * 1000);
    const mariadbPid = findPid(["mariadbd", "mysqld"]);
    const meter = new CpuMeter({ tlim: child?.pid, prosody: prosodyPid, mariadb: o.config === "prosody" ? null : mariadbPid, driver: process.pid });
    measuring = true;
    meter.start();
    const seconds = await perSecond.measure(o.measureS);
    measuring = false;
    const cpu = meter.stop();
    const rss = child ? rssMiB(child.pid) : null;
    const prosodyRss = prosodyPid ? rssMiB(prosodyPid) : null;
    sending = false;
    const drainUntil = Date.now() + 10_000;
    while (delivered + errors < sent && Date.now() < drainUntil) await sleep(50);

    let rowsNote = "";
    let rows: number | null = null;
    if (o.config === "mam") {
      const [r] = await query(db!.url, ["SELECT COUNT(*) AS n FROM prosodyarchive"]);
      rows = Number(r![0]!.n);
      rowsNote = `${round(rows / Math.max(1, delivered), 2)} archive rows/msg`;
    } else if (o.config === "tlim") {
      const [m, i] = await query(db!.url, ["SELECT COUNT(*) AS n FROM messages", "SELECT COUNT(*) AS n FROM inbox"]);
      rows = Number(m![0]!.n) + Number(i![0]!.n);
      rowsNote = `${Number(m![0]!.n) === delivered ? "1 message row" : `${Number(m![0]!.n)} message rows for ${delivered}`} + ${round(Number(i![0]!.n) / Math.max(1, delivered), 2)} inbox rows/msg`;
    }
    const s = lat.summary();
    const rate = deliveredInWindow / seconds;
    const lost = sent - delivered - errors;
    progress(`end to end: ${variant}: ${Math.round(rate)} msg/s, p50 ${s.p50} ms, p99 ${s.p99} ms`);
    return row({
      scenario: "3 end to end",
      variant,
      rate,
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      tlimCpu: cpu.cpu.tlim ?? null,
      tlimRssMiB: rss,
      notes: [
        `Prosody CPU ${Math.round(cpu.cpu.prosody ?? 0)} %`,
        o.config === "prosody" ? "" : `MariaDB CPU ${Math.round(cpu.cpu.mariadb ?? 0)} %`,
        rowsNote,
        lost || duplicates || errors ? `LOST ${lost} dup ${duplicates} err ${errors}` : "0 lost",
      ].filter(Boolean).join(", "),
      extra: {
        config: o.config,
        pairs: K,
        window: o.window,
        seconds: round(seconds, 3),
        deliveredInWindow,
        perSecondMin: perSecond.min,
        perSecondMax: perSecond.max,
        latency: s,
        sent,
        delivered,
        lost,
        duplicates,
        errors,
        rows,
        cpuPctOfCore: Object.fromEntries(Object.entries(cpu.cpu).map(([k, v]) => [k, round(v, 1)])),
        prosodyRssMiB: prosodyRss,
        machineBusyPct: round(cpu.machineBusyPct, 1),
        otherCpuPctOfCore: round(cpu.otherPctOfCore, 1),
      },
    });
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await child?.stop().catch(() => null);
    await prosody?.stop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
  }
}
