// Retention on a real database (docs/reliability.md "Retention", docs/performance.md "Retention
// and the write path"):
//
//   npx tsx bench/retention.ts [--db mariadb|sqlite] [--conversations 2000] [--per 100] [--batch 500] [--seconds 8]
//
//  1. the store's write rate alone (one writer, 100-message batches of 1:1 messages);
//  2. the same writer while a purge round removes `conversations × per` old messages with their
//     inbox entries: its write rate then, and how fast the round purged (messages/s);
//  3. the write rate alone again (the ratio is against the mean of 1 and 3, which brackets 2);
//  4. a round with nothing left to purge over the same conversations and users: what the walk costs.
// Messages are made old by moving their commit time back 40 days, as the integration test does.
// One JSON line on stdout; progress on stderr. Nothing here is a test: no figure is asserted.
import { createLogger } from "../src/log.js";
import { Retention } from "../src/core/retention.js";
import { openStore } from "../src/store/open.js";
import { createDataSource } from "../src/store/sql/datasource.js";
import { chatConvId, type NewMessage, type Store } from "../src/store/types.js";
import { createBenchDb, type DbKind } from "./lib/db.js";
import { quietGate } from "./lib/proc.js";

const DAY = 86_400_000;
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const db = opt("db", "mariadb") as DbKind;
const conversations = Number(opt("conversations", "2000"));
const per = Number(opt("per", "100"));
const batch = Number(opt("batch", "500"));
const seconds = Number(opt("seconds", "8"));
const progress = (s: string) => process.stderr.write(`[retention bench] ${s}\n`);

let n = 0;
function message(from: string, to: string): NewMessage {
  n++;
  return {
    convId: chatConvId(from, to), msgId: `m${n}`, msgFrom: from, msgTo: to, msgType: "MTT-000", msgTime: String(Date.now()),
    body: JSON.stringify([{ text: `message ${n} `.padEnd(80, "x") }]), sessionId: null,
    compress: "0", encode: "0", encrypt: "", version: "1.0", recipients: [to, from],
  };
}

/** Conversation i: u<i> with u<i+1> (users are shared by two conversations, as in a team). */
const pair = (i: number): [string, string] => [`u${i}`, `u${(i + 1) % (conversations + 1)}`];

/** One writer committing 100-message batches until `until()` says stop; messages per second. */
async function writeRate(store: Store, until: () => boolean): Promise<{ rate: number; seconds: number }> {
  const t0 = performance.now();
  let written = 0;
  for (let k = 0; !until(); k++) {
    const out = await store.commitBatch(Array.from({ length: 100 }, (_, j) => message(...pair((k * 100 + j) % conversations))));
    written += out.length;
    // As traffic does, which arrives by I/O: on SQLite a commit resolves without any, and a loop
    // of them alone would keep every timer and setImmediate (the purge's batches) waiting.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const s = (performance.now() - t0) / 1000;
  return { rate: Math.round(written / s), seconds: Math.round(s * 10) / 10 };
}

const database = await createBenchDb(db, "retention");
const store = await openStore(database.url, { migrate: true });
const log = createLogger("silent");
try {
  progress(`${db}: filling ${conversations} conversations × ${per} messages`);
  for (let done = 0; done < conversations * per; done += 500) {
    await store.commitBatch(Array.from({ length: 500 }, (_, j) => message(...pair(Math.floor((done + j) / per) % conversations))));
  }
  const ds = createDataSource(database.url);
  await ds.initialize();
  await ds.query("UPDATE messages SET created_at = created_at - ?", [40 * DAY]);
  await ds.query("UPDATE inbox SET created_at = created_at - ?", [40 * DAY]);
  await ds.destroy();

  await quietGate(10, 30_000);
  progress("write rate alone");
  const stopAt = (s: number) => {
    const end = performance.now() + s * 1000;
    return () => performance.now() >= end;
  };
  const alone1 = await writeRate(store, stopAt(seconds));

  progress("write rate while a round purges");
  const retention = new Retention(store, { chatDays: 30, sessionDays: 30, intervalMs: 3_600_000, batch }, log);
  let purging = true;
  const t0 = performance.now();
  const round = retention.runOnce().finally(() => {
    purging = false;
  });
  const during = await writeRate(store, () => !purging);
  const totals = await round;
  const roundS = (performance.now() - t0) / 1000;

  await quietGate(10, 30_000);
  progress("write rate alone, again");
  const alone2 = await writeRate(store, stopAt(seconds));
  const alone = { rate: Math.round((alone1.rate + alone2.rate) / 2) };

  progress("a round with nothing to purge");
  const t1 = performance.now();
  const idle = await retention.runOnce();
  const idleMs = performance.now() - t1;

  console.log(JSON.stringify({
    db, conversations, users: conversations + 1, oldMessages: conversations * per, batch,
    writeAlone: [alone1.rate, alone2.rate], writeDuringPurge: during.rate, ratio: Math.round((during.rate / alone.rate) * 1000) / 1000,
    purged: totals, roundS: Math.round(roundS * 10) / 10, purgedMessagesPerS: Math.round(totals.messages / roundS),
    idleRound: { ms: Math.round(idleMs), batches: idle.batches, messages: idle.messages, inbox: idle.inbox },
  }));
} finally {
  await store.close();
  await database.drop();
}
process.exit(0);
