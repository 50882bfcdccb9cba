// The metrics registry (src/metrics.ts): names, types and labels as docs/operations.md lists
// them, the fast counters and histograms in the Prometheus text format, the writer's figures over
// the in-memory store, and /metrics with its bearer token and route labels over a real HTTP
// listener (a real ImCore on the in-memory store). The end-to-end figures, with a real Prosody,
// are in test/integration/metrics.test.ts.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImCore } from "../../src/core/im.js";
import { GroupCommitWriter } from "../../src/core/writer.js";
import { Delivered, FastCounter, FastHistogram, Kind, Metrics } from "../../src/metrics.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { NewMessage } from "../../src/store/types.js";
import { createHttpApp } from "../../src/transports/http/app.js";
import { VERSION } from "../../src/version.js";
import { parseExposition } from "../support/metrics.js";

const silent = pino({ level: "silent" });

/** The label sets of a metric's samples (without `le`), as sorted `k=v` lists. */
function labelSets(samples: Map<string, number>, name: string): string[] {
  const out = new Set<string>();
  for (const key of samples.keys()) {
    const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key)!;
    if (m[1] !== name && m[1] !== `${name}_count`) continue;
    const labels = (m[2] ?? "").split(",").filter((l) => l !== "" && !l.startsWith("le=")).sort().join(",");
    out.add(labels);
  }
  return [...out].sort();
}

/** Name → [type, label sets] of every tlim metric (docs/operations.md "Metrics"). */
const EXPECTED: Record<string, [string, string[]]> = {
  tlim_build_info: ["gauge", [`version="${VERSION}"`]],
  tlim_xmpp_stanzas_received_total: ["counter", ['kind="iq"', 'kind="message"', 'kind="presence"']],
  tlim_xmpp_stanzas_sent_total: ["counter", ['kind="iq"', 'kind="message"', 'kind="presence"']],
  tlim_xmpp_link_up: ["gauge", [""]],
  tlim_xmpp_link_reconnects_total: ["counter", [""]],
  tlim_xmpp_link_disconnects_total: ["counter", [""]],
  tlim_messages_committed_total: ["counter", ['outcome="duplicate"', 'outcome="rejected"', 'outcome="stored"']],
  tlim_message_commit_latency_seconds: ["histogram", [""]],
  tlim_writer_batch_size_messages: ["histogram", [""]],
  tlim_writer_commit_duration_seconds: ["histogram", [""]],
  tlim_writer_queue_depth: ["gauge", [""]],
  tlim_writer_pending_messages: ["gauge", [""]],
  tlim_writer_batches_total: ["counter", ['outcome="committed"', 'outcome="failed"', 'outcome="rerun"']],
  tlim_message_delivery_latency_seconds: ["histogram", ['path="backlog",transport="jim"', 'path="backlog",transport="xmpp"', 'path="live",transport="jim"', 'path="live",transport="xmpp"']],
  tlim_message_ack_latency_seconds: ["histogram", ['transport="jim",via="device"', 'transport="jim",via="grace"', 'transport="xmpp",via="device"', 'transport="xmpp",via="grace"']],
  tlim_online_devices: ["gauge", ['class="jim"', 'class="xmpp"']],
  tlim_inbox_lag_messages: ["gauge", ['class="jim"', 'class="xmpp"']],
  tlim_inbox_lag_messages_max: ["gauge", ['class="jim"', 'class="xmpp"']],
  tlim_inbox_lag_seconds: ["gauge", ['class="jim"', 'class="xmpp"']],
  tlim_jim_connections: ["gauge", ['transport="http"', 'transport="tcp"', 'transport="ws"']],
  tlim_http_requests_total: ["counter", []],
  tlim_http_request_duration_seconds: ["histogram", []],
};

describe("the metrics registry", () => {
  it("has every tlim metric with its type and its fixed label sets, and nothing else named tlim_", async () => {
    const { samples, types } = parseExposition(await new Metrics().text());
    const tlim = [...types.keys()].filter((n) => n.startsWith("tlim_")).sort();
    expect(tlim).toEqual(Object.keys(EXPECTED).sort());
    for (const [name, [type, labels]] of Object.entries(EXPECTED)) {
      expect(types.get(name), name).toBe(type);
      expect(labelSets(samples, name), name).toEqual(labels);
      if (type === "counter") expect(name, "a counter's name ends in _total").toMatch(/_total$/);
    }
    // Units in names: every histogram of a duration says seconds, the batch size says messages.
    for (const [name, [type]] of Object.entries(EXPECTED)) if (type === "histogram") expect(name).toMatch(/_(seconds|messages)$/);
  });

  it("adds the process and Node.js metrics only when asked, in its own registry", async () => {
    const without = parseExposition(await new Metrics().text());
    expect([...without.types.keys()].some((n) => n.startsWith("process_"))).toBe(false);
    const withDefaults = parseExposition(await new Metrics({ defaults: true }).text());
    expect(withDefaults.types.get("process_cpu_user_seconds_total")).toBe("counter");
    expect(withDefaults.types.get("nodejs_eventloop_lag_seconds")).toBe("gauge");
  });

  it("keeps two instances apart (no global registry)", async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.stanzasIn.inc(Kind.message, 3);
    a.httpRequests.inc({ route: "/healthz", status: "200" });
    const sa = parseExposition(await a.text()).samples;
    const sb = parseExposition(await b.text()).samples;
    expect(sa.get('tlim_xmpp_stanzas_received_total{kind="message"}')).toBe(3);
    expect(sb.get('tlim_xmpp_stanzas_received_total{kind="message"}')).toBe(0);
    expect(sa.get('tlim_http_requests_total{route="/healthz",status="200"}')).toBe(1);
    expect(sb.has('tlim_http_requests_total{route="/healthz",status="200"}')).toBe(false);
  });

  it("renders a fast histogram as cumulative buckets, +Inf, sum and count per series", async () => {
    const m = new Metrics();
    for (const v of [0.0004, 0.003, 0.003, 7, 100_000]) m.delivered.observe(v, Delivered.jimLive);
    const { samples } = parseExposition(await m.text());
    const s = (le: string) => samples.get(`tlim_message_delivery_latency_seconds_bucket{transport="jim",path="live",le="${le}"}`);
    expect(s("0.001")).toBe(1);
    expect(s("0.0025")).toBe(1);
    expect(s("0.005")).toBe(3);
    expect(s("10")).toBe(4);
    expect(s("86400")).toBe(4);
    expect(s("+Inf")).toBe(5);
    expect(samples.get('tlim_message_delivery_latency_seconds_count{transport="jim",path="live"}')).toBe(5);
    expect(samples.get('tlim_message_delivery_latency_seconds_sum{transport="jim",path="live"}')).toBeCloseTo(100_007.0064, 6);
    expect(samples.get('tlim_message_delivery_latency_seconds_count{transport="xmpp",path="live"}')).toBe(0);
  });

  it("FastCounter and FastHistogram keep their series apart and reset", () => {
    const c = new FastCounter("x_total", "x", [{ k: "a" }, { k: "b" }]);
    c.inc(1, 2);
    c.inc(0);
    expect([c.value(0), c.value(1)]).toEqual([1, 2]);
    const h = new FastHistogram("y_seconds", "y", [1, 2], [{}, { k: "b" }]);
    h.observe(1.5, 1);
    expect([h.count(0), h.count(1), h.sum(1)]).toEqual([0, 1, 1.5]);
    c.reset();
    h.reset();
    expect([c.value(1), h.count(1)]).toEqual([0, 0]);
  });
});

describe("the writer's figures (in-memory store)", () => {
  const msg = (id: string): NewMessage => ({
    convId: "chat:a:b", msgId: id, msgFrom: "a", msgTo: "b", msgType: "MTT-000", msgTime: "1",
    body: "[]", sessionId: null, recipients: ["a", "b"], compress: "0", encode: "0", encrypt: "0", version: "2.1.0",
  });

  it("counts outcomes, batch sizes, commit durations and one latency per message", async () => {
    const m = new Metrics();
    const writer = new GroupCommitWriter(new MemoryStore(), { maxBatch: 100, maxInFlight: 1 }, {}, m);
    await Promise.all([writer.submit(msg("m1")), writer.submit(msg("m2")), writer.submit(msg("m3"))]);
    await writer.submit(msg("m1")); // stored already: a duplicate, its own batch
    expect(m.committed.value(0)).toBe(3); // stored
    expect(m.committed.value(1)).toBe(1); // duplicate
    expect(m.committed.value(2)).toBe(0);
    expect(m.batchSize.count()).toBe(2);
    expect(m.batchSize.sum()).toBe(4);
    expect(m.commitDuration.count()).toBe(2);
    expect(m.commitLatency.count()).toBe(4);
    expect(m.commitLatency.sum()).toBeGreaterThan(0);
    m.sources.writer = writer;
    const { samples } = parseExposition(await m.text());
    expect(samples.get('tlim_writer_batches_total{outcome="committed"}')).toBe(2);
    expect(samples.get("tlim_writer_queue_depth")).toBe(0);
  });
});

describe("GET /metrics and the HTTP figures (real listener, ImCore on the in-memory store)", () => {
  const servers: Server[] = [];
  const listen = async (metrics: { endpoint: boolean; secret: string | null }) => {
    const core = new ImCore(new MemoryStore(), { maxTextChars: 3000, revokeWindowS: 120, writeBatchMax: 100, syncPageSize: 10 }, silent);
    const app = createHttpApp({
      core, apiSecret: "s3cret", files: { dir: "/nonexistent", maxBytes: 1 },
      health: async () => ({ xmpp: "online", database: "up" }), log: silent, metrics,
    });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    servers.push(server);
    return { core, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  let secured: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    secured = await listen({ endpoint: true, secret: "s3cret" });
  });

  it("needs the bearer token: 401 without it, with a wrong one, or with secret= in the query", async () => {
    for (const init of [{}, { headers: { authorization: "Bearer nope" } }, { headers: { authorization: "Basic czNjcmV0" } }]) {
      const res = await fetch(`${secured.base}/metrics`, init);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect((await fetch(`${secured.base}/metrics?secret=s3cret`)).status).toBe(401);
    const ok = await fetch(`${secured.base}/metrics`, { headers: { authorization: "Bearer s3cret" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await ok.text()).toContain("# TYPE tlim_writer_queue_depth gauge");
  });

  it("labels requests by route pattern and status, never by the raw URL", async () => {
    const auth = { headers: { authorization: "Bearer s3cret" } };
    expect((await fetch(`${secured.base}/plugins/tlim/getOffline?user_id=alice`, auth)).status).toBe(200);
    expect((await fetch(`${secured.base}/plugins/tlim/getOffline?user_id=bob`, auth)).status).toBe(200);
    expect((await fetch(`${secured.base}/plugins/tlim/getOffline?user_id=carol`)).status).toBe(401);
    expect((await fetch(`${secured.base}/no/such/thing-42`, auth)).status).toBe(404);
    expect((await fetch(`${secured.base}/healthz`)).status).toBe(200);
    const text = await (await fetch(`${secured.base}/metrics`, auth)).text();
    const { samples } = parseExposition(text);
    expect(samples.get('tlim_http_requests_total{route="/plugins/tlim/getOffline",status="200"}')).toBe(2);
    expect(samples.get('tlim_http_requests_total{route="/plugins/tlim/*",status="401"}')).toBe(1);
    expect(samples.get('tlim_http_requests_total{route="unmatched",status="404"}')).toBe(1);
    expect(samples.get('tlim_http_requests_total{route="/healthz",status="200"}')).toBe(1);
    expect(samples.get('tlim_http_request_duration_seconds_count{route="/plugins/tlim/getOffline",status="200"}')).toBe(2);
    for (const raw of ["alice", "bob", "carol", "thing-42", "user_id"]) expect(text).not.toContain(raw);
  });

  it("TLIM_METRICS_AUTH=none opens it; an empty secret closes it; TLIM_METRICS=off removes it", async () => {
    const open = await listen({ endpoint: true, secret: null });
    expect((await fetch(`${open.base}/metrics`)).status).toBe(200);
    const closed = await listen({ endpoint: true, secret: "" });
    const res = await fetch(`${closed.base}/metrics`, { headers: { authorization: "Bearer " } });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("none is configured");
    const off = await listen({ endpoint: false, secret: null });
    expect((await fetch(`${off.base}/metrics`)).status).toBe(404);
  });
});
