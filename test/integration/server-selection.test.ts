// The server selection (test/support/xmpp-server.ts), in each vitest project (vitest.config.ts):
// the project's env reaches the workers before xmpp-server.ts is imported, so every test of the
// "ejabberd" project really runs on ejabberd and every test of the "prosody" project on Prosody.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { connectClient } from "../support/xmpp-client.js";
import { onServer, startXmppServer, XMPP_SERVER, xmppServerFromEnv } from "../support/xmpp-server.js";

describe(onServer("TLIM_TEST_XMPP_SERVER"), () => {
  it("selects the server: prosody by default, ejabberd on request, anything else is an error", () => {
    expect(xmppServerFromEnv({})).toBe("prosody");
    expect(xmppServerFromEnv({ TLIM_TEST_XMPP_SERVER: "" })).toBe("prosody");
    expect(xmppServerFromEnv({ TLIM_TEST_XMPP_SERVER: "ejabberd" })).toBe("ejabberd");
    expect(() => xmppServerFromEnv({ TLIM_TEST_XMPP_SERVER: "openfire" })).toThrow(/prosody, ejabberd/);
    expect(XMPP_SERVER).toBe(xmppServerFromEnv());
  });

  it("the vitest project is the server the tests start, and titles name it", async ({ task }) => {
    expect(task.file.projectName).toBe(XMPP_SERVER);
    expect(onServer("x on %s")).toBe(`x on %s [${XMPP_SERVER}]`);
    expect(task.suite?.name).toBe(`TLIM_TEST_XMPP_SERVER [${XMPP_SERVER}]`);
    const s = await startXmppServer({ users: [["u", "p"]] });
    try {
      expect(s.kind).toBe(XMPP_SERVER);
      expect(existsSync(s.pidFile)).toBe(true);
      const c = await connectClient(s, "u", "p");
      expect(c.bareJid).toBe("u@localhost");
      await c.stop();
    } finally {
      await s.stop();
    }
  });
});
