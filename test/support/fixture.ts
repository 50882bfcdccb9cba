// One XMPP server (Prosody, or ejabberd with TLIM_TEST_XMPP_SERVER=ejabberd: xmpp-server.ts) +
// one tlim + one database for a describe block, with a pool of fresh users so inboxes never leak
// between tests, and every client stopped afterwards.
import { afterAll, beforeAll } from "vitest";
import type { Config } from "../../src/config.js";
import { sleep } from "./tlim-stanzas.js";
import { createDb, startTestTlim, type DbKind, type TestDb, type TestTlim } from "./tlim.js";
import { connectClient, type TestClient } from "./xmpp-client.js";
import { startXmppServer, type XmppServerHandle, type XmppServerKind, type XmppServerOptions } from "./xmpp-server.js";

export const PASSWORD = "pw";

export interface Fixture {
  /** The XMPP server (named `prosody` from the days it could only be Prosody; see `server`). */
  readonly prosody: XmppServerHandle;
  /** The same handle as `prosody`. */
  readonly server: XmppServerHandle;
  readonly tlim: TestTlim;
  /** The component's domain. */
  readonly C: string;
  /** A user no other test of the block has used. */
  fresh(): string;
  /** Logs in; by default sends available presence to the component (the device comes online). */
  login(user: string, resource?: string, presence?: Record<string, string> | false): Promise<TestClient>;
  /** Gives tlim time to see a presence (the backlog that follows is asynchronous). */
  settle(): Promise<void>;
}

export interface FixtureOptions {
  /** Users are `<prefix>1` … `<prefix><users>` (default 60), or the names given; password PASSWORD. */
  prefix: string;
  users?: number | string[];
  overrides?: Partial<Record<keyof Config, unknown>>;
  /** Server options besides the users (e.g. ejabberd's stream-management timeout). */
  server?: Omit<XmppServerOptions, "users">;
  /** This server whatever the project's (default: the project's, xmpp-server.ts). */
  serverKind?: XmppServerKind;
}

export function useTlim(kind: DbKind, opts: FixtureOptions): Fixture {
  const users = Array.isArray(opts.users) ? opts.users : Array.from({ length: opts.users ?? 60 }, (_, i) => `${opts.prefix}${i + 1}`);
  let prosody: XmppServerHandle;
  let db: TestDb;
  let tlim: TestTlim;
  const clients: TestClient[] = [];
  let next = 0;

  beforeAll(async () => {
    prosody = await startXmppServer({ ...opts.server, users: users.map((u) => [u, PASSWORD] as [string, string]) }, opts.serverKind);
    db = await createDb(kind, opts.prefix);
    tlim = await startTestTlim(prosody, db.url, opts.overrides);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) await c.stop();
    await tlim?.stop();
    await prosody?.stop();
    await db?.drop();
  });

  return {
    get prosody() { return prosody; },
    get server() { return prosody; },
    get tlim() { return tlim; },
    get C() { return prosody.componentDomain; },
    fresh() {
      const u = users[next++];
      if (!u) throw new Error(`all ${users.length} test users are used; raise 'users'`);
      return u;
    },
    async login(user, resource, presence = {}) {
      const c = await connectClient(prosody, user, PASSWORD, resource);
      clients.push(c);
      if (presence !== false) await c.sendPresenceTo(prosody.componentDomain, presence);
      return c;
    },
    async settle() {
      await sleep(150);
    },
  };
}
