// /metrics end to end (docs/operations.md "Metrics"): a real XMPP server, a real tlim on SQLite,
// two XMPP users exchanging messages with receipts, J-IM connections over TCP and WebSocket, and
// the HTTP API; the scrapes before and after show every figure moved by what was done.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/protocol/jim-token.js";
import { useTlim } from "../support/fixture.js";
import { jimLogin, JimTcpClient, JimWsClient, type JimClient } from "../support/jim-client.js";
import { API_SECRET } from "../support/tlim.js";
import { envelope, isMessageWithId, isReceiptFor, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { xml, type Element, type TestClient } from "../support/xmpp-client.js";
import { onServer } from "../support/xmpp-server.js";
import { parseExposition } from "../support/metrics.js";

const TOKEN_SECRET = "metrics-token-secret";

/** Sends XEP-0184 receipts for every message that asks for one. */
function autoAck(c: TestClient): void {
  c.xmpp.on("stanza", (el: Element) => {
    if (!el.is("message") || el.attrs.type === "error" || !el.getChild("request", "urn:xmpp:receipts")) return;
    c.send(xml("message", { to: el.attrs.from }, xml("received", { xmlns: "urn:xmpp:receipts", id: el.attrs.id }))).catch(() => {});
  });
}

describe(onServer("GET /metrics on sqlite"), () => {
  const f = useTlim("sqlite", { prefix: "mt", users: 10, overrides: { jimTokenSecret: TOKEN_SECRET } });
  const jims: JimClient[] = [];
  afterAll(() => {
    for (const c of jims) c.close();
  });

  const scrape = async (): Promise<Map<string, number>> => {
    const res = await fetch(`${f.tlim.httpUrl}/metrics`, { headers: { authorization: `Bearer ${API_SECRET}` } });
    expect(res.status).toBe(200);
    return parseExposition(await res.text()).samples;
  };
  /** Scrapes until `ok` holds (figures that follow an acknowledgement arrive a little later). */
  const scrapeUntil = async (ok: (s: Map<string, number>) => boolean, timeoutMs = 5000): Promise<Map<string, number>> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = await scrape();
      if (ok(s) || Date.now() > until) return s;
      await sleep(50);
    }
  };
  const v = (s: Map<string, number>, key: string) => {
    const value = s.get(key);
    if (value === undefined) throw new Error(`no sample ${key}`);
    return value;
  };
  const jim = async (user: string, via: "tcp" | "ws") => {
    const c = via === "tcp" ? await JimTcpClient.connect(f.tlim.jimPort) : await JimWsClient.connect(f.tlim.jimPort);
    jims.push(c);
    expect((await jimLogin(c, user, { token: signToken(TOKEN_SECRET, user, Math.floor(Date.now() / 1000) + 3600) })).json.code).toBe(10007);
    return c;
  };

  let C = "";
  beforeAll(() => {
    C = f.C;
  });

  it("answers 401 without the API secret as a bearer token", async () => {
    expect((await fetch(`${f.tlim.httpUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${f.tlim.httpUrl}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await fetch(`${f.tlim.httpUrl}/metrics?secret=${API_SECRET}`)).status).toBe(401);
  });

  it("counts stanzas, commits, deliveries and acknowledgements of messages between two XMPP users", async () => {
    const [a, b] = [f.fresh(), f.fresh()];
    const alice = await f.login(a);
    const bob = await f.login(b);
    autoAck(bob);
    await f.settle();
    const before = await scrape();
    expect(v(before, "tlim_xmpp_link_up")).toBe(1);
    expect(v(before, 'tlim_online_devices{class="xmpp"}')).toBeGreaterThanOrEqual(2);
    expect(before.has("process_cpu_user_seconds_total")).toBe(true);

    const N = 5;
    const stanzas = Array.from({ length: N }, (_, i) => {
      const env = envelope({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: `metrics ${i}` }] });
      return { env, stanza: tlimMessage(`${b}@${C}`, env) };
    });
    for (const { stanza } of stanzas) await alice.send(stanza);
    for (const { env, stanza } of stanzas) {
      await bob.waitFor(isMessageWithId(env.msg_id));
      await alice.waitFor(isReceiptFor(stanza.attrs.id as string)); // stored: the sender's ack
    }
    const ackKey = 'tlim_message_ack_latency_seconds_count{transport="xmpp",via="device"}';
    const after = await scrapeUntil((s) => v(s, ackKey) - v(before, ackKey) >= N);
    const d = (key: string) => v(after, key) - v(before, key);

    // In: alice's N messages and bob's N receipts; out: at least N pushes to bob and N receipts to alice.
    expect(d('tlim_xmpp_stanzas_received_total{kind="message"}')).toBe(2 * N);
    expect(d('tlim_xmpp_stanzas_sent_total{kind="message"}')).toBeGreaterThanOrEqual(2 * N);
    // Received → committed: each message once, stored; the batches hold exactly those N.
    expect(d('tlim_messages_committed_total{outcome="stored"}')).toBe(N);
    expect(d('tlim_messages_committed_total{outcome="duplicate"}')).toBe(0);
    expect(d("tlim_message_commit_latency_seconds_count")).toBe(N);
    expect(d("tlim_message_commit_latency_seconds_sum")).toBeGreaterThan(0);
    expect(d("tlim_writer_batch_size_messages_sum")).toBe(N);
    expect(d("tlim_writer_commit_duration_seconds_count")).toBe(d("tlim_writer_batch_size_messages_count"));
    expect(d('tlim_writer_batches_total{outcome="committed"}')).toBe(d("tlim_writer_batch_size_messages_count"));
    // Committed → delivered: one push per message to bob's one device (alice's own copy stays
    // with the device it came from); → acknowledged: each confirmed once by bob's device.
    expect(d('tlim_message_delivery_latency_seconds_count{transport="xmpp",path="live"}')).toBe(N);
    expect(d(ackKey)).toBe(N);
    expect(d('tlim_message_ack_latency_seconds_count{transport="xmpp",via="grace"}')).toBe(0);
    // Everything confirmed: nothing waits for an online device, nothing for the writer.
    expect(v(after, 'tlim_inbox_lag_messages{class="xmpp"}')).toBe(0);
    expect(v(after, "tlim_writer_queue_depth")).toBe(0);
    expect(v(after, "tlim_writer_pending_messages")).toBe(0);
    expect(v(after, "tlim_xmpp_link_up")).toBe(1);
  });

  it("counts J-IM connections by transport, and a J-IM push, its lag and its acknowledgement", async () => {
    const [a, c, w] = [f.fresh(), f.fresh(), f.fresh()];
    const before = await scrape();
    const tcp = await jim(c, "tcp");
    await jim(w, "ws");
    const open = await scrape();
    expect(v(open, 'tlim_jim_connections{transport="tcp"}') - v(before, 'tlim_jim_connections{transport="tcp"}')).toBe(1);
    expect(v(open, 'tlim_jim_connections{transport="ws"}') - v(before, 'tlim_jim_connections{transport="ws"}')).toBe(1);
    expect(v(open, 'tlim_online_devices{class="jim"}') - v(before, 'tlim_online_devices{class="jim"}')).toBe(2);

    // An XMPP user writes to the J-IM user: one live J-IM push, unconfirmed until c says anything.
    const alice = await f.login(a);
    await f.settle();
    const env = envelope({ msg_from: a, msg_to: c, msg_type: "MTT-000", body: [{ text: "to j-im" }] });
    await alice.send(tlimMessage(`${c}@${C}`, env));
    expect((await tcp.next(11)).json.data.content).toBe("to j-im");
    const pushed = await scrape();
    expect(v(pushed, 'tlim_message_delivery_latency_seconds_count{transport="jim",path="live"}') - v(before, 'tlim_message_delivery_latency_seconds_count{transport="jim",path="live"}')).toBe(1);
    expect(v(pushed, 'tlim_inbox_lag_messages{class="jim"}')).toBe(1);
    expect(v(pushed, 'tlim_inbox_lag_seconds{class="jim"}')).toBeGreaterThan(0);

    tcp.send(13, { hbbyte: -128 }); // traffic after the push: the device read it
    await tcp.next(13);
    const ackKey = 'tlim_message_ack_latency_seconds_count{transport="jim",via="device"}';
    const acked = await scrapeUntil((s) => v(s, ackKey) - v(before, ackKey) >= 1);
    expect(v(acked, ackKey) - v(before, ackKey)).toBe(1);
    expect(v(acked, 'tlim_inbox_lag_messages{class="jim"}')).toBe(0);
    expect(v(acked, 'tlim_inbox_lag_seconds{class="jim"}')).toBe(0);
  });

  it("counts HTTP API requests by route pattern and status", async () => {
    const route = '{route="/plugins/tlim/getOffline",status="200"}';
    const refused = '{route="/plugins/tlim/*",status="401"}';
    const before = await scrape();
    const was = (key: string) => before.get(key) ?? 0;
    expect((await f.tlim.api("getOffline", { user_id: "mt9" })).result).toBe("ok");
    expect((await f.tlim.api("getOffline", { user_id: "mt10" })).result).toBe("ok");
    expect((await f.tlim.api("getOffline", { user_id: "mt10" }, { secret: "wrong" })).result).toBe("error-014");
    const after = await scrape();
    expect(v(after, `tlim_http_requests_total${route}`) - was(`tlim_http_requests_total${route}`)).toBe(2);
    expect(v(after, `tlim_http_request_duration_seconds_count${route}`) - was(`tlim_http_request_duration_seconds_count${route}`)).toBe(2);
    expect(v(after, `tlim_http_requests_total${refused}`) - was(`tlim_http_requests_total${refused}`)).toBe(1);
    // The scrapes themselves are requests too.
    expect(v(after, 'tlim_http_requests_total{route="/metrics",status="200"}')).toBeGreaterThan(0);
  });
});
