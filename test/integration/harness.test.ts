// Proves the test harness against a real Prosody and a real ejabberd (each started directly,
// whatever TLIM_TEST_XMPP_SERVER says), using @xmpp/component directly. Runs once, in the
// "prosody" project (vitest.config.ts); server-selection.test.ts proves the selection in both.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { component, xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { startEjabberd, type EjabberdHandle } from "../support/ejabberd.js";
import { startProsody, type ProsodyHandle } from "../support/prosody.js";
import { connectClient, type TestClient } from "../support/xmpp-client.js";


/**
 * A raw component under test, watched: every stanza it receives is kept, and its "online"
 * events are counted, so a test can wait for either after the fact.
 */
function watchedComponent(opts: Parameters<typeof component>[0], logTail: () => string, onlineMs: number) {
  const c = component(opts);
  const stanzas: Element[] = [];
  let online = 0;
  c.on("error", () => {}); // reconnect noise while the server restarts
  c.on("online", () => online++);
  c.on("stanza", (el: Element) => stanzas.push(el));
  return {
    comp: c,
    get onlineCount() {
      return online;
    },
    waitFor: (pred: (el: Element) => boolean, ms = 5000): Promise<Element> =>
      new Promise((resolve, reject) => {
        const hit = stanzas.find(pred);
        if (hit) return resolve(hit);
        const t = setTimeout(() => {
          c.off("stanza", on);
          reject(new Error(`component: no matching stanza within ${ms} ms; got ${stanzas.map(String).join("\n")}`));
        }, ms);
        const on = (el: Element) => {
          if (pred(el)) {
            clearTimeout(t);
            c.off("stanza", on);
            resolve(el);
          }
        };
        c.on("stanza", on);
      }),
    waitOnline: (n: number, ms = onlineMs): Promise<void> =>
      new Promise((resolve, reject) => {
        if (online >= n) return resolve();
        const t = setTimeout(() => reject(new Error(`component not online (#${n}) within ${ms} ms\n${logTail()}`)), ms);
        const on = () => {
          if (online >= n) {
            clearTimeout(t);
            c.off("online", on);
            resolve();
          }
        };
        c.on("online", on);
      }),
    async stop() {
      c.reconnect.stop();
      await Promise.race([c.stop().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}

describe("test harness: Prosody + clients + raw component", () => {
  let prosody: ProsodyHandle;
  let w: ReturnType<typeof watchedComponent>;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    prosody = await startProsody({ users: [["alice", "alicepw"], ["bob", "bobpw"]] });
    w = watchedComponent({ service: prosody.componentService, domain: prosody.componentDomain, password: prosody.componentSecret }, () => prosody.logTail(20), 8000);
    await w.comp.start();
  });

  afterAll(async () => {
    for (const c of clients) await c.stop();
    await w?.stop();
    await prosody?.stop();
  });

  it("starts Prosody on free loopback ports", () => {
    expect(prosody.c2sPort).toBeGreaterThan(0);
    expect(prosody.componentPort).toBeGreaterThan(0);
    expect(prosody.service).toBe(`xmpp://127.0.0.1:${prosody.c2sPort}`);
    expect(prosody.componentService).toBe(`xmpp://127.0.0.1:${prosody.componentPort}`);
    expect(prosody.userDomain).toBe("localhost");
    expect(prosody.componentDomain).toBe("tlim.localhost");
    expect(w.onlineCount).toBe(1);
    expect(w.comp.jid?.toString()).toBe("tlim.localhost");
  });

  it("relays presence client→component and messages component→client bare JID", async () => {
    const a = await connectClient(prosody, "alice", "alicepw", "ra");
    const b = await connectClient(prosody, "bob", "bobpw");
    clients.push(a, b);
    expect(a.jid).toBe("alice@localhost/ra");
    expect(b.bareJid).toBe("bob@localhost");

    await a.sendPresenceTo(prosody.componentDomain);
    const pres = await w.waitFor((el) => el.is("presence") && el.attrs.from === a.jid);
    expect(pres.attrs.to).toBe("tlim.localhost");
    expect(pres.attrs.type).toBeUndefined();

    await w.comp.send(xml("message", { from: "x@tlim.localhost", to: b.bareJid, type: "chat", id: "m1" }, xml("body", {}, "hello bob")));
    const msg = await b.waitFor((el) => el.is("message") && el.attrs.id === "m1");
    expect(msg.attrs.from).toBe("x@tlim.localhost");
    expect(msg.getChildText("body")).toBe("hello bob");
    expect(b.messages().length).toBeGreaterThanOrEqual(1);

    // waitForCount sees already-received and future stanzas
    await w.comp.send(xml("message", { from: "x@tlim.localhost", to: b.bareJid, type: "chat", id: "m2" }, xml("body", {}, "2")));
    const both = await b.waitForCount((el) => el.is("message") && el.attrs.from === "x@tlim.localhost", 2);
    expect(both.map((e) => e.attrs.id)).toEqual(["m1", "m2"]);

    // the unavailable presence that follows a client disconnect
    await a.stop();
    const gone = await w.waitFor((el) => el.is("presence") && el.attrs.from === a.jid && el.attrs.type === "unavailable");
    expect(gone.attrs.to).toBe("tlim.localhost");
  });

  it("restart() keeps ports and accounts, and the component reconnects by itself", async () => {
    const { c2sPort, componentPort } = prosody;
    await prosody.restart();
    expect(prosody.c2sPort).toBe(c2sPort);
    expect(prosody.componentPort).toBe(componentPort);

    await w.waitOnline(2);
    // accounts written before the first start survive; addUser works while running
    await prosody.addUser("carol", "carolpw");
    const c = await connectClient(prosody, "carol", "carolpw");
    clients.push(c);
    await w.comp.send(xml("message", { from: "x@tlim.localhost", to: c.bareJid, id: "after-restart" }, xml("body", {}, "back")));
    const m = await c.waitFor((el) => el.is("message") && el.attrs.id === "after-restart");
    expect(m.getChildText("body")).toBe("back");

    // bob's client from the previous test reconnected by itself and is available again
    // (Prosody echoes a resource's own presence back to it: once per login).
    const b = clients[1]!;
    await b.waitForCount((el) => el.is("presence") && el.attrs.from === b.jid && !el.attrs.type, 2, 8000);
    await b.waitForCount((el) => el.is("presence") && el.attrs.from === b.jid && !el.attrs.type, 2, 10000);
    await w.comp.send(xml("message", { from: "x@tlim.localhost", to: b.bareJid, type: "chat", id: "b-after-restart" }, xml("body", {}, "b")));
    await b.waitFor((el) => el.is("message") && el.attrs.id === "b-after-restart");

    const b2 = await connectClient(prosody, "bob", "bobpw", "again");
    clients.push(b2);
    expect(b2.jid).toBe("bob@localhost/again");
  });
});

describe("test harness: ejabberd + clients + raw component", () => {
  let ej: EjabberdHandle;
  let w: ReturnType<typeof watchedComponent>;
  const clients: TestClient[] = [];
  const USERS = Array.from({ length: 40 }, (_, i) => [`user${i + 1}`, `pw${i + 1}`] as [string, string]);

  /** beam.smp processes of this node (its name is on the command line). */
  const beams = (node: string): string[] => {
    try {
      return execFileSync("pgrep", ["-f", `beam.smp.*${node}`], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
    } catch {
      return []; // pgrep exits 1 when nothing matches
    }
  };

  beforeAll(async () => {
    const t0 = Date.now();
    ej = await startEjabberd({ users: [["alice", "alicepw"], ["bob", "bobpw"], ...USERS], resumeTimeoutS: 5 });
    console.log(`ejabberd start + ${USERS.length + 2} users: ${Date.now() - t0} ms`);
    w = watchedComponent({ service: ej.componentService, domain: ej.componentDomain, password: ej.componentSecret }, () => ej.logTail(20), 10000);
    await w.comp.start();
  });

  afterAll(async () => {
    for (const c of clients) await c.stop();
    await w?.stop();
    await ej?.stop();
  });

  it("starts ejabberd on free loopback ports; the component handshake (XEP-0114) is accepted", () => {
    expect(ej.kind).toBe("ejabberd");
    expect(ej.c2sPort).toBeGreaterThan(0);
    expect(ej.componentPort).toBeGreaterThan(0);
    expect(ej.c2sPort).not.toBe(ej.componentPort);
    expect(ej.service).toBe(`xmpp://127.0.0.1:${ej.c2sPort}`);
    expect(ej.componentService).toBe(`xmpp://127.0.0.1:${ej.componentPort}`);
    expect(ej.userDomain).toBe("localhost");
    expect(ej.componentDomain).toBe("tlim.localhost");
    expect(ej.componentSecret).toBe("s3cret");
    expect(w.onlineCount).toBe(1);
    expect(w.comp.jid?.toString()).toBe("tlim.localhost");
    expect(Number(readFileSync(ej.pidFile, "utf8"))).toBeGreaterThan(0);
    const yml = readFileSync(`${ej.dir}/etc/ejabberd.yml`, "utf8");
    expect(yml).toContain("resume_timeout: 5");
    expect(yml).toContain("starttls: false");
  });

  it("refuses a component with the wrong secret", async () => {
    const bad = component({ service: ej.componentService, domain: ej.componentDomain, password: "wrong" });
    bad.on("error", () => {});
    await expect(bad.start()).rejects.toThrow();
    bad.reconnect.stop();
    await Promise.race([bad.stop().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
  });

  it("every account given to startEjabberd() can log in; two users exchange a message", async () => {
    const logins = await Promise.all(USERS.map(([u, p]) => connectClient(ej, u, p)));
    clients.push(...logins);
    expect(logins.map((c) => c.bareJid)).toEqual(USERS.map(([u]) => `${u}@localhost`));
    await expect(connectClient(ej, "user1", "wrong", undefined, { timeoutMs: 3000 })).rejects.toThrow();

    const [u1, u2] = logins as [TestClient, TestClient];
    await u1.send(xml("message", { to: u2.bareJid, type: "chat", id: "u2u" }, xml("body", {}, "hi user2")));
    const m = await u2.waitFor((el) => el.is("message") && el.attrs.id === "u2u");
    expect(m.attrs.from).toBe(u1.jid);
    expect(m.getChildText("body")).toBe("hi user2");
    await Promise.all(logins.map((c) => c.stop())); // ejabberd answers a stream close after ~100 ms
  });

  it("relays presence client→component and messages component→client bare JID", async () => {
    const a = await connectClient(ej, "alice", "alicepw", "ra");
    const b = await connectClient(ej, "bob", "bobpw");
    clients.push(a, b);
    expect(a.jid).toBe("alice@localhost/ra");

    await a.sendPresenceTo(ej.componentDomain);
    const pres = await w.waitFor((el) => el.is("presence") && el.attrs.from === a.jid);
    expect(pres.attrs.to).toBe("tlim.localhost");
    expect(pres.attrs.type).toBeUndefined();

    await w.comp.send(xml("message", { from: "x@tlim.localhost", to: b.bareJid, type: "chat", id: "m1" }, xml("body", {}, "hello bob")));
    const msg = await b.waitFor((el) => el.is("message") && el.attrs.id === "m1");
    expect(msg.attrs.from).toBe("x@tlim.localhost");
    expect(msg.getChildText("body")).toBe("hello bob");

    await a.stop();
    const gone = await w.waitFor((el) => el.is("presence") && el.attrs.from === a.jid && el.attrs.type === "unavailable");
    expect(gone.attrs.to).toBe("tlim.localhost");
  });

  it("addUser() works while running, and gives an existing account the new password", async () => {
    await ej.addUser("carol", "carolpw");
    const c = await connectClient(ej, "carol", "carolpw");
    await c.stop();
    await ej.addUser("carol", "carolpw2");
    const c2 = await connectClient(ej, "carol", "carolpw2");
    await c2.stop();
    await expect(connectClient(ej, "carol", "carolpw", undefined, { timeoutMs: 3000 })).rejects.toThrow();
  });

  it("restart() keeps ports, accounts and offline messages, and the component reconnects by itself", async () => {
    // dave is offline: the message waits in mod_offline (Mnesia, in the spool dir).
    await ej.addUser("dave", "davepw");
    await w.comp.send(xml("message", { from: "x@tlim.localhost", to: "dave@localhost", type: "chat", id: "stored" }, xml("body", {}, "kept")));
    await new Promise((r) => setTimeout(r, 200));

    const { c2sPort, componentPort } = ej;
    await ej.restart();
    expect(ej.c2sPort).toBe(c2sPort);
    expect(ej.componentPort).toBe(componentPort);
    await w.waitOnline(2);

    const d = await connectClient(ej, "dave", "davepw");
    clients.push(d);
    const m = await d.waitFor((el) => el.is("message") && el.attrs.id === "stored");
    expect(m.getChildText("body")).toBe("kept");

    const c = await connectClient(ej, "carol", "carolpw2");
    clients.push(c);
    await c.waitFor((el) => el.is("presence") && el.attrs.from === c.jid); // see the kill() test
    await w.comp.send(xml("message", { from: "x@tlim.localhost", to: c.bareJid, id: "after-restart" }, xml("body", {}, "back")));
    expect((await c.waitFor((el) => el.is("message") && el.attrs.id === "after-restart")).getChildText("body")).toBe("back");

    // bob's client from an earlier test reconnected by itself and is available again.
    const b = clients.find((x) => x.bareJid === "bob@localhost")!;
    await b.waitForCount((el) => el.is("presence") && el.attrs.from === b.jid && !el.attrs.type, 2, 10000);
    await w.comp.send(xml("message", { from: "x@tlim.localhost", to: b.bareJid, type: "chat", id: "b-after-restart" }, xml("body", {}, "b")));
    await b.waitFor((el) => el.is("message") && el.attrs.id === "b-after-restart", 10000);
  });

  it("kill() is a hard SIGKILL of beam.smp; restart() afterwards brings everything back", async () => {
    const pid = Number(readFileSync(ej.pidFile, "utf8"));
    expect(beams(ej.node)).toEqual([String(pid)]);
    await ej.kill();
    expect(() => process.kill(pid, 0)).toThrow();
    expect(beams(ej.node)).toEqual([]);
    expect(existsSync(ej.dir)).toBe(true);

    await ej.restart();
    await w.waitOnline(3);
    const c = await connectClient(ej, "user7", "pw7");
    clients.push(c);
    // A message to the bare JID that overtakes the initial presence finds no available resource
    // (ejabberd bounces a bodiless one as service-unavailable): wait for the presence echo first.
    await c.waitFor((el) => el.is("presence") && el.attrs.from === c.jid);
    await w.comp.send(xml("message", { from: "x@tlim.localhost", to: c.bareJid, type: "chat", id: "after-kill" }, xml("body", {}, "again")));
    await c.waitFor((el) => el.is("message") && el.attrs.id === "after-kill");
  });

  it("stop() is idempotent, removes the dir and leaves no process behind", async () => {
    const other = await startEjabberd({ users: [["solo", "pw"]] });
    const pid = Number(readFileSync(other.pidFile, "utf8"));
    expect(beams(other.node)).toEqual([String(pid)]);
    await other.stop();
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    expect(beams(other.node)).toEqual([]);
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(other.restart()).rejects.toThrow(/after stop/);
  });
});
