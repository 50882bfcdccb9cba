// Scenario 2: the component path. The load driver plays the XMPP server (XEP-0114), so Prosody
// is not the bottleneck: K sender/receiver pairs, each sender s<i>@localhost sends MTT-000 to
// r<i>@<component>. Closed loop with a window of W per pair, then an open loop
// at half the measured rate for latency. A message counts when its delivery to the recipient
// comes back out of tlim, i.e. after commit (tlim delivers only what is stored).
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ComponentDriver, type MessageTag } from "../lib/component-driver.js";
import { createBenchDb, tlimRowCounts, type DbKind } from "../lib/db.js";
import { CpuMeter, findPid, peakRssMiB, rssMiB } from "../lib/proc.js";
import { progress, row, type ResultRow } from "../lib/report.js";
import { Latencies, round, sleep } from "../lib/stats.js";
import { PerSecond } from "../lib/window.js";
import { monotonicUs, summariseProfile } from "../lib/profile.js";
import { startTlimChild, type TlimChild } from "../lib/tlim-process.js";

export const COMPONENT = "tlim.localhost";
export const USERS = "localhost";
export const SECRET = "bench-secret";

/** ~60 characters of text: the envelope in <body> is then ~250 bytes, the stanza ~360. */
const TEXT = "benchmark message: the quick brown fox jumps over the lazy dog";

/** A 1:1 text from `from`'s device "r"; with `receipt`, asking for a XEP-0184 receipt. */
export function chatStanza(from: string, to: string, msgId: string, now: number, receipt = false): string {
  return (
    `<message type="chat" from="${from}@${USERS}/r" to="${to}@${COMPONENT}" id="${msgId}"><body>` +
    `{"compress":"0","encode":"0","encrypt":"0","version":"2.1.0","msg_from":"${from}","msg_to":"${to}",` +
    `"msg_id":"${msgId}","msg_type":"MTT-000","msg_time":"${Math.round(now)}","body":[{"text":"${TEXT}"}]}` +
    `</body>${receipt ? '<request xmlns="urn:xmpp:receipts"/>' : ""}</message>`
  );
}

/** A device's XEP-0184 receipt for a push it got from `from` (the conversation's address). */
export function receiptStanza(user: string, from: string, id: string): string {
  return `<message from="${user}@${USERS}/r" to="${from}"><received xmlns="urn:xmpp:receipts" id="${id}"/></message>`;
}

export function presenceStanza(user: string, type?: "unavailable"): string {
  return `<presence from="${user}@${USERS}/r" to="${COMPONENT}"${type ? ` type="${type}"` : ""}/>`;
}

export function tlimOverrides(service: string, dbUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    xmppService: service,
    xmppDomain: COMPONENT,
    xmppSecret: SECRET,
    userDomain: USERS,
    dbUrl,
    httpPort: 0,
    apiSecret: "bench-api-secret",
    logLevel: process.env.BENCH_TLIM_LOG_LEVEL || "silent",
    jimEnabled: false,
    xmppPingIntervalS: 0,
    // A load generator is not a user: the per-user limits (TLIM_USER_RATE…) stay out of the way.
    userRate: 0,
    userInFlightMax: 1_000_000,
    jimLoginPerAddress: 0,
    fileDir: join(tmpdir(), `tlim-bench-files-${process.pid}`),
    ...extra,
  };
}

/** Per batch: how often each kind of statement ran and its mean wall ms. */
function sqlDelta(a: Record<string, { n: number; ms: number }>, b: Record<string, { n: number; ms: number }>, batches: number) {
  return Object.fromEntries(
    Object.entries(b).map(([k, v]) => {
      const n = v.n - (a[k]?.n ?? 0);
      const ms = v.ms - (a[k]?.ms ?? 0);
      return [k, { perBatch: round(n / batches, 2), meanMs: n ? round(ms / n, 2) : 0 }];
    }),
  );
}

/** Event-loop utilisation between two cumulative readings, in %. */
export function eluPct(a: { idle: number; active: number }, b: { idle: number; active: number }): number {
  const active = b.active - a.active;
  const idle = b.idle - a.idle;
  return active + idle > 0 ? (active / (active + idle)) * 100 : 0;
}

export interface ComponentOptions {
  db: DbKind;
  pairs: number;
  window: number;
  warmupS: number;
  measureS: number;
  /** Open loop at this many msg/s instead of the closed loop. */
  rate?: number;
  profileDir?: string;
  experiments?: string[];
  label?: string;
  /** Run tlim from the tsc build (profiling: real line numbers). */
  compiled?: boolean;
  /** Extra tlim config overrides (e.g. writeBatchMax). */
  extraConfig?: Record<string, unknown>;
}

/** A started tlim child against a fresh database and a driver it is linked to. */
export async function startLinkedTlim(
  db: DbKind,
  prefix: string,
  opts: { profileDir?: string; experiments?: string[]; name?: string; extra?: Record<string, unknown>; compiled?: boolean } = {},
) {
  const database = await createBenchDb(db, prefix);
  const driver = await ComponentDriver.listen(COMPONENT, SECRET);
  let child: TlimChild;
  try {
    child = await startTlimChild(tlimOverrides(driver.service, database.url, opts.extra), {
      profileDir: opts.profileDir,
      experiments: opts.experiments,
      name: opts.name ?? prefix,
      compiled: opts.compiled,
    });
    await driver.waitOnline();
  } catch (err) {
    await driver.close();
    await database.drop();
    throw err;
  }
  return { database, driver, child };
}

export async function runComponentPath(o: ComponentOptions): Promise<ResultRow> {
  const mode = o.rate ? `open loop ${Math.round(o.rate)} msg/s` : `closed loop`;
  const variant = `${o.db === "mariadb" ? "MariaDB" : "SQLite"}, ${mode}, K=${o.pairs}${o.rate ? "" : ` W=${o.window}`}${o.experiments?.length ? ` +${o.experiments.join("+")}` : ""}`;
  progress(`component path: ${variant}: starting tlim`);
  const { database, driver, child } = await startLinkedTlim(o.db, `comp_${o.db}`, { profileDir: o.profileDir, experiments: o.experiments, name: o.label, extra: o.extraConfig, compiled: o.compiled });
  try {
    const K = o.pairs;
    const senders = Array.from({ length: K }, (_, i) => `s${i}`);
    const receivers = Array.from({ length: K }, (_, i) => `r${i}`);
    // Directed presence first: tlim then pushes to each device's full JID (delivery.ts).
    await driver.write([...senders, ...receivers].map((u) => presenceStanza(u)).join(""));
    await sleep(1500); // each device's first sync (cursor lookup, empty backlog) settles

    const seq = new Int32Array(K); // last seq sent per pair
    const lastSeen = new Int32Array(K); // last seq delivered per pair (order check)
    const inflight = new Int32Array(K);
    const topUp: number[] = [];
    // Receivers acknowledge every push with a XEP-0184 receipt, as real clients do.
    let receipts = "";
    let measuring = false;
    let sending = true;
    let sent = 0;
    let delivered = 0;
    let deliveredInWindow = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    let errors = 0;
    const lat = new Latencies();
    const perSecond = new PerSecond();

    const stanzaFor = (i: number): string => {
      const n = ++seq[i]!;
      const now = performance.now();
      sent++;
      inflight[i]!++;
      return chatStanza(senders[i]!, receivers[i]!, `${n}t${now.toFixed(3)}`, now);
    };

    driver.onMessage = (tag: MessageTag, now: number) => {
      if (tag.type === "error") {
        errors++;
        const i = Number(tag.to.slice(1, tag.to.indexOf("@")));
        if (tag.to.startsWith("s") && i >= 0 && i < K) {
          inflight[i]!--;
          if (sending && !o.rate) topUp.push(i);
        }
        return;
      }
      if (tag.to.charCodeAt(0) !== 114 /* r */) return; // a forwarded receipt, or the sender's ASYNC copy
      const i = Number(tag.to.slice(1, tag.to.indexOf("@")));
      receipts += receiptStanza(receivers[i]!, tag.from, tag.id);
      const t = tag.id.indexOf("t");
      const n = Number(tag.id.slice(0, t));
      if (n <= lastSeen[i]!) {
        duplicates++;
        return;
      }
      if (n !== lastSeen[i]! + 1) outOfOrder++;
      lastSeen[i] = n;
      inflight[i]!--;
      delivered++;
      if (measuring) {
        deliveredInWindow++;
        perSecond.count++;
        lat.add(now - Number(tag.id.slice(t + 1)));
      }
      if (sending && !o.rate) topUp.push(i);
    };
    driver.onChunkEnd = () => {
      if (topUp.length === 0 && receipts === "") return;
      let out = receipts;
      receipts = "";
      for (const i of topUp) out += stanzaFor(i);
      topUp.length = 0;
      void driver.write(out);
    };

    // Load.
    let ticker: NodeJS.Timeout | null = null;
    if (o.rate) {
      const start = performance.now();
      let next = 0;
      const tick = () => {
        if (!sending) return;
        const due = Math.floor(((performance.now() - start) / 1000) * o.rate!);
        let out = "";
        // Cap what one tick may queue, so an overloaded tlim is not buried (the loss shows as lag).
        for (let k = 0; sent < due && k < 5000; k++) out += stanzaFor(next++ % K);
        if (out) void driver.write(out);
        ticker = setTimeout(tick, 1);
      };
      tick();
    } else {
      let out = "";
      for (let i = 0; i < K; i++) for (let w = 0; w < o.window; w++) out += stanzaFor(i);
      await driver.write(out);
    }

    progress(`component path: ${variant}: warm-up ${o.warmupS} s`);
    await sleep(o.warmupS * 1000);
    const mariadbPid = o.db === "mariadb" ? findPid(["mariadbd", "mysqld"]) : null;
    const meter = new CpuMeter({ tlim: child.pid, mariadb: mariadbPid, driver: process.pid });
    const statsBefore = await child.stats();
    measuring = true;
    const windowUs: [number, number] = [monotonicUs(), 0];
    meter.start();
    const seconds = await perSecond.measure(o.measureS);
    measuring = false;
    windowUs[1] = monotonicUs();
    const cpu = meter.stop();
    const rss = rssMiB(child.pid);
    const statsAfter = await child.stats();

    // Drain: stop sending, wait for everything in flight.
    sending = false;
    if (ticker) clearTimeout(ticker);
    const drainUntil = Date.now() + 15_000;
    while (delivered + errors < sent && Date.now() < drainUntil) await sleep(50);
    const peak = peakRssMiB(child.pid);
    const profile = await child.stop();
    const counts = await tlimRowCounts(database.url);

    const batches = statsAfter.writer.batches - statsBefore.writer.batches;
    const batched = statsAfter.writer.messages - statsBefore.writer.messages;
    const s = lat.summary();
    const rate = deliveredInWindow / seconds;
    progress(`component path: ${variant}: ${Math.round(rate)} msg/s, p50 ${s.p50} ms, p99 ${s.p99} ms, tlim CPU ${Math.round(cpu.cpu.tlim ?? 0)} %`);
    const lost = sent - delivered - errors;
    return row({
      scenario: "2 component path",
      variant,
      rate,
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      tlimCpu: cpu.cpu.tlim ?? null,
      tlimRssMiB: rss,
      notes: [
        o.db === "mariadb" ? `MariaDB CPU ${Math.round(cpu.cpu.mariadb ?? 0)} %` : "",
        `batch ${batches ? Math.round(batched / batches) : 0} msgs`,
        lost || duplicates || outOfOrder || errors ? `LOST ${lost} dup ${duplicates} disorder ${outOfOrder} err ${errors}` : "0 lost",
      ].filter(Boolean).join(", "),
      extra: {
        db: o.db,
        pairs: K,
        window: o.rate ? null : o.window,
        offeredRate: o.rate ?? null,
        seconds: round(seconds, 3),
        deliveredInWindow,
        perSecondMin: perSecond.min,
        perSecondMax: perSecond.max,
        latency: s,
        sent,
        delivered,
        lost,
        duplicates,
        outOfOrder,
        errors,
        rowsMessages: counts.messages,
        rowsInbox: counts.inbox,
        rowsCheck: counts.messages === delivered && counts.inbox === 2 * delivered ? "ok" : "MISMATCH",
        writerBatches: batches,
        commitMsPerBatch: batches ? round((statsAfter.commit.ms - statsBefore.commit.ms) / batches, 2) : null,
        commitBusyPct: round(((statsAfter.commit.ms - statsBefore.commit.ms) / (seconds * 1000)) * 100, 1),
        sqlPerBatch: statsAfter.sql && batches ? sqlDelta(statsBefore.sql ?? {}, statsAfter.sql, batches) : null,
        eventLoopUtilisationPct: round(eluPct(statsBefore.elu, statsAfter.elu), 1),
        meanBatch: batches ? round(batched / batches, 1) : null,
        cpuPctOfCore: Object.fromEntries(Object.entries(cpu.cpu).map(([k, v]) => [k, round(v, 1)])),
        machineBusyPct: round(cpu.machineBusyPct, 1),
        otherCpuPctOfCore: round(cpu.otherPctOfCore, 1),
        tlimPeakRssMiB: peak,
        experiments: o.experiments ?? [],
        profile,
        profileSummary: profile ? summariseProfile(profile, windowUs) : null,
      },
    });
  } finally {
    await driver.close();
    await child.stop().catch(() => null);
    await database.drop().catch(() => undefined);
  }
}

/**
 * The write path alone: Store.commitBatch called in a loop with `batch` 1:1 messages each (the
 * writer's default maximum), in this process, nothing else on its event loop. What the group
 * commit could reach if the XMPP side cost nothing: the bound the component path runs into.
 */
export async function runStoreOnly(db: DbKind, batch: number, warmupS: number, measureS: number): Promise<ResultRow> {
  const variant = `${db === "mariadb" ? "MariaDB" : "SQLite"}, store only: Store.commitBatch of ${batch} in a loop`;
  progress(`component path: ${variant}`);
  const database = await createBenchDb(db, `store_${db}`);
  const { openStore } = await import("../../src/store/open.js");
  const { chatConvId } = await import("../../src/store/types.js");
  const store = await openStore(database.url, { migrate: true });
  try {
    let n = 0;
    const body = JSON.stringify([{ text: TEXT }]);
    const make = () => {
      const i = n++ % 100;
      const from = `s${i}`;
      const to = `r${i}`;
      return {
        convId: chatConvId(from, to), msgId: `m${n}`, msgFrom: from, msgTo: to, msgType: "MTT-000", msgTime: String(Date.now()),
        body, sessionId: null, compress: "0", encode: "0", encrypt: "0", version: "2.1.0", recipients: [to, from],
      };
    };
    const loop = async (ms: number, lat: Latencies | null) => {
      let msgs = 0;
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const b = Array.from({ length: batch }, make);
        const t0 = performance.now();
        await store.commitBatch(b);
        lat?.add(performance.now() - t0);
        msgs += batch;
      }
      return msgs;
    };
    await loop(warmupS * 1000, null);
    const lat = new Latencies();
    const meter = new CpuMeter({ mariadb: db === "mariadb" ? findPid(["mariadbd", "mysqld"]) : null, self: process.pid });
    meter.start();
    const t0 = performance.now();
    const msgs = await loop(measureS * 1000, lat);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = meter.stop();
    const s = lat.summary();
    const rate = msgs / seconds;
    progress(`component path: ${variant}: ${Math.round(rate)} msg/s`);
    return row({
      scenario: "2 component path",
      variant,
      rate,
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      tlimCpu: cpu.cpu.self ?? null,
      notes: `commit latency per batch; in the bench process${db === "mariadb" ? `; MariaDB CPU ${Math.round(cpu.cpu.mariadb ?? 0)} %` : ""}`,
      extra: {
        db,
        batch,
        seconds: round(seconds, 3),
        messages: msgs,
        cpuPctOfCore: Object.fromEntries(Object.entries(cpu.cpu).map(([k, v]) => [k, round(v, 1)])),
        otherCpuPctOfCore: round(cpu.otherPctOfCore, 1),
      },
    });
  } finally {
    await store.close();
    await database.drop().catch(() => undefined);
  }
}
