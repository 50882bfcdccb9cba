// Scenario 5: offline sync. Users with 10,000 pending messages each (sent while tlim knew them
// offline) come back: (a) over XMPP, directed presence → tlim sends the backlog: time to the first
// and to the last message; (b) over HTTP, getOffline (docs/http-api.md "getOffline"; default page 1000, clearing):
// time to the first page, and to the last message paging until empty.
import type { MessageTag } from "../lib/component-driver.js";
import { tlimRowCounts, type DbKind } from "../lib/db.js";
import { progress, row, type ResultRow } from "../lib/report.js";
import { rssMiB } from "../lib/proc.js";
import { Latencies, round, sleep } from "../lib/stats.js";
import { chatStanza, presenceStanza, startLinkedTlim } from "./component.js";

export interface OfflineOptions {
  db: DbKind;
  pending: number;
  /** Users that sync over HTTP (each gets `pending` messages); one more syncs over XMPP. */
  httpUsers: number;
}

export async function runOffline(o: OfflineOptions): Promise<ResultRow[]> {
  const dbName = o.db === "mariadb" ? "MariaDB" : "SQLite";
  progress(`offline sync: ${dbName}: starting tlim`);
  const { database, driver, child } = await startLinkedTlim(o.db, `offline_${o.db}`);
  try {
    const targets = ["offx", ...Array.from({ length: o.httpUsers }, (_, i) => `offh${i}`)];
    const SENDERS = 50;
    const senders = Array.from({ length: SENDERS }, (_, i) => `p${i}`);
    // Targets known offline (so nothing is pushed live); senders online.
    await driver.write(targets.map((t) => presenceStanza(t, "unavailable")).join("") + senders.map((s) => presenceStanza(s)).join(""));
    await sleep(1000);

    // Prefill: every sender sends to every target in turn, closed loop on the senders' receipts
    // (a receipt comes back only after commit).
    const total = o.pending * targets.length;
    progress(`offline sync: ${dbName}: storing ${total.toLocaleString("en-US")} messages for ${targets.length} offline users`);
    let sent = 0;
    let committed = 0;
    const seq = new Int32Array(SENDERS);
    const send = (i: number): string => {
      const target = targets[sent % targets.length]!;
      sent++;
      return chatStanza(senders[i]!, target, `pre-${++seq[i]!}`, performance.now(), true);
    };
    const topUp: number[] = [];
    driver.onMessage = (tag: MessageTag) => {
      if (tag.type === "error") throw new Error(`prefill refused: ${JSON.stringify(tag)}`);
      if (tag.to.charCodeAt(0) !== 112 /* p */) return;
      committed++;
      if (sent < total) topUp.push(Number(tag.to.slice(1, tag.to.indexOf("@"))));
    };
    driver.onChunkEnd = () => {
      let out = "";
      for (const i of topUp) if (sent < total) out += send(i);
      topUp.length = 0;
      if (out) void driver.write(out);
    };
    let first = "";
    for (let i = 0; i < SENDERS; i++) for (let w = 0; w < 16 && sent < total; w++) first += send(i);
    await driver.write(first);
    const until = Date.now() + 300_000;
    while (committed < total && Date.now() < until) await sleep(100);
    if (committed < total) throw new Error(`prefill: only ${committed} of ${total} committed`);
    const counts = await tlimRowCounts(database.url);
    await sleep(1500); // let the cursor flush and the writer go idle

    // (a) XMPP: the device comes online and receives its backlog.
    const xFirst = { t: 0 };
    let xGot = 0;
    let xOrderOk = true;
    const lastBySender = new Map<string, number>(); // each sender's messages must come in order
    const t0 = performance.now();
    const xDone = new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`XMPP backlog: ${xGot} of ${o.pending} after 120 s`)), 120_000);
      driver.onMessage = (tag: MessageTag, now: number) => {
        if (!tag.to.startsWith("offx@")) return;
        if (xGot === 0) xFirst.t = now - t0;
        xGot++;
        const n = Number(tag.id.slice(tag.id.indexOf("-") + 1));
        if (n <= (lastBySender.get(tag.from) ?? 0)) xOrderOk = false;
        lastBySender.set(tag.from, n);
        if (xGot === o.pending) {
          clearTimeout(t);
          resolve(now - t0);
        }
      };
    });
    driver.onChunkEnd = () => {};
    await driver.write(presenceStanza("offx"));
    const xLast = await xDone;
    progress(`offline sync: ${dbName}: XMPP backlog of ${o.pending}: first after ${round(xFirst.t)} ms, last after ${round(xLast)} ms`);

    // (b) HTTP getOffline, paging until empty, one user after the other.
    const firstPage = new Latencies();
    const lastMessage = new Latencies();
    let httpMessages = 0;
    let pages = 0;
    for (let u = 1; u < targets.length; u++) {
      const t = performance.now();
      let got = 0;
      for (let page = 0; ; page++) {
        const res = await fetch(`${child.httpUrl}/plugins/tlim/getOffline?user_id=${targets[u]}`, { headers: { authorization: "Bearer bench-api-secret" } });
        const json = (await res.json()) as { result: string; message_list?: unknown[] };
        if (json.result !== "ok") throw new Error(`getOffline: ${JSON.stringify(json).slice(0, 200)}`);
        const n = json.message_list?.length ?? 0;
        if (page === 0) firstPage.add(performance.now() - t);
        pages++;
        if (n === 0) break;
        got += n;
        if (got >= o.pending) lastMessage.add(performance.now() - t);
      }
      httpMessages += got;
    }
    const fp = firstPage.summary();
    const lm = lastMessage.summary();
    progress(`offline sync: ${dbName}: getOffline first page p50 ${fp.p50} ms (max ${fp.max}), all ${o.pending} p50 ${lm.p50} ms`);
    const rss = rssMiB(child.pid);
    const common = { db: o.db, pendingPerUser: o.pending, storedMessages: counts.messages, inboxRows: counts.inbox };
    return [
      row({
        scenario: "5 offline sync",
        variant: `${dbName}, XMPP: presence → backlog of ${o.pending.toLocaleString("en-US")}`,
        rate: (o.pending / xLast) * 1000,
        p50: null,
        p99: null,
        max: xLast,
        tlimRssMiB: rss,
        notes: `first message after ${round(xFirst.t, 1)} ms, last (max column) after ${round(xLast)} ms; ${xGot === o.pending ? "all" : xGot} delivered, in order per sender: ${xOrderOk ? "yes" : "NO"}`,
        extra: { ...common, firstMs: round(xFirst.t, 2), lastMs: round(xLast, 2), delivered: xGot, inOrder: xOrderOk },
      }),
      row({
        scenario: "5 offline sync",
        variant: `${dbName}, HTTP getOffline (page 1000, clear), ${o.httpUsers} users × ${o.pending.toLocaleString("en-US")}`,
        rate: lm.p50 ? (o.pending / lm.p50) * 1000 : null,
        p50: fp.p50,
        p99: null,
        max: fp.max,
        tlimRssMiB: rss,
        notes: `p50/max = first page; all ${o.pending.toLocaleString("en-US")} after p50 ${round(lm.p50 ?? NaN, 1)} ms (${pages} requests, ${httpMessages} messages)`,
        extra: { ...common, firstPage: fp, allMessages: lm, requests: pages, messages: httpMessages },
      }),
    ];
  } finally {
    await driver.close();
    await child.stop().catch(() => null);
    await database.drop().catch(() => undefined);
  }
}
