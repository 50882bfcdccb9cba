// ejabberd with XEP-0198 stream management (Debian enables it; resumption window shortened here):
// a client whose connection dies stays "online" on the server until the window ends; the pushes
// tlim sends it meanwhile are held, then bounced with service-unavailable and — honouring
// <no-store/> — not stored offline. The bounces must bring them back: the client gets them all
// at its next login (docs/reliability.md "At least once per device").
import { describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { DB_KINDS } from "../support/tlim.js";
import { envelope, envelopeOf, sleep, tlimMessage } from "../support/tlim-stanzas.js";

const RESUME_TIMEOUT_S = 3;

describe.each(DB_KINDS)("a stream-management client dropping on ejabberd, %s", (kind) => {
  const fx = useTlim(kind, { prefix: "sm", users: 2, server: { ejabberd: { resumeTimeoutS: RESUME_TIMEOUT_S } }, serverKind: "ejabberd" });

  it("gets every push the server bounced after its session timed out, at its next login", async () => {
    const C = fx.C;
    const alice = await fx.login("sm1", undefined, false);
    const bob = await fx.login("sm2", "phone", false);
    const sm = (bob.xmpp as unknown as { streamManagement: { enabled: boolean } }).streamManagement;
    for (let i = 0; i < 40 && !sm.enabled; i++) await sleep(50);
    expect(sm.enabled).toBe(true); // the client enabled XEP-0198 with resumption
    await bob.sendPresenceTo(C);
    await sleep(300);

    bob.xmpp.reconnect.stop();
    (bob.xmpp as unknown as { socket: import("node:net").Socket }).socket.destroy(); // the network drops
    await sleep(200);
    const envs = [1, 2, 3].map((i) => envelope({ msg_from: "sm1", msg_to: "sm2", msg_type: "MTT-000", body: [{ text: `held ${i}` }] }));
    for (const e of envs) await alice.send(tlimMessage(`sm2@${C}`, e));
    // The session is held for the resumption window, then ended: the pushes bounce.
    await sleep((RESUME_TIMEOUT_S + 2) * 1000);

    const again = await fx.login("sm2", "phone", false);
    await again.sendPresenceTo(C);
    const wanted = new Set(envs.map((e) => e.msg_id));
    await again.waitForCount((el) => wanted.has(envelopeOf(el)?.msg_id), 3, 10_000);
  }, 60_000);
});
