// Scenario 6: J-IM connections. As many logged-in J-IM TCP connections as this bench can open
// (BENCH_JIM_CONNECTIONS, default 10,000; bounded by the open-files limit of the driver and of
// tlim, each holding one socket per connection), opened in parallel waves: login rate and latency
// (token login, docs/jim-gateway.md), tlim's RSS and CPU per connection, idle CPU with everyone
// connected, and the latency of J-IM → J-IM chat (command 11) while they are.
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { createHmac } from "node:crypto";
import { createBenchDb } from "../lib/db.js";
import { ComponentDriver } from "../lib/component-driver.js";
import { cpuSeconds, rssMiB } from "../lib/proc.js";
import { progress, row, type ResultRow } from "../lib/report.js";
import { Latencies, round, sleep } from "../lib/stats.js";
import { REPO_DIR, startTlimChild } from "../lib/tlim-process.js";
import { COMPONENT, SECRET, tlimOverrides } from "./component.js";

const TOKEN_SECRET = "bench-jim-token-secret";

function token(userId: string): string {
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  return `${expiry}.${createHmac("sha256", TOKEN_SECRET).update(`${userId}.${expiry}`).digest("hex")}`;
}

function frame(cmd: number, body: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(body), "utf8");
  const header = Buffer.alloc(7);
  header[0] = 0x01;
  header[1] = 0x51;
  header.writeInt8(cmd, 2);
  header.writeInt32BE(payload.length, 3);
  return Buffer.concat([header, payload]);
}

/** One J-IM TCP client: frames in, callback per frame (cmd, parsed JSON body). */
class JimClient {
  private buf: Buffer = Buffer.alloc(0);
  onFrame: (cmd: number, body: Record<string, unknown>) => void = () => {};
  constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      for (;;) {
        if (this.buf.length < 7) return;
        const seq = (this.buf[1]! & 0x20) !== 0;
        const h = seq ? 11 : 7;
        if (this.buf.length < h) return;
        const cmd = this.buf.readInt8(h - 5);
        const len = this.buf.readInt32BE(h - 4);
        if (this.buf.length < h + len) return;
        const body = this.buf.subarray(h, h + len).toString("utf8");
        this.buf = this.buf.subarray(h + len);
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          /* not JSON */
        }
        this.onFrame(cmd, json);
      }
    });
    socket.on("error", () => {});
  }
}

function login(port: number, userId: string): Promise<{ client: JimClient; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = connect({ host: "127.0.0.1", port });
    socket.setNoDelay(true);
    const client = new JimClient(socket);
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`login of ${userId}: no answer in 30 s`))), 30_000);
    socket.once("error", (e) => (clearTimeout(timer), reject(e)));
    client.onFrame = (cmd, body) => {
      if (cmd !== 6) return;
      clearTimeout(timer);
      client.onFrame = () => {};
      if (body.code === 10007) resolve({ client, ms: performance.now() - t0 });
      else reject(new Error(`login of ${userId} refused: ${JSON.stringify(body).slice(0, 200)}`));
    };
    socket.on("connect", () => socket.write(frame(5, { userId, token: token(userId) })));
  });
}

export async function runJim(o: { warmupS: number; measureS: number }): Promise<ResultRow> {
  if (!existsSync(join(REPO_DIR, "src", "transports", "jim", "index.ts"))) {
    return row({ scenario: "6 J-IM connections", variant: "not measured yet", notes: "src/transports/jim does not exist in this tree" });
  }
  const target = Number(process.env.BENCH_JIM_CONNECTIONS ?? 10_000);
  progress(`J-IM: starting tlim with the gateway; up to ${target.toLocaleString("en-US")} connections`);
  const database = await createBenchDb("mariadb", "jim");
  const driver = await ComponentDriver.listen(COMPONENT, SECRET);
  const child = await startTlimChild(
    tlimOverrides(driver.service, database.url, { jimEnabled: true, jimPort: 0, jimTokenSecret: TOKEN_SECRET }),
    { name: "jim" },
  ).catch(async (err: unknown) => {
    await driver.close();
    await database.drop();
    throw err;
  });
  const clients: JimClient[] = [];
  try {
    if (!child.jimPort) return row({ scenario: "6 J-IM connections", variant: "not measured yet", notes: "this tlim has no J-IM port (gateway not wired in yet)" });
    await driver.waitOnline();
    const port = child.jimPort;
    const rss0 = rssMiB(child.pid) ?? 0;
    const lat = new Latencies();
    const cpu0 = cpuSeconds(child.pid) ?? 0;
    const t0 = performance.now();
    const WAVE = 200;
    let failure = "";
    for (let n = 0; n < target && !failure; n += WAVE) {
      const wave = await Promise.allSettled(Array.from({ length: Math.min(WAVE, target - n) }, (_, k) => login(port, `j${n + k}`)));
      for (const r of wave) {
        if (r.status === "fulfilled") {
          clients.push(r.value.client);
          lat.add(r.value.ms);
        } else failure ||= String((r.reason as Error).message);
      }
      if ((n + WAVE) % 2000 === 0) progress(`  J-IM: ${clients.length.toLocaleString("en-US")} logged in, tlim RSS ${Math.round(rssMiB(child.pid) ?? 0)} MiB`);
    }
    const loginSeconds = (performance.now() - t0) / 1000;
    const loginCpu = (cpuSeconds(child.pid) ?? 0) - cpu0;
    const rss1 = rssMiB(child.pid) ?? 0;

    // Idle with everyone connected.
    await sleep(2000);
    const c1 = cpuSeconds(child.pid) ?? 0;
    await sleep(o.warmupS * 1000);
    const idleCpu = (((cpuSeconds(child.pid) ?? 0) - c1) / o.warmupS) * 100;

    // Chat while connected: j0 → j1 … pairs, one at a time (command 11 → push 11 to the peer).
    const chat = new Latencies();
    if (clients.length >= 2) {
      const until = performance.now() + Math.min(o.measureS, 5) * 1000;
      for (let k = 0; performance.now() < until; k++) {
        const a = (2 * k) % (clients.length - 1);
        const from = clients[a]!;
        const to = clients[a + 1]!;
        const ms = await new Promise<number>((resolve, reject) => {
          const t = performance.now();
          const timer = setTimeout(() => reject(new Error("chat push not received in 10 s")), 10_000);
          to.onFrame = (cmd) => {
            if (cmd !== 11) return;
            clearTimeout(timer);
            to.onFrame = () => {};
            resolve(performance.now() - t);
          };
          from.socket.write(frame(11, { from: `j${a}`, to: `j${a + 1}`, cmd: 11, createTime: Date.now(), msgType: 0, chatType: 2, content: `bench ${k}` }));
        });
        chat.add(ms);
      }
    }
    const s = lat.summary();
    const c = chat.summary();
    const perConnKiB = clients.length ? ((rss1 - rss0) * 1024) / clients.length : 0;
    progress(`J-IM: ${clients.length} connections, ${Math.round(clients.length / loginSeconds)} logins/s, ${round(perConnKiB, 1)} KiB each${failure ? `; stopped: ${failure}` : ""}`);
    return row({
      scenario: "6 J-IM connections",
      variant: `${clients.length.toLocaleString("en-US")} logged-in TCP connections (token login, waves of ${WAVE})`,
      rate: clients.length / loginSeconds,
      unit: "logins/s",
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      tlimCpu: (loginCpu / loginSeconds) * 100,
      tlimRssMiB: rss1,
      notes: `login latency; ${round(perConnKiB, 1)} KiB RSS per connection; idle CPU ${round(idleCpu, 1)} % with all connected; chat 11→11 p50 ${c.p50} ms p99 ${c.p99} ms${failure ? `; stopped at: ${failure}` : ""}`,
      extra: { target, connected: clients.length, loginSeconds: round(loginSeconds, 2), rssBeforeMiB: rss0, rssAfterMiB: rss1, perConnKiB: round(perConnKiB, 2), idleCpuPct: round(idleCpu, 2), chat: c, failure },
    });
  } finally {
    for (const cl of clients) cl.socket.destroy();
    await driver.close();
    await child.stop().catch(() => null);
    await database.drop().catch(() => undefined);
  }
}
