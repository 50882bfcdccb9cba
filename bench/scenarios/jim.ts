// Scenario 6: J-IM connections. As many logged-in J-IM TCP connections as the machine holds
// (BENCH_JIM_CONNECTIONS, default 100,000), opened by several driver processes
// (bench/lib/jim-driver.ts) from several 127.0.0.x source addresses, with a bounded number of
// token logins in flight (docs/jim-gateway.md). The open-files limits of tlim and of the drivers
// are raised for those processes only (prlimit); when that is not possible the count is what the
// limits allow, and the row says which limit it was. Measured:
//   - logins: rate, latency, tlim CPU;
//   - tlim's memory per idle connection: RSS (and V8 heap, external) growth over the connection
//     count, each read after two full GCs in tlim (bench/lib/gc-hook.ts, --expose-gc: bench only);
//   - idle CPU with everyone connected and no traffic (BENCH_JIM_IDLE_S);
//   - heartbeat CPU: every connection sends the J-IM heartbeat (command 13) once per
//     BENCH_JIM_HEARTBEAT_S, spread evenly; measured over one interval. Clients heartbeat from
//     their login on (as real ones do), so tlim's idle timeout never closes them;
//   - the latency of J-IM → J-IM chat (command 11 → push 11) while all are connected.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createBenchDb } from "../lib/db.js";
import { ComponentDriver } from "../lib/component-driver.js";
import { fdLimitOf, openFds } from "../lib/fd-limit.js";
import { frame, login, type JimClient } from "../lib/jim-client.js";
import { JimFleet } from "../lib/jim-fleet.js";
import { cpuSeconds, peakRssMiB, rssMiB } from "../lib/proc.js";
import { progress, row, type ResultRow } from "../lib/report.js";
import { Latencies, round, sleep } from "../lib/stats.js";
import { BENCH_DIR, REPO_DIR, startTlimChild, type TlimChild } from "../lib/tlim-process.js";
import { COMPONENT, SECRET, tlimOverrides } from "./component.js";

const TOKEN_SECRET = "bench-jim-token-secret";
const SCENARIO = "6 J-IM connections";
const env = process.env;
const num = (name: string, dflt: number) => (env[name] ? Number(env[name]) : dflt);

/** tlim's default idle timeout (TLIM_JIM_HEARTBEAT_TIMEOUT_S): left as is in the bench. */
const TLIM_HEARTBEAT_TIMEOUT_S = 120;

interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Two full GCs in the tlim child, then its memory (bytes); null without the hook. */
function gcMemory(child: TlimChild): Promise<{ memory: Memory; gc: boolean; heapSpaces: Record<string, number> } | null> {
  return new Promise((resolve) => {
    const t = setTimeout(() => (child.proc.off("message", on), resolve(null)), 30_000);
    const on = (m: { type?: string; memory?: Memory; gc?: boolean; heapSpaces?: Record<string, number> }) => {
      if (m?.type !== "gc-done") return;
      clearTimeout(t);
      child.proc.off("message", on);
      resolve({ memory: m.memory!, gc: !!m.gc, heapSpaces: m.heapSpaces ?? {} });
    };
    child.proc.on("message", on);
    child.proc.send({ type: "gc" });
  });
}

/** BENCH_JIM_HEAP_SNAPSHOT=<prefix>: a heap snapshot of tlim (bench/lib/heap-diff.ts compares two). */
function heapSnapshot(child: TlimChild, path: string): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => (child.proc.off("message", on), resolve()), 300_000);
    const on = (m: { type?: string }) => {
      if (m?.type !== "heap-snapshot-done") return;
      clearTimeout(t);
      child.proc.off("message", on);
      progress(`J-IM: heap snapshot ${path}`);
      resolve();
    };
    child.proc.on("message", on);
    child.proc.send({ type: "heap-snapshot", path });
  });
}

/** Kernel TCP state (/proc/net/sockstat): sockets in use and the pages their buffers hold. */
function sockstat(): { inuse: number; memPages: number } {
  try {
    const m = /TCP: inuse (\d+) orphan \d+ tw \d+ alloc \d+ mem (\d+)/.exec(readFileSync("/proc/net/sockstat", "utf8"));
    return m ? { inuse: Number(m[1]), memPages: Number(m[2]) } : { inuse: 0, memPages: 0 };
  } catch {
    return { inuse: 0, memPages: 0 };
  }
}

function ephemeralPorts(): number {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    return hi! - lo! + 1;
  } catch {
    return 28_232;
  }
}

function sysctl(name: string): number | null {
  try {
    return Number(readFileSync(`/proc/sys/${name.replace(/\./g, "/")}`, "utf8").trim());
  } catch {
    return null;
  }
}

const KiB = (bytes: number, n: number) => (n > 0 ? round(bytes / 1024 / n, 2) : 0);

export async function runJim(o: { warmupS: number; measureS: number }): Promise<ResultRow> {
  if (!existsSync(join(REPO_DIR, "src", "transports", "jim", "index.ts"))) {
    return row({ scenario: SCENARIO, variant: "not measured yet", notes: "src/transports/jim does not exist in this tree" });
  }
  const target = num("BENCH_JIM_CONNECTIONS", 100_000);
  const driverCount = Math.max(1, num("BENCH_JIM_DRIVERS", 4));
  const sourceAddrs = Math.max(1, num("BENCH_JIM_SOURCE_ADDRS", 8));
  const inflight = Math.max(1, num("BENCH_JIM_INFLIGHT", 256));
  const heartbeatS = Math.max(0, num("BENCH_JIM_HEARTBEAT_S", 30));
  const idleS = Math.max(1, num("BENCH_JIM_IDLE_S", 10));
  const chatPairs = 10;
  if (heartbeatS * 2 + idleS + 10 > TLIM_HEARTBEAT_TIMEOUT_S) throw new Error(`BENCH_JIM_HEARTBEAT_S=${heartbeatS} with BENCH_JIM_IDLE_S=${idleS}: tlim's ${TLIM_HEARTBEAT_TIMEOUT_S} s idle timeout would close the connections`);
  const somaxconn = sysctl("net.core.somaxconn");
  // Node listens with a backlog of 511 (capped by somaxconn): more logins in flight than that
  // would overflow the accept queue, and dropped SYNs come back only after a 1 s retransmit.
  const backlog = Math.min(511, somaxconn ?? 511);
  const inFlight = Math.min(inflight, backlog);

  progress(`J-IM: starting tlim with the gateway; up to ${target.toLocaleString("en-US")} connections from ${driverCount} driver processes`);
  const database = await createBenchDb("mariadb", "jim");
  const driver = await ComponentDriver.listen(COMPONENT, SECRET);
  const child = await startTlimChild(tlimOverrides(driver.service, database.url, { jimEnabled: true, jimPort: 0, jimTokenSecret: TOKEN_SECRET }), {
    name: "jim",
    nofile: target + chatPairs * 2 + 1024,
    execArgv: ["--expose-gc", "--import", pathToFileURL(join(BENCH_DIR, "lib", "gc-hook.ts")).href],
  }).catch(async (err: unknown) => {
    await driver.close();
    await database.drop();
    throw err;
  });
  let fleet: JimFleet | null = null;
  const chatClients: JimClient[] = [];
  try {
    if (!child.jimPort) return row({ scenario: SCENARIO, variant: "not measured yet", notes: "this tlim has no J-IM port (gateway not wired in yet)" });
    await driver.waitOnline();
    const port = child.jimPort;

    // What the limits allow: tlim holds one fd per connection, a driver one per its share, and
    // each source address has its own ephemeral port range towards tlim's one address.
    const perDriver = Math.ceil(target / driverCount);
    fleet = await JimFleet.start(driverCount, perDriver + 1024);
    const tlimFds = (child.fdLimit ?? { soft: fdLimitOf(child.pid)?.soft ?? 1024 }).soft;
    const driverFds = Math.min(...fleet.fdLimits.map((l) => l.soft));
    const ports = ephemeralPorts();
    const bounds: Array<[number, string]> = [
      [target, "the target"],
      // tlim's own descriptors now (database pool, component link, listeners…) and a margin for
      // the pool to grow; the chat clients come on top of the measured connections.
      [tlimFds - openFds(child.pid) - 64 - chatPairs * 2, `tlim's open-files limit (${tlimFds})`],
      [(driverFds - 64) * driverCount, `the drivers' open-files limit (${driverFds} each)`],
      [(ports - 1000) * sourceAddrs, `ephemeral ports (${ports} per source address × ${sourceAddrs})`],
    ];
    const [planned, boundBy] = bounds.reduce((a, b) => (b[0] < a[0] ? b : a));
    const limitNotes = [...(child.fdLimit?.note ? [child.fdLimit.note] : []), ...fleet.fdLimits.filter((l) => l.note).map((l) => l.note)];
    if (planned < target) progress(`J-IM: only ${planned.toLocaleString("en-US")} connections possible, bounded by ${boundBy}${limitNotes.length ? `: ${limitNotes[0]}` : ""}`);
    progress(`J-IM: limits: tlim nofile ${tlimFds}, drivers nofile ${driverFds}, ${ports} ephemeral ports × ${sourceAddrs} source addresses, somaxconn ${somaxconn}, ${inFlight} logins in flight`);

    await sleep(1000);
    const snapshot = env.BENCH_JIM_HEAP_SNAPSHOT;
    if (snapshot) await heapSnapshot(child, `${snapshot}-before.heapsnapshot`);
    const m0 = await gcMemory(child);
    const rss0 = rssMiB(child.pid) ?? 0;
    const sock0 = sockstat();
    const cpu0 = cpuSeconds(child.pid) ?? 0;
    const t0 = performance.now();
    const addresses = Array.from({ length: sourceAddrs }, (_, k) => `127.0.0.${2 + k}`);
    const done = await fleet.connect(
      { drivers: driverCount, total: planned, host: "127.0.0.1", port, tokenSecret: TOKEN_SECRET, prefix: "j", addresses, inflight: inFlight, heartbeatS, loginTimeoutMs: 30_000, maxFailures: 200 },
      (connected, failed) => progress(`  J-IM: ${connected.toLocaleString("en-US")} logged in${failed ? `, ${failed} failed` : ""}, tlim RSS ${Math.round(rssMiB(child.pid) ?? 0)} MiB`),
    );
    const loginSeconds = (performance.now() - t0) / 1000;
    const loginCpu = (cpuSeconds(child.pid) ?? 0) - cpu0;
    const connected = done.reduce((a, d) => a + d.connected, 0);
    const failedLogins = done.reduce((a, d) => a + d.failed, 0);
    const errors: Record<string, number> = {};
    for (const d of done) for (const [k, v] of Object.entries(d.errors)) errors[k] = (errors[k] ?? 0) + v;
    const lat = new Latencies();
    for (const d of done) for (const ms of d.latencies) lat.add(ms);
    const peakRss = peakRssMiB(child.pid) ?? 0;
    const rssNoGc = rssMiB(child.pid) ?? 0;

    // Idle: heartbeats paused, everything collected, then CPU over BENCH_JIM_IDLE_S.
    await fleet.heartbeats(false);
    await sleep(2000);
    const m1 = await gcMemory(child);
    if (snapshot) await heapSnapshot(child, `${snapshot}-after.heapsnapshot`);
    await sleep(2000);
    const rss1 = rssMiB(child.pid) ?? 0;
    const sock1 = sockstat();
    const c1 = cpuSeconds(child.pid) ?? 0;
    const i0 = performance.now();
    await sleep(idleS * 1000);
    const idleCpu = (((cpuSeconds(child.pid) ?? 0) - c1) / ((performance.now() - i0) / 1000)) * 100;

    // Heartbeats: one per connection per interval, over one interval.
    let hbCpu = 0;
    let hbReplies = 0;
    let hbSent = 0;
    let hbWindowS = 0;
    if (heartbeatS > 0) {
      const k0 = await fleet.counters();
      await fleet.heartbeats(true);
      const h0 = performance.now();
      const hc0 = cpuSeconds(child.pid) ?? 0;
      await sleep(heartbeatS * 1000);
      hbWindowS = (performance.now() - h0) / 1000;
      hbCpu = (((cpuSeconds(child.pid) ?? 0) - hc0) / hbWindowS) * 100;
      const k1 = await fleet.counters();
      hbSent = k1.heartbeatsSent - k0.heartbeatsSent;
      await sleep(500); // the last second's replies
      hbReplies = (await fleet.counters()).heartbeatReplies - k0.heartbeatReplies;
    }
    const after = await fleet.counters();

    // Chat while connected: pairs of extra clients, one message at a time (command 11 → push 11).
    const chat = new Latencies();
    for (let k = 0; k < chatPairs * 2; k++) chatClients.push((await login({ host: "127.0.0.1", port, tokenSecret: TOKEN_SECRET }, `jc${k}`)).client);
    const until = performance.now() + Math.min(o.measureS, 5) * 1000;
    for (let k = 0; performance.now() < until; k++) {
      const a = 2 * (k % chatPairs);
      const from = chatClients[a]!;
      const to = chatClients[a + 1]!;
      const ms = await new Promise<number>((resolve, reject) => {
        const t = performance.now();
        const timer = setTimeout(() => reject(new Error("chat push not received in 10 s")), 10_000);
        to.onFrame = (cmd) => {
          if (cmd !== 11) return;
          clearTimeout(timer);
          to.onFrame = () => {};
          resolve(performance.now() - t);
        };
        from.socket.write(frame(11, { from: `jc${a}`, to: `jc${a + 1}`, cmd: 11, createTime: Date.now(), msgType: 0, chatType: 2, content: `bench ${k}` }));
      });
      chat.add(ms);
    }

    const s = lat.summary();
    const c = chat.summary();
    const d = (k: keyof Memory) => (m0 && m1 ? m1.memory[k] - m0.memory[k] : 0);
    const perConnKiB = connected ? ((rss1 - rss0) * 1024) / connected : 0;
    // tlim CPU above idle per heartbeat sent in the window (each is answered: hbReplies ≈ hbSent).
    const heartbeatUs = hbSent > 0 ? (((hbCpu - idleCpu) / 100) * hbWindowS * 1e6) / hbSent : 0;
    const firstError = Object.entries(errors).sort((a, b) => b[1] - a[1])[0];
    const boundLimit = boundBy.startsWith("tlim") ? child.fdLimit : boundBy.startsWith("the drivers") ? fleet.fdLimits.find((l) => l.note) : null;
    const boundNote = boundLimit?.why ? `hard limit, raising it refused: ${boundLimit.why}` : "";
    const stopped =
      connected < target
        ? planned < target && connected >= planned
          ? `target ${target.toLocaleString("en-US")} not reached: bounded by ${boundBy}${boundNote ? `, ${boundNote}` : ""}`
          : `target ${target.toLocaleString("en-US")} not reached: ${failedLogins} logins failed, most often: ${firstError?.[0]} (${firstError?.[1]}×)`
        : "";
    progress(
      `J-IM: ${connected.toLocaleString("en-US")} connections, ${Math.round(connected / loginSeconds)} logins/s, ${round(perConnKiB, 2)} KiB RSS each (heap ${KiB(d("heapUsed"), connected)} KiB, external ${KiB(d("external"), connected)} KiB), ` +
        `idle CPU ${round(idleCpu, 2)} %, heartbeat CPU ${round(hbCpu, 1)} % (${hbSent} sent in ${heartbeatS} s, ${hbReplies} answered, ${round(heartbeatUs, 1)} µs each)${stopped ? `; ${stopped}` : ""}`,
    );
    return row({
      scenario: SCENARIO,
      variant: `${connected.toLocaleString("en-US")} logged-in TCP connections (token login, ${inFlight} in flight, ${driverCount} drivers, ${sourceAddrs} source addresses)`,
      rate: connected / loginSeconds,
      unit: "logins/s",
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      tlimCpu: (loginCpu / loginSeconds) * 100,
      tlimRssMiB: rss1,
      notes:
        `login latency; ${round(perConnKiB, 2)} KiB RSS per idle connection after GC (V8 heap ${KiB(d("heapUsed"), connected)} KiB); ` +
        `idle CPU ${round(idleCpu, 1)} % with all connected; heartbeats every ${heartbeatS} s from all: CPU ${round(hbCpu, 1)} % (${round(heartbeatUs, 1)} µs each); ` +
        `chat 11→11 p50 ${c.p50} ms p99 ${c.p99} ms${stopped ? `; ${stopped}` : ""}`,
      extra: {
        target,
        planned,
        boundBy,
        limitNotes,
        connected,
        failedLogins,
        errors,
        stillOpenAtEnd: after.open,
        closedByServer: after.closedByServer,
        loginSeconds: round(loginSeconds, 2),
        limits: { tlimNofile: tlimFds, driverNofile: driverFds, ephemeralPorts: ports, sourceAddresses: sourceAddrs, somaxconn, listenBacklog: backlog, loginsInFlight: inFlight },
        rssBeforeMiB: round(rss0, 1),
        rssAfterMiB: round(rss1, 1),
        rssAfterLoginNoGcMiB: round(rssNoGc, 1),
        peakRssMiB: round(peakRss, 1),
        perConnKiB: round(perConnKiB, 2),
        gc: !!m1?.gc,
        perConnHeapUsedKiB: KiB(d("heapUsed"), connected),
        perConnHeapTotalKiB: KiB(d("heapTotal"), connected),
        perConnExternalKiB: KiB(d("external"), connected),
        perConnArrayBuffersKiB: KiB(d("arrayBuffers"), connected),
        memoryBefore: m0?.memory ?? null,
        memoryAfter: m1?.memory ?? null,
        heapSpacesAfter: m1?.heapSpaces ?? null,
        kernelTcp: { socketsBefore: sock0.inuse, socketsAfter: sock1.inuse, memPagesBefore: sock0.memPages, memPagesAfter: sock1.memPages },
        idleS,
        idleCpuPct: round(idleCpu, 2),
        heartbeatS,
        heartbeatCpuPct: round(hbCpu, 2),
        heartbeatsSent: hbSent,
        heartbeatReplies: hbReplies,
        heartbeatUs: round(heartbeatUs, 1),
        driverRssMiB: round(after.driverRssMiB, 1),
        chat: c,
      },
    });
  } finally {
    for (const cl of chatClients) cl.socket.destroy();
    await fleet?.stop().catch(() => undefined);
    await driver.close();
    await child.stop().catch(() => null);
    await database.drop().catch(() => undefined);
  }
}
