// tlim as its own process for the bench, so its CPU and RSS are measured apart from the load
// driver. Started by bench/lib/tlim-process.ts with an IPC channel:
//   env BENCH_TLIM_CONFIG   JSON of config overrides (camelCase keys, as loadConfig takes them)
//   env BENCH_EXPERIMENTS   comma list of not-yet-applied optimisations to try
//                           (bench/experiments.ts); empty = tlim exactly as in src/
// Messages: → {type:"ready", httpUrl} once started; ← "stats" → {type:"stats", …};
// ← "stop" (or SIGTERM) → clean stop, then exit 0 (which also writes a --cpu-prof profile).
import { performance } from "node:perf_hooks";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { startTlim, type Tlim } from "../src/main.js";
import { applyEarly, applyLate, EXPERIMENTS } from "./experiments.js";

const experiments = new Set((process.env.BENCH_EXPERIMENTS ?? "").split(",").map((s) => s.trim()).filter(Boolean));

for (const e of experiments) if (!(EXPERIMENTS as readonly string[]).includes(e)) throw new Error(`unknown experiment '${e}'`);
applyEarly(experiments);

const send = (msg: unknown) => process.send?.(msg);

async function main(): Promise<void> {
  const overrides = JSON.parse(process.env.BENCH_TLIM_CONFIG ?? "{}") as Record<string, unknown>;
  const config = loadConfig({ env: {}, overrides });
  const tlim: Tlim = await startTlim(config, createLogger(config.logLevel));
  // Instrumentation (not a change of behaviour): wall time spent inside Store.commitBatch. The
  // writer calls this.store.commitBatch at call time, so wrapping the instance method sees all.
  const commit = { calls: 0, ms: 0 };
  const afterCommit: Array<() => void> = [];
  const sqlTiming = process.env.BENCH_SQL_TIMING === "1" ? timeQueries(tlim) : null;
  const notes = applyLate(experiments, tlim, afterCommit);
  // (Pipelined batches overlap: their times add up, so the busy share can exceed 100 %.)
  const store = tlim.store as unknown as { commitBatch: (batch: unknown[], opts?: unknown) => Promise<unknown> };
  const commitBatch = store.commitBatch.bind(store);
  store.commitBatch = async (batch, opts) => {
    const t0 = performance.now();
    try {
      const out = await commitBatch(batch, opts);
      for (const f of afterCommit) f();
      return out;
    } finally {
      commit.calls++;
      commit.ms += performance.now() - t0;
    }
  };
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const t = setTimeout(() => process.exit(3), 15_000);
    try {
      await tlim.stop();
    } finally {
      clearTimeout(t);
      process.exit(0);
    }
  };
  process.on("SIGTERM", () => void stop());
  process.on("disconnect", () => void stop()); // the bench died: never outlive it
  process.on("message", (m: unknown) => {
    if (m === "stop") void stop();
    else if (m === "stats") {
      send({
        type: "stats",
        writer: { ...tlim.core.writer.stats },
        commit: { ...commit },
        sql: sqlTiming ? Object.fromEntries(sqlTiming) : null,
        elu: performance.eventLoopUtilization(),
        memory: process.memoryUsage(),
        link: tlim.xmpp.link.status,
      });
    }
  });
  // The J-IM gateway's port, when this tlim has one (Tlim.jim, being built: read loosely).
  const jimPort = (tlim as unknown as { jim?: { port?: number } | null }).jim?.port ?? null;
  send({ type: "ready", httpUrl: tlim.httpUrl, jimPort, experiments: [...experiments], notes });
}

main().catch((err) => {
  send({ type: "failed", error: String((err as Error)?.stack ?? err) });
  process.exit(2);
});

/** BENCH_SQL_TIMING=1: wall time per kind of statement (first words of the SQL), from the moment
 * the store hands it to TypeORM until the rows are back on the event loop. */
function timeQueries(tlim: Tlim): Map<string, { n: number; ms: number }> {
  const out = new Map<string, { n: number; ms: number }>();
  const ds = (tlim.store as unknown as { ds: { createQueryRunner: (...a: unknown[]) => Record<string, any> } }).ds;
  const create = ds.createQueryRunner.bind(ds);
  const add = (key: string, t0: number) => {
    const e = out.get(key) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += performance.now() - t0;
    out.set(key, e);
  };
  ds.createQueryRunner = (...args: unknown[]) => {
    const qr = create(...args);
    for (const name of ["connect", "startTransaction", "commitTransaction", "release"]) {
      const f = qr[name].bind(qr);
      qr[name] = async (...a: unknown[]) => {
        const t0 = performance.now();
        try {
          return await f(...a);
        } finally {
          add(name, t0);
        }
      };
    }
    const query = qr.query.bind(qr);
    qr.query = async (sql: string, params?: unknown[]) => {
      const t0 = performance.now();
      try {
        return await query(sql, params);
      } finally {
        add(sql.replace(/\s+/g, " ").replace(/\(.*$/, "").slice(0, 48), t0);
      }
    };
    return qr;
  };
  return out;
}
