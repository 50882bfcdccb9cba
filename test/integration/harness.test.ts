// Proves the test harness against a real Prosody, using @xmpp/component directly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { component, xml, type Component } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { startProsody, type ProsodyHandle } from "../support/prosody.js";
import { connectClient, type TestClient } from "../support/xmpp-client.js";

describe("test harness: Prosody + clients + raw component", () => {
  let prosody: ProsodyHandle;
  let comp: Component;
  const compStanzas: Element[] = [];
  let onlineCount = 0;
  const clients: TestClient[] = [];

  const compWaitFor = (pred: (el: Element) => boolean, ms = 5000): Promise<Element> =>
    new Promise((resolve, reject) => {
      const hit = compStanzas.find(pred);
      if (hit) return resolve(hit);
      const t = setTimeout(() => {
        comp.off("stanza", on);
        reject(new Error(`component: no matching stanza within ${ms} ms; got ${compStanzas.map(String).join("\n")}`));
      }, ms);
      const on = (el: Element) => {
        if (pred(el)) {
          clearTimeout(t);
          comp.off("stanza", on);
          resolve(el);
        }
      };
      comp.on("stanza", on);
    });

  const waitOnline = (n: number, ms = 8000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (onlineCount >= n) return resolve();
      const t = setTimeout(() => reject(new Error(`component not online (#${n}) within ${ms} ms\n${prosody.logTail(20)}`)), ms);
      const on = () => {
        if (onlineCount >= n) {
          clearTimeout(t);
          comp.off("online", on);
          resolve();
        }
      };
      comp.on("online", on);
    });

  beforeAll(async () => {
    prosody = await startProsody({ users: [["alice", "alicepw"], ["bob", "bobpw"]] });
    comp = component({ service: prosody.componentService, domain: prosody.componentDomain, password: prosody.componentSecret });
    comp.on("error", () => {}); // reconnect noise while Prosody restarts
    comp.on("online", () => onlineCount++);
    comp.on("stanza", (el: Element) => compStanzas.push(el));
    await comp.start();
  });

  afterAll(async () => {
    for (const c of clients) await c.stop();
    if (comp) {
      comp.reconnect.stop();
      await Promise.race([comp.stop().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
    }
    await prosody?.stop();
  });

  it("starts Prosody on free loopback ports", () => {
    expect(prosody.c2sPort).toBeGreaterThan(0);
    expect(prosody.componentPort).toBeGreaterThan(0);
    expect(prosody.service).toBe(`xmpp://127.0.0.1:${prosody.c2sPort}`);
    expect(prosody.componentService).toBe(`xmpp://127.0.0.1:${prosody.componentPort}`);
    expect(prosody.userDomain).toBe("localhost");
    expect(prosody.componentDomain).toBe("tlim.localhost");
    expect(onlineCount).toBe(1);
    expect(comp.jid?.toString()).toBe("tlim.localhost");
  });

  it("relays presence client→component and messages component→client bare JID", async () => {
    const a = await connectClient(prosody, "alice", "alicepw", "ra");
    const b = await connectClient(prosody, "bob", "bobpw");
    clients.push(a, b);
    expect(a.jid).toBe("alice@localhost/ra");
    expect(b.bareJid).toBe("bob@localhost");

    await a.sendPresenceTo(prosody.componentDomain);
    const pres = await compWaitFor((el) => el.is("presence") && el.attrs.from === a.jid);
    expect(pres.attrs.to).toBe("tlim.localhost");
    expect(pres.attrs.type).toBeUndefined();

    await comp.send(xml("message", { from: "x@tlim.localhost", to: b.bareJid, type: "chat", id: "m1" }, xml("body", {}, "hello bob")));
    const msg = await b.waitFor((el) => el.is("message") && el.attrs.id === "m1");
    expect(msg.attrs.from).toBe("x@tlim.localhost");
    expect(msg.getChildText("body")).toBe("hello bob");
    expect(b.messages().length).toBeGreaterThanOrEqual(1);

    // waitForCount sees already-received and future stanzas
    await comp.send(xml("message", { from: "x@tlim.localhost", to: b.bareJid, type: "chat", id: "m2" }, xml("body", {}, "2")));
    const both = await b.waitForCount((el) => el.is("message") && el.attrs.from === "x@tlim.localhost", 2);
    expect(both.map((e) => e.attrs.id)).toEqual(["m1", "m2"]);

    // the unavailable presence that follows a client disconnect
    await a.stop();
    const gone = await compWaitFor((el) => el.is("presence") && el.attrs.from === a.jid && el.attrs.type === "unavailable");
    expect(gone.attrs.to).toBe("tlim.localhost");
  });

  it("restart() keeps ports and accounts, and the component reconnects by itself", async () => {
    const { c2sPort, componentPort } = prosody;
    await prosody.restart();
    expect(prosody.c2sPort).toBe(c2sPort);
    expect(prosody.componentPort).toBe(componentPort);

    await waitOnline(2);
    // accounts written before the first start survive; addUser works while running
    await prosody.addUser("carol", "carolpw");
    const c = await connectClient(prosody, "carol", "carolpw");
    clients.push(c);
    await comp.send(xml("message", { from: "x@tlim.localhost", to: c.bareJid, id: "after-restart" }, xml("body", {}, "back")));
    const m = await c.waitFor((el) => el.is("message") && el.attrs.id === "after-restart");
    expect(m.getChildText("body")).toBe("back");

    // bob's client from the previous test reconnected by itself and is available again
    // (Prosody echoes a resource's own presence back to it: once per login).
    const b = clients[1]!;
    await b.waitForCount((el) => el.is("presence") && el.attrs.from === b.jid && !el.attrs.type, 2, 8000);
    await comp.send(xml("message", { from: "x@tlim.localhost", to: b.bareJid, type: "chat", id: "b-after-restart" }));
    await b.waitFor((el) => el.is("message") && el.attrs.id === "b-after-restart");

    const b2 = await connectClient(prosody, "bob", "bobpw", "again");
    clients.push(b2);
    expect(b2.jid).toBe("bob@localhost/again");
  });
});
