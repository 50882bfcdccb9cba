// Metrics in the Prometheus text format (docs/operations.md "Metrics" lists every one).
//
// One `Metrics` per tlim instance, with its own prom-client Registry (never the global one: tests
// run several instances in one process). Two kinds of metric live here:
//  - cold ones (link state changes, HTTP requests, gauges read at scrape time) are ordinary
//    prom-client metrics;
//  - hot ones (counted or observed once per stanza, message, batch or push) are `FastCounter` and
//    `FastHistogram`: a fixed set of series chosen when the metric is made, each a slot in a typed
//    array, so the write path pays an array increment (prom-client's labelled `observe` builds a
//    label map and a hash string on every call: about 0.7 µs, against some 25 ns here). They are
//    registered in the same Registry and rendered by it, in the same format as prom-client's own
//    counters and histograms, when /metrics is scraped.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from "prom-client";
import { VERSION } from "./version.js";

type Labels = Readonly<Record<string, string>>;

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** What a Registry needs of a metric to render it (the shape prom-client's own `get()` returns). */
abstract class FastMetric {
  readonly aggregator = "sum";
  abstract readonly type: "counter" | "histogram";

  constructor(
    readonly name: string,
    readonly help: string,
    /** Every series this metric has, by index (the hot path passes the index). */
    readonly series: readonly Labels[],
  ) {}

  protected abstract samples(): Sample[];

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.samples() };
  }

  abstract reset(): void;
}

/** A counter whose series are fixed: `inc(i)` adds to series i. */
export class FastCounter extends FastMetric {
  readonly type = "counter";
  private values: Float64Array;

  constructor(name: string, help: string, series: readonly Labels[] = [{}]) {
    super(name, help, series);
    this.values = new Float64Array(series.length);
  }

  inc(i = 0, n = 1): void {
    this.values[i]! += n;
  }

  value(i = 0): number {
    return this.values[i]!;
  }

  protected samples(): Sample[] {
    return this.series.map((labels, i) => ({ labels: { ...labels }, value: this.values[i]! }));
  }

  reset(): void {
    this.values = new Float64Array(this.series.length);
  }
}

/** A histogram whose series are fixed: `observe(v, i)` counts v (seconds, messages…) in series i. */
export class FastHistogram extends FastMetric {
  readonly type = "histogram";
  private readonly bounds: Float64Array;
  /** Per series: one slot per bucket plus one for +Inf (not cumulative), then sum, then count. */
  private data: Float64Array;
  private readonly stride: number;

  constructor(name: string, help: string, buckets: readonly number[], series: readonly Labels[] = [{}]) {
    super(name, help, series);
    this.bounds = Float64Array.from(buckets);
    this.stride = buckets.length + 3;
    this.data = new Float64Array(this.stride * series.length);
  }

  observe(value: number, i = 0): void {
    const b = this.bounds;
    let k = 0;
    while (k < b.length && value > b[k]!) k++;
    const base = i * this.stride;
    const d = this.data;
    d[base + k]!++;
    d[base + b.length + 1]! += value;
    d[base + b.length + 2]!++;
  }

  /** Observations in series i (its `_count`). */
  count(i = 0): number {
    return this.data[i * this.stride + this.bounds.length + 2]!;
  }

  /** Sum of the observations in series i (its `_sum`). */
  sum(i = 0): number {
    return this.data[i * this.stride + this.bounds.length + 1]!;
  }

  protected samples(): Sample[] {
    const out: Sample[] = [];
    const n = this.bounds.length;
    this.series.forEach((labels, i) => {
      const base = i * this.stride;
      let acc = 0;
      for (let k = 0; k < n; k++) {
        acc += this.data[base + k]!;
        out.push({ labels: { ...labels, le: this.bounds[k]! }, value: acc, metricName: `${this.name}_bucket` });
      }
      out.push({ labels: { ...labels, le: "+Inf" }, value: this.data[base + n + 2]!, metricName: `${this.name}_bucket` });
      out.push({ labels: { ...labels }, value: this.data[base + n + 1]!, metricName: `${this.name}_sum` });
      out.push({ labels: { ...labels }, value: this.data[base + n + 2]!, metricName: `${this.name}_count` });
    });
    return out;
  }

  reset(): void {
    this.data = new Float64Array(this.stride * this.series.length);
  }
}

/** Series indexes the hot path uses. */
export const STANZA_KINDS = ["message", "presence", "iq"] as const;
export const Kind = { message: 0, presence: 1, iq: 2 } as const;
export const Outcome = { stored: 0, duplicate: 1, rejected: 2 } as const;
/** committed → delivered: transport × path. */
export const Delivered = { xmppLive: 0, xmppBacklog: 1, jimLive: 2, jimBacklog: 3 } as const;
/** committed → acknowledged: transport × who confirmed. */
export const Acked = { xmppDevice: 0, xmppGrace: 1, jimDevice: 2, jimGrace: 3 } as const;

/** Latencies from seconds to a day (a backlog is delivered when its device comes back). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400];
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What /metrics reads at scrape time from the parts that exist (set by main.ts as they start). */
export interface MetricSources {
  writer?: { readonly queued: number; readonly pending: number; readonly stats: { batches: number; failures: number; reruns: number } };
  link?: { isOnline(): boolean };
  /** Online devices of one class, and what was pushed to them and not yet confirmed. */
  xmppLag?: () => InboxLag;
  jimLag?: () => InboxLag;
  jimConnections?: () => { tcp: number; ws: number; http: number };
}

export interface InboxLag {
  /** Online devices. */
  devices: number;
  /** Inbox entries pushed or waiting to be pushed to them and not confirmed, summed. */
  messages: number;
  /** The most of one device. */
  maxMessages: number;
  /** Commit time (ms since epoch) of the oldest unconfirmed entry, 0 when none. */
  oldestAt: number;
}

export const NO_LAG: InboxLag = { devices: 0, messages: 0, maxMessages: 0, oldestAt: 0 };

export interface MetricsOptions {
  /** Process and Node.js metrics (prom-client's default set, standard names). Default false. */
  defaults?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  readonly sources: MetricSources = {};

  // XMPP link
  readonly stanzasIn = this.fast(new FastCounter("tlim_xmpp_stanzas_received_total", "Stanzas received from the XMPP server on the component link, by kind.", STANZA_KINDS.map((kind) => ({ kind }))));
  readonly stanzasOut = this.fast(new FastCounter("tlim_xmpp_stanzas_sent_total", "Stanzas written to the XMPP server on the component link, by kind.", STANZA_KINDS.map((kind) => ({ kind }))));
  readonly linkReconnects: Counter;
  readonly linkDisconnects: Counter;

  // Write path
  readonly committed = this.fast(new FastCounter("tlim_messages_committed_total", "Messages through a committed batch, by outcome: stored, duplicate (already stored, nothing written), rejected (e.g. the sender is not a session member).", [{ outcome: "stored" }, { outcome: "duplicate" }, { outcome: "rejected" }]));
  readonly commitLatency = this.fast(new FastHistogram("tlim_message_commit_latency_seconds", "From a message's arrival at the group-commit writer (decoded and checked) to the commit of its batch: received → committed.", COMMIT_BUCKETS));
  readonly batchSize = this.fast(new FastHistogram("tlim_writer_batch_size_messages", "Messages per committed batch (one transaction each).", BATCH_BUCKETS));
  readonly commitDuration = this.fast(new FastHistogram("tlim_writer_commit_duration_seconds", "Duration of the database commit of one batch (its successful run).", COMMIT_BUCKETS));

  // Delivery
  readonly delivered = this.fast(new FastHistogram("tlim_message_delivery_latency_seconds", "From a message's commit to its push to one device (committed → delivered), one observation per device pushed to; path=backlog for what a device gets when it comes online.", LATENCY_BUCKETS, [
    { transport: "xmpp", path: "live" }, { transport: "xmpp", path: "backlog" }, { transport: "jim", path: "live" }, { transport: "jim", path: "backlog" },
  ]));
  readonly acknowledged = this.fast(new FastHistogram("tlim_message_ack_latency_seconds", "From a message's commit to one device confirming it (committed → acknowledged): via=device (receipt, marker, ping answer, J-IM traffic) or via=grace (TLIM_ACK_GRACE_S passed with no bounce).", LATENCY_BUCKETS, [
    { transport: "xmpp", via: "device" }, { transport: "xmpp", via: "grace" }, { transport: "jim", via: "device" }, { transport: "jim", via: "grace" },
  ]));

  // HTTP
  readonly httpRequests: Counter<"route" | "status">;
  readonly httpDuration: Histogram<"route" | "status">;

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    const src = this.sources;
    new Gauge({ name: "tlim_build_info", help: "Always 1; the version label says which tlim runs.", labelNames: ["version"], registers }).set({ version: VERSION }, 1);
    new Gauge({
      name: "tlim_xmpp_link_up", help: "1 while the component link to the XMPP server is online, else 0.", registers,
      collect() {
        this.set(src.link?.isOnline() ? 1 : 0);
      },
    });
    this.linkReconnects = new Counter({ name: "tlim_xmpp_link_reconnects_total", help: "Reconnect attempts scheduled after the link was lost or an attempt failed.", registers });
    this.linkDisconnects = new Counter({ name: "tlim_xmpp_link_disconnects_total", help: "Times the component link went down after having been online.", registers });
    new Gauge({
      name: "tlim_writer_queue_depth", help: "Messages waiting for a commit batch (bounded by TLIM_WRITE_QUEUE_MAX).", registers,
      collect() {
        this.set(src.writer?.queued ?? 0);
      },
    });
    new Gauge({
      name: "tlim_writer_pending_messages", help: "Messages queued or in a batch being committed.", registers,
      collect() {
        this.set(src.writer?.pending ?? 0);
      },
    });
    new Counter({
      name: "tlim_writer_batches_total", help: "Commit batches by outcome: committed, rerun (rolled back to run again in order: deadlock, lock timeout, an earlier batch running again), failed (nothing stored, senders told).", labelNames: ["outcome"], registers,
      collect() {
        const s = src.writer?.stats ?? { batches: 0, reruns: 0, failures: 0 };
        this.reset();
        this.inc({ outcome: "committed" }, s.batches);
        this.inc({ outcome: "rerun" }, s.reruns);
        this.inc({ outcome: "failed" }, s.failures);
      },
    });
    const lagOf = (cls: "xmpp" | "jim") => (cls === "xmpp" ? src.xmppLag : src.jimLag)?.() ?? NO_LAG;
    const lagGauge = (name: string, help: string, value: (l: InboxLag) => number) =>
      new Gauge({
        name, help, labelNames: ["class"], registers,
        collect() {
          for (const cls of ["xmpp", "jim"] as const) this.set({ class: cls }, value(lagOf(cls)));
        },
      });
    lagGauge("tlim_online_devices", "Devices online, by class: XMPP resources tlim pushes to, logged-in J-IM connections.", (l) => l.devices);
    lagGauge("tlim_inbox_lag_messages", "Inbox entries pushed (or waiting to be pushed) to online devices and not yet confirmed, summed over the devices of a class.", (l) => l.messages);
    lagGauge("tlim_inbox_lag_messages_max", "The most inbox entries one online device of the class has pushed or waiting and not confirmed.", (l) => l.maxMessages);
    lagGauge("tlim_inbox_lag_seconds", "Age (since its commit) of the oldest inbox entry an online device of the class has not confirmed; 0 when every device is up to date.", (l) => (l.oldestAt === 0 ? 0 : Math.max(0, (Date.now() - l.oldestAt) / 1000)));
    new Gauge({
      name: "tlim_jim_connections", help: "Open connections on the J-IM port, by transport (tcp, ws, http: plain HTTP and sockets whose protocol is not known yet).", labelNames: ["transport"], registers,
      collect() {
        const c = src.jimConnections?.() ?? { tcp: 0, ws: 0, http: 0 };
        this.set({ transport: "tcp" }, c.tcp);
        this.set({ transport: "ws" }, c.ws);
        this.set({ transport: "http" }, c.http);
      },
    });
    this.httpRequests = new Counter({ name: "tlim_http_requests_total", help: "HTTP API requests answered, by route pattern and status code.", labelNames: ["route", "status"], registers });
    this.httpDuration = new Histogram({ name: "tlim_http_request_duration_seconds", help: "HTTP API request duration, from arrival to the end of the answer, by route pattern and status code.", labelNames: ["route", "status"], buckets: HTTP_BUCKETS, registers });
    if (opts.defaults) collectDefaultMetrics({ register: this.registry });
  }

  private fast<M extends FastMetric>(m: M): M {
    this.registry.registerMetric(m as unknown as Metric);
    return m;
  }

  /** The text exposition (Prometheus format 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
