// A J-IM load driver process for scenario 6 (bench/scenarios/jim.ts starts several, through
// bench/lib/jim-fleet.ts, each with its own raised open-files limit): it opens its share of the
// connections, spread over several 127.0.0.x source addresses so that no (source, destination)
// pair runs out of ephemeral ports, logs each in with a token, keeping a bounded number of
// logins in flight, then holds them and sends the J-IM heartbeat (command 13, the Java client's
// 1-byte body) once per heartbeat interval per connection, spread evenly over the interval.
//
// IPC, parent → driver: {type:"start", …DriverStart} | {type:"heartbeats", on} | {type:"counters"} | {type:"stop"}
//        driver → parent: {type:"progress"} | {type:"done", …} | {type:"counters", …} | {type:"ack"}
import { HEARTBEAT_FRAME, login, type JimClient } from "./jim-client.js";

export interface DriverStart {
  host: string;
  port: number;
  tokenSecret: string;
  /** User ids are `${prefix}${i}` for i in [from, from + count). */
  prefix: string;
  from: number;
  count: number;
  /** Source addresses, used round-robin. */
  addresses: string[];
  /** Logins in flight at once. */
  inflight: number;
  /** Seconds between two heartbeats of one connection; 0 = none. */
  heartbeatS: number;
  loginTimeoutMs: number;
  /** Stop opening connections after this many failures. */
  maxFailures: number;
}

export interface DriverDone {
  type: "done";
  connected: number;
  failed: number;
  /** Failure messages with their counts. */
  errors: Record<string, number>;
  latencies: number[];
  seconds: number;
}

export interface DriverCounters {
  type: "counters";
  open: number;
  heartbeatsSent: number;
  heartbeatReplies: number;
  /** Logged-in connections the server closed (or reset) since. */
  closedByServer: number;
  memory: NodeJS.MemoryUsage;
}

const send = (m: unknown) => process.send?.(m);
const clients: JimClient[] = [];
/** Heartbeat slots: connection k belongs to slot k % heartbeatS, sent in that second. */
let slots: JimClient[][] = [];
let heartbeatsOn = true;
let stopping = false;
const counters = { heartbeatsSent: 0, heartbeatReplies: 0, closedByServer: 0 };

async function start(o: DriverStart): Promise<void> {
  const t0 = performance.now();
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  slots = Array.from({ length: Math.max(1, o.heartbeatS) }, () => []);
  if (o.heartbeatS > 0) {
    let tick = 0;
    setInterval(() => {
      const slot = slots[tick++ % slots.length]!;
      if (!heartbeatsOn || stopping) return;
      for (const c of slot) {
        if (c.socket.destroyed) continue;
        c.socket.write(HEARTBEAT_FRAME);
        counters.heartbeatsSent++;
      }
    }, 1000);
  }
  const progress = setInterval(() => send({ type: "progress", connected: clients.length, failed }), 2000);
  const worker = async () => {
    while (!stopping && next < o.count && failed < o.maxFailures) {
      const i = next++;
      const localAddress = o.addresses.length ? o.addresses[i % o.addresses.length] : undefined;
      try {
        const { client, ms } = await login({ host: o.host, port: o.port, localAddress, tokenSecret: o.tokenSecret, timeoutMs: o.loginTimeoutMs }, `${o.prefix}${o.from + i}`);
        latencies.push(ms);
        client.onFrame = (cmd) => {
          if (cmd === 13) counters.heartbeatReplies++;
        };
        client.socket.on("close", () => {
          if (!stopping) counters.closedByServer++;
        });
        slots[clients.length % slots.length]!.push(client);
        clients.push(client);
      } catch (err) {
        failed++;
        const msg = (err as Error).message;
        errors[msg] = (errors[msg] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.inflight) }, worker));
  clearInterval(progress);
  const done: DriverDone = { type: "done", connected: clients.length, failed, errors, latencies, seconds: (performance.now() - t0) / 1000 };
  send(done);
}

process.on("message", (m: { type: string; on?: boolean } & Partial<DriverStart>) => {
  if (m.type === "start") void start(m as unknown as DriverStart);
  else if (m.type === "heartbeats") {
    heartbeatsOn = !!m.on;
    send({ type: "ack" });
  } else if (m.type === "counters") {
    const open = clients.reduce((n, c) => n + (c.socket.destroyed ? 0 : 1), 0);
    const out: DriverCounters = { type: "counters", open, ...counters, memory: process.memoryUsage() };
    send(out);
  } else if (m.type === "stop") {
    stopping = true;
    for (const c of clients) c.socket.destroy();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0)); // the bench died: never outlive it
send({ type: "ready" });
