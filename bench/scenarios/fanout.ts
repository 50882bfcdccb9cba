// Scenario 4: session fan-out. One message to a 1,000-member session with every member online
// (directed presence to the component, so tlim pushes type="chat"): the time from the stanza
// going into tlim until the last member's delivery comes out; rows written per message; the
// body stored once. Messages go one at a time (each waits for its last delivery).
import { progress, row, type ResultRow } from "../lib/report.js";
import { CpuMeter, findPid, rssMiB } from "../lib/proc.js";
import { Latencies, round, sleep } from "../lib/stats.js";
import { query, tlimRowCounts, type DbKind } from "../lib/db.js";
import type { MessageTag } from "../lib/component-driver.js";
import { COMPONENT, presenceStanza, receiptStanza, startLinkedTlim, USERS } from "./component.js";

const TEXT = "fan-out benchmark message to every member of a large session";

export async function apiCall(httpUrl: string, name: string, params: Record<string, string>): Promise<any> {
  const res = await fetch(`${httpUrl}/plugins/tlim/${name}`, {
    method: "POST",
    headers: { authorization: "Bearer bench-api-secret", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params),
  });
  return res.json();
}

export interface FanoutOptions {
  db: DbKind;
  members: number;
  messages: number;
}

export async function runFanout(o: FanoutOptions): Promise<ResultRow> {
  const variant = `${o.db === "mariadb" ? "MariaDB" : "SQLite"}, ${o.members.toLocaleString("en-US")} members online, ${o.messages} messages one at a time`;
  progress(`fan-out: ${variant}: starting tlim`);
  const { database, driver, child } = await startLinkedTlim(o.db, `fanout_${o.db}`);
  try {
    const members = Array.from({ length: o.members }, (_, i) => `m${i}`);
    const created = await apiCall(child.httpUrl, "addSession", {
      session_type: "2",
      request_user: members[0]!,
      subscribers: JSON.stringify(members.slice(1).map((user_id) => ({ user_id }))),
    });
    if (created.result !== "ok") throw new Error(`addSession failed: ${JSON.stringify(created).slice(0, 300)}`);
    const sid = String(created.session_id);
    await driver.write(members.map((m) => presenceStanza(m)).join(""));
    // Every member's first sync writes its device cursor; wait for all of them to settle.
    const until = Date.now() + 30_000;
    for (;;) {
      const [r] = await query(database.url, ["SELECT COUNT(*) AS n FROM device_cursors"]);
      if (Number(r![0]!.n) >= o.members || Date.now() > until) break;
      await sleep(200);
    }
    await sleep(1000);
    const before = await tlimRowCounts(database.url);

    interface Current {
      id: string;
      t0: number;
      got: number;
      first: number;
      last: number;
      done: () => void;
    }
    let current = null as Current | null;
    let stray = 0;
    // Every member's device acknowledges what it gets (XEP-0184), as real clients do.
    let receipts = "";
    driver.onChunkEnd = () => {
      if (receipts === "") return;
      const out = receipts;
      receipts = "";
      void driver.write(out);
    };
    driver.onMessage = (tag: MessageTag, now: number) => {
      if (!current || tag.id !== current.id || tag.type === "error") {
        if (tag.type === "error") stray++;
        return;
      }
      receipts += receiptStanza(tag.to.slice(0, tag.to.indexOf("@")), tag.from, tag.id);
      if (current.got === 0) current.first = now - current.t0;
      current.got++;
      if (current.got === o.members) {
        current.last = now - current.t0;
        current.done();
      }
    };
    const toLast = new Latencies();
    const toFirst = new Latencies();
    const meter = new CpuMeter({ tlim: child.pid, mariadb: o.db === "mariadb" ? findPid(["mariadbd", "mysqld"]) : null });
    meter.start();
    const tStart = performance.now();
    let deliveries = 0;
    for (let k = 0; k < o.messages + 1; k++) {
      const id = `fan-${k}-${Date.now()}`;
      const env =
        `{"compress":"0","encode":"0","encrypt":"0","version":"2.1.0","msg_from":"${members[0]}","msg_to":"${sid}",` +
        `"msg_id":"${id}","msg_type":"MTS-000","msg_time":"${Date.now()}","body":[{"session_id":"${sid}","text":"${TEXT}"}]}`;
      const done = new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`fan-out message ${k}: ${current?.got} of ${o.members} deliveries after 30 s`)), 30_000);
        current = { id, t0: performance.now(), got: 0, first: 0, last: 0, done: () => (clearTimeout(t), resolve()) };
      });
      await driver.write(`<message type="chat" from="${members[0]}@${USERS}/r" to="${sid}@${COMPONENT}" id="${id}"><body>${env}</body></message>`);
      await done;
      const c = current!;
      if (k > 0) {
        // The first message warms up (statement cache, JIT); it is not counted.
        toLast.add(c.last);
        toFirst.add(c.first);
        deliveries += c.got;
      }
    }
    const seconds = (performance.now() - tStart) / 1000;
    const cpu = meter.stop();
    const rss = rssMiB(child.pid);
    const after = await tlimRowCounts(database.url);
    const [stored] = await query(database.url, [`SELECT COUNT(*) AS n FROM messages WHERE msg_id LIKE 'fan-%'`]);
    const sent = o.messages + 1;
    const s = toLast.summary();
    const f = toFirst.summary();
    const inboxPerMsg = (after.inbox - before.inbox) / sent;
    const msgRows = after.messages - before.messages;
    progress(`fan-out: ${variant}: last member after p50 ${s.p50} ms / max ${s.max} ms`);
    return row({
      scenario: "4 fan-out",
      variant,
      rate: deliveries / seconds,
      unit: "deliveries/s",
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      tlimCpu: cpu.cpu.tlim ?? null,
      tlimRssMiB: rss,
      notes: `time to the last member; first member p50 ${f.p50} ms; per message ${round(msgRows / sent, 2)} message row (body stored once: ${Number(stored![0]!.n) === sent ? "yes" : "NO"}) + ${round(inboxPerMsg, 1)} inbox rows`,
      extra: {
        db: o.db,
        members: o.members,
        messagesTimed: o.messages,
        timeToLast: s,
        timeToFirst: f,
        messageRowsPerMessage: round(msgRows / sent, 3),
        inboxRowsPerMessage: round(inboxPerMsg, 3),
        bodyBytesPerMessage: round((after.bodyBytes - before.bodyBytes) / sent, 1),
        bodyStoredOnce: Number(stored![0]!.n) === sent,
        strayErrors: stray,
        cpuPctOfCore: Object.fromEntries(Object.entries(cpu.cpu).map(([k, v]) => [k, round(v, 1)])),
      },
    });
  } finally {
    await driver.close();
    await child.stop().catch(() => null);
    await database.drop().catch(() => undefined);
  }
}
