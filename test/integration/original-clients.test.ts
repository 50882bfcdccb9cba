// Clients written for the original tlim Openfire plugin, unchanged, through a real Prosody with
// tlim's Prosody module (server/prosody/mod_tlim.lua) and a real ejabberd with tlim's ejabberd
// module (server/ejabberd/mod_tlim.erl, built here by server/ejabberd/build.sh; docs/servers.md,
// docs/ejabberd-module.md): they address users and sessions in the users' domain (`<peer>@D`,
// `<session_id>@D`, `undefined@D`), with or without the <tlim xmlns="im.itonglian.com"/> marker,
// never send presence to the component, never send receipts, and never answer pings (Strophe
// without plugins). The stanza shapes are byte for byte those of the original's web client (its
// webclient.js: `$msg({to, type:'chat'}).c('tlim', …)`). Both servers run here, whatever
// TLIM_TEST_XMPP_SERVER says: the cases are the same, each server with its own module.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { envelopeOf, sleep } from "../support/tlim-stanzas.js";
import { connectClient, xml, type Element, type TestClient } from "../support/xmpp-client.js";
import { startXmppServer, XMPP_SERVER_KINDS, type XmppServerHandle, type XmppServerKind, type XmppServerOptions } from "../support/xmpp-server.js";

const PROSODY_MODULE_DIR = new URL("../../server/prosody", import.meta.url).pathname;
const EJABBERD_BUILD = new URL("../../server/ejabberd/build.sh", import.meta.url).pathname;
const EJABBERD_EBIN = new URL("../../server/ejabberd/mod_tlim/ebin", import.meta.url).pathname;
const NS_ROUTE = "urn:tlim:route:0";
const GRACE_S = 2;

/** Each server with its tlim module loaded on the users' host, for the component tlim.localhost. */
const MODULE_CONFIG: Record<XmppServerKind, Pick<XmppServerOptions, "prosody" | "ejabberd">> = {
  prosody: {
    prosody: {
      extraConfig: `plugin_paths = { ${JSON.stringify(PROSODY_MODULE_DIR)} }`,
      hostConfig: `modules_enabled = { "tlim" }\ntlim_component = "tlim.localhost"`,
    },
  },
  ejabberd: {
    ejabberd: { codePaths: [EJABBERD_EBIN], modules: { mod_tlim: { component: "tlim.localhost" } } },
  },
};

let built: Promise<void> | null = null;
/** server/ejabberd/build.sh (erlc against the installed ejabberd's headers), once per worker. */
function buildEjabberdModule(): Promise<void> {
  return (built ??= new Promise<void>((resolve, reject) => {
    const p = spawn("bash", [EJABBERD_BUILD], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", (e) => reject(new Error(`cannot run bash ${EJABBERD_BUILD}: ${e.message}`)));
    p.on("exit", (code) => {
      if (code === 0) return resolve();
      const why = code === 127 ? "erlc is missing (Erlang/OTP's compiler; Debian: package erlang-base)" : `exit code ${code}`;
      reject(new Error(`building the ejabberd module failed: ${why}\n${out.trim()}`));
    });
  }));
}

/** The envelope as the original web client builds it (utils.parse: its field order and flags). */
function originalEnvelope(fields: { msg_type: string; msg_from: string; msg_to: string; body: unknown[] }) {
  return {
    msg_id: randomUUID(), msg_type: fields.msg_type, body: fields.body, compress: "0", encode: "1", encrypt: "0",
    version: "2.0.0", msg_from: fields.msg_from, msg_to: fields.msg_to, msg_time: String(Date.now()),
  };
}

/** `$msg({from, to, type:'chat'}).c('tlim', {xmlns, location:'web'}).up().c('body', null, JSON)`. */
function originalStanza(from: string, to: string, env: object, marker = true): Element {
  const children = marker ? [xml("tlim", { xmlns: "im.itonglian.com", location: "web" })] : [];
  return xml("message", { from, to, type: "chat" }, ...children, xml("body", {}, JSON.stringify(env)));
}

describe.each(XMPP_SERVER_KINDS)("the original plugin's clients through %s with tlim's module", (serverKind) => {
  describe.each(DB_KINDS)("%s", (kind) => {
    let server: XmppServerHandle;
    let db: TestDb;
    let tlim: TestTlim;
    const users = Array.from({ length: 20 }, (_, i) => `oc${i + 1}`);
    let next = 0;
    const fresh = () => users[next++]!;
    const clients: TestClient[] = [];
    let D: string;

    /** An original client: a `<uuid>[web]` resource, initial presence only, no answer to pings. */
    const original = async (user: string) => {
      const c = await connectClient(server, user, "pw", `${randomUUID()}[web]`);
      clients.push(c);
      c.xmpp.iqCallee.get("urn:xmpp:ping", "ping", () => new Promise<never>(() => {}));
      return c;
    };
    const tlimMessages = (c: TestClient, msgId: string) => c.messages().filter((el) => el.attrs.type !== "error" && envelopeOf(el)?.msg_id === msgId);
    /** What tlim knows of the user's devices (only what the module told it: they never address it). */
    const presenceAtTlim = async (user: string, want: "available" | "offline", timeoutMs = 5000) => {
      const until = Date.now() + timeoutMs;
      while (tlim.xmpp.delivery.presenceOf(user) !== want && Date.now() < until) await sleep(50);
      return tlim.xmpp.delivery.presenceOf(user);
    };

    beforeAll(async () => {
      if (serverKind === "ejabberd") await buildEjabberdModule();
      server = await startXmppServer({ users: users.map((u) => [u, "pw"] as [string, string]), ...MODULE_CONFIG[serverKind] }, serverKind);
      D = server.userDomain;
      db = await createDb(kind, "orig");
      tlim = await startTestTlim(server, db.url, { ackGraceS: GRACE_S });
    }, 90_000);

    afterAll(async () => {
      for (const c of clients) await c.stop();
      await tlim?.stop();
      await server?.stop();
      await db?.drop();
    });

    it("1:1 to <peer>@D, with and without the marker: stored, delivered from the sender's address in D", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await original(a);
      const bob = await original(b);
      await sleep(300);
      for (const marker of [true, false]) {
        const env = originalEnvelope({ msg_type: "MTT-000", msg_from: a, msg_to: b, body: [{ text: `hi (marker ${marker})` }] });
        await alice.send(originalStanza(`${a}@${D}`, `${b}@${D}`, env, marker));
        const got = await bob.waitFor((el) => envelopeOf(el)?.msg_id === env.msg_id, 5000);
        expect(got.attrs.from).toBe(`${a}@${D}`);
        expect(got.getChild("address", "urn:tlim:route:0")).toBeUndefined();
        expect(envelopeOf(got)).toMatchObject({ msg_from: a, msg_to: b, msg_type: "MTT-000", body: [{ text: `hi (marker ${marker})` }] });
      }
      expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total).toBe(2);
      // The sender's own device does not get its message back.
      await sleep(300);
      expect(alice.messages().filter((el) => envelopeOf(el)?.msg_from === a)).toEqual([]);
    });

    it("session messages to <session_id>@D and to undefined@D, routed by body[0].session_id", async () => {
      const [a, b, c] = [fresh(), fresh(), fresh()];
      const sessionId = (await tlim.core.sessions.create({ sessionType: 0, owner: a, members: [{ userId: a }, { userId: b }, { userId: c }] })).session.sessionId;
      const alice = await original(a);
      const bob = await original(b);
      const carol = await original(c);
      await sleep(300);
      const toSession = originalEnvelope({ msg_type: "MTS-000", msg_from: a, msg_to: sessionId, body: [{ session_id: sessionId, text: "to the session" }] });
      await alice.send(originalStanza(`${a}@${D}`, `${sessionId}@${D}`, toSession));
      // webclient.js addresses `protocol.session_id`, which is undefined for envelopes without it at top level.
      const toUndefined = originalEnvelope({ msg_type: "MTS-000", msg_from: b, msg_to: sessionId, body: [{ session_id: sessionId, text: "via undefined" }] });
      await bob.send(originalStanza(`${b}@${D}`, `undefined@${D}`, toUndefined, false));
      for (const member of [bob, carol]) await member.waitFor((el) => envelopeOf(el)?.msg_id === toSession.msg_id, 5000);
      for (const member of [alice, carol]) await member.waitFor((el) => envelopeOf(el)?.msg_id === toUndefined.msg_id, 5000);
      const history = await tlim.api("findSessionHistory", { session_id: sessionId });
      expect(history.total).toBe(2);
    });

    it("an offline recipient gets its messages after login, once: not the whole backlog again at the next login", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await original(a);
      await sleep(200);
      const envs = [1, 2, 3].map((i) => originalEnvelope({ msg_type: "MTT-000", msg_from: a, msg_to: b, body: [{ text: `while away ${i}` }] }));
      for (const e of envs) await alice.send(originalStanza(`${a}@${D}`, `${b}@${D}`, e));
      const until = Date.now() + 5000;
      while ((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total < 3 && Date.now() < until) await sleep(100);

      const bob = await original(b); // no presence to the component: the module reports it
      for (const e of envs) await bob.waitFor((el) => envelopeOf(el)?.msg_id === e.msg_id, 5000);
      await sleep(GRACE_S * 1000 + 1500); // the device answers nothing: the grace period confirms
      await bob.stop();
      const again = await original(b);
      const later = originalEnvelope({ msg_type: "MTT-000", msg_from: a, msg_to: b, body: [{ text: "later" }] });
      await alice.send(originalStanza(`${a}@${D}`, `${b}@${D}`, later));
      await again.waitFor((el) => envelopeOf(el)?.msg_id === later.msg_id, 5000);
      for (const e of envs) expect(tlimMessages(again, e.msg_id)).toEqual([]);
    }, 30_000);

    it("leaves messages without a tlim envelope alone: plain chat between users is routed as usual", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await original(a);
      const bob = await original(b);
      await sleep(200);
      await alice.send(xml("message", { to: `${b}@${D}`, type: "chat", id: "plain-1" }, xml("body", {}, "just XMPP")));
      const got = await bob.waitFor((el) => el.is("message") && el.getChildText("body") === "just XMPP", 5000);
      expect(got.attrs.from).toMatch(new RegExp(`^${a}@${D}/`));
      expect((await tlim.api("findChatHistory", { user_id: a, session_id: b })).total).toBe(0);
    });

    it("after a tlim restart, devices that never addressed tlim are known again at once (the module says who is online)", async () => {
      const [a, b] = [fresh(), fresh()];
      const alice = await original(a);
      const bob = await original(b);
      await sleep(300);
      await tlim.stop();
      tlim = await startTestTlim(server, db.url, { ackGraceS: GRACE_S });
      expect(await presenceAtTlim(b, "available")).toBe("available");
      await sleep(500);
      const env = originalEnvelope({ msg_type: "MTT-000", msg_from: a, msg_to: b, body: [{ text: "after the restart" }] });
      await alice.send(originalStanza(`${a}@${D}`, `${b}@${D}`, env));
      const got = await bob.waitFor((el) => envelopeOf(el)?.msg_id === env.msg_id, 5000);
      expect(got.attrs.from).toBe(`${a}@${D}`);
    });

    it("tlim learns of a device's availability from the module alone: login, logout", async () => {
      const a = fresh();
      const first = await original(a);
      expect(await presenceAtTlim(a, "available")).toBe("available");
      await first.stop();
      expect(await presenceAtTlim(a, "offline")).toBe("offline");
      const second = await original(a);
      expect(await presenceAtTlim(a, "available")).toBe("available");
      await second.stop();
      expect(await presenceAtTlim(a, "offline")).toBe("offline");
    });

    it("an unavailable presence before the logout (Strophe's disconnect() sends one) is reported at once", async () => {
      const a = fresh();
      const device = await original(a);
      expect(await presenceAtTlim(a, "available")).toBe("available");
      await device.send(xml("presence", { type: "unavailable" }));
      // Both modules report the unavailable presence itself, before the logout.
      expect(await presenceAtTlim(a, "offline")).toBe("offline");
      await device.stop();
      await sleep(500);
      expect(tlim.xmpp.delivery.presenceOf(a)).toBe("offline");
      expect(tlim.xmpp.delivery.onlineJids(a)).toEqual([]);
    });

    it("only the component may ask who is online", async () => {
      const alice = await original(fresh());
      const err = await alice.xmpp.iqCaller
        .request(xml("iq", { type: "get", to: D }, xml("online", { xmlns: NS_ROUTE })), 5000)
        .then(() => null, (e: { condition?: string }) => e);
      expect(err?.condition).toBe("forbidden");
    });

    it("a user cannot choose the sender another user sees: <address/> counts only from the component", async () => {
      const [a, b, c] = [fresh(), fresh(), fresh()];
      const alice = await original(a);
      const bob = await original(b);
      await sleep(200);
      const forged = xml("address", { xmlns: NS_ROUTE, from: `${c}@${D}` });
      await alice.send(xml("message", { to: `${b}@${D}`, type: "chat", id: "forged-1" }, xml("body", {}, "forged?"), forged));
      const got = await bob.waitFor((el) => el.is("message") && el.getChildText("body") === "forged?", 5000);
      expect(got.attrs.from).toMatch(new RegExp(`^${a}@${D}/`));
    });
  });
});
