// J-IM devices get what was pushed to them at least once (docs/protocol.md "Devices"): a push
// counts only once the device shows it read it — a frame from it after the push, a WebSocket pong
// (tlim pings behind its pushes), or the grace period on a connection that stayed open. A
// connection that dies right after a push gets it again from cmd 19 at its next login.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/protocol/jim-token.js";
import { jimLogin, JimTcpClient, JimWsClient, type JimClient } from "../support/jim-client.js";
import { sleep } from "../support/tlim-stanzas.js";
import { createDb, DB_KINDS, startTestTlim, type TestDb, type TestTlim } from "../support/tlim.js";
import { onServer, startXmppServer, type XmppServerHandle } from "../support/xmpp-server.js";

const SECRET = "jim-delivery-secret";
const GRACE_S = 2;

describe.each(DB_KINDS)(onServer("J-IM delivery confirmation on %s"), (kind) => {
  let server: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  const users = Array.from({ length: 20 }, (_, i) => `jd${i + 1}`);
  let next = 0;
  const fresh = () => users[next++]!;
  const open: JimClient[] = [];

  const jim = async (user: string, via: "tcp" | "ws") => {
    const c = via === "tcp" ? await JimTcpClient.connect(tlim.jimPort) : await JimWsClient.connect(tlim.jimPort);
    open.push(c);
    expect((await jimLogin(c, user, { token: signToken(SECRET, user, Math.floor(Date.now() / 1000) + 3600) })).json.code).toBe(10007);
    return c;
  };
  /** What cmd 19 type 0 offers a new connection of the user, by content. */
  const offline = async (user: string, via: "tcp" | "ws", from: string) => {
    const c = await jim(user, via);
    c.send(19, { userId: user, type: 0 });
    const got = await c.next(20);
    c.close();
    return ((got.json.data.friends[from] ?? []) as Array<{ content: string }>).map((m) => m.content);
  };

  beforeAll(async () => {
    server = await startXmppServer();
    db = await createDb(kind, "jimdlv");
    tlim = await startTestTlim(server, db.url, { jimTokenSecret: SECRET, ackGraceS: GRACE_S });
  }, 60_000);

  afterAll(async () => {
    for (const c of open) c.close();
    await tlim?.stop();
    await server?.stop();
    await db?.drop();
  });

  it("TCP: a push to a connection that dies without a word is offered again at the next login", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await jim(a, "tcp");
    const bob = await jim(b, "tcp");
    alice.send(11, { to: b, chatType: 2, msgType: 0, content: "unread" });
    expect((await bob.next(11)).json.data.content).toBe("unread");
    bob.close(); // the connection dies: bob said nothing after the push
    await sleep(200);
    expect(await offline(b, "tcp", a)).toEqual(["unread"]);
  });

  it("TCP: a frame from the device after the push confirms it: not offered again", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await jim(a, "tcp");
    const bob = await jim(b, "tcp");
    alice.send(11, { to: b, chatType: 2, msgType: 0, content: "seen" });
    expect((await bob.next(11)).json.data.content).toBe("seen");
    bob.send(13, {}); // a heartbeat: the device is reading
    await sleep(200);
    bob.close();
    await sleep(1200); // the cursor book flushes
    expect(await offline(b, "tcp", a)).toEqual([]);
  });

  it("TCP: a silent connection that stays open is confirmed by the grace period", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await jim(a, "tcp");
    const bob = await jim(b, "tcp");
    alice.send(11, { to: b, chatType: 2, msgType: 0, content: "quiet" });
    expect((await bob.next(11)).json.data.content).toBe("quiet");
    await sleep(GRACE_S * 1000 + 1500);
    bob.close();
    expect(await offline(b, "tcp", a)).toEqual([]);
  });

  it("WebSocket: the client's pong to tlim's ping behind the push confirms it", async () => {
    const [a, b] = [fresh(), fresh()];
    const alice = await jim(a, "tcp");
    const bob = await jim(b, "ws"); // the ws library answers pings, as browsers do
    alice.send(11, { to: b, chatType: 2, msgType: 0, content: "ponged" });
    expect((await bob.next(11)).json.data.content).toBe("ponged");
    await sleep(300);
    bob.close();
    await sleep(1200);
    expect(await offline(b, "ws", a)).toEqual([]);
  });
});
