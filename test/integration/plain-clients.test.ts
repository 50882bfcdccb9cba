// A plain XMPP client that adds a tlim user `<peer>@C` to its roster and does nothing else — it
// never accepts tlim's own subscription request, so its presence never reaches tlim — still gets
// its messages: at its bare JID, as readable text, live and (through the server's offline storage)
// while it is offline; once a real device of the user shows up, only that device gets them
// (docs/protocol.md "Plain XMPP clients").
import { describe, expect, it } from "vitest";
import { useTlim } from "../support/fixture.js";
import { DB_KINDS } from "../support/tlim.js";
import { envelope, sleep, tlimMessage } from "../support/tlim-stanzas.js";
import { xml, type Element } from "../support/xmpp-client.js";
import { onServer } from "../support/xmpp-server.js";

const jsonOf = (el: Element) => JSON.parse(el.getChildText("json", "urn:xmpp:json:0") ?? "{}");

describe.each(DB_KINDS)(onServer("a plain client with a roster contact only, %s"), (kind) => {
  const fx = useTlim(kind, { prefix: "pl", users: 4, overrides: { ackGraceS: 2 } });

  it("gets messages without accepting tlim's request, live and while offline, as text", async () => {
    const C = fx.C;
    const alice = await fx.login("pl1", "a", false);
    await alice.sendPresenceTo(C);
    let carol = await fx.login("pl2", "c1", false);
    await carol.send(xml("presence", { to: `pl1@${C}`, type: "subscribe" })); // adds alice as a contact; never accepts back
    // tlim approves and asks back (the server turns the approval into a roster push).
    await carol.waitFor((el) => el.is("presence") && el.attrs.from === `pl1@${C}` && el.attrs.type === "subscribe", 5000);
    await sleep(200);

    const live = envelope({ msg_from: "pl1", msg_to: "pl2", msg_type: "MTT-000", body: [{ text: "live to a plain client" }] });
    await alice.send(tlimMessage(`pl2@${C}`, live));
    const got = await carol.waitFor((el) => el.is("message") && jsonOf(el).msg_id === live.msg_id, 5000);
    expect(got.getChildText("body")).toBe("live to a plain client");
    expect(got.attrs.from).toBe(`pl1@${C}`);

    await carol.stop();
    await sleep(300);
    const away = envelope({ msg_from: "pl1", msg_to: "pl2", msg_type: "MTT-000", body: [{ text: "while you were away" }] });
    await alice.send(tlimMessage(`pl2@${C}`, away));
    await sleep(500);
    carol = await fx.login("pl2", "c2", false); // the server's offline storage gives it
    const later = await carol.waitFor((el) => el.is("message") && jsonOf(el).msg_id === away.msg_id, 5000);
    expect(later.getChildText("body")).toBe("while you were away");
    await sleep(500);
    expect(carol.messages().filter((el) => jsonOf(el).msg_id === away.msg_id)).toHaveLength(1);
  });

  it("stops the bare-JID copies once a real device of the user is known, and after unsubscribe", async () => {
    const C = fx.C;
    const alice = await fx.login("pl3", "a", false);
    await alice.sendPresenceTo(C);
    const dave = await fx.login("pl4", "d1", false);
    await dave.send(xml("presence", { to: `pl3@${C}`, type: "subscribe" }));
    await dave.waitFor((el) => el.is("presence") && el.attrs.from === `pl3@${C}` && el.attrs.type === "subscribe", 5000);
    await dave.sendPresenceTo(C); // now a real device: envelopes to its full JID, nothing to the bare JID
    await sleep(300);
    const env = envelope({ msg_from: "pl3", msg_to: "pl4", msg_type: "MTT-000", body: [{ text: "once" }] });
    await alice.send(tlimMessage(`pl4@${C}`, env));
    await dave.waitFor((el) => el.is("message") && JSON.parse(el.getChildText("body") ?? "{}").msg_id === env.msg_id, 5000);
    await sleep(500);
    const copies = dave.messages().filter((el) => el.getChildText("body")?.includes(env.msg_id) || jsonOf(el).msg_id === env.msg_id);
    expect(copies).toHaveLength(1);
  });
});
