// The XMPP side, composed: link + disco/ping/version answers + inbound + delivery.
import xml, { type Element } from "@xmpp/xml";
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import { VERSION } from "../../version.js";
import { XmppDelivery } from "./delivery.js";
import { XmppInbound } from "./inbound.js";
import { XmppLink, type LinkOptions } from "./link.js";
import type { Domains } from "./stanzas.js";

export interface XmppTransportOptions extends LinkOptions {
  userDomain: string;
  maxBodyChars: number;
  /** A push to a device that answers neither receipts nor pings counts as delivered after this. */
  ackGraceMs: number;
}

const FEATURES = [
  "http://jabber.org/protocol/disco#info",
  "urn:xmpp:ping",
  "jabber:iq:version",
  "urn:xmpp:receipts",
  "http://jabber.org/protocol/chatstates",
  "urn:xmpp:chat-markers:0",
];

export class XmppTransport {
  readonly link: XmppLink;
  readonly delivery: XmppDelivery;
  private readonly inbound: XmppInbound;

  constructor(
    private readonly core: ImCore,
    opts: XmppTransportOptions,
    log: Logger,
  ) {
    const domains: Domains = { component: opts.domain, users: opts.userDomain };
    this.link = new XmppLink(opts, log.child({ part: "xmpp-link" }), core.metrics);
    const send = (el: Element | string) => (typeof el === "string" ? this.link.sendRaw(el) : this.link.send(el));
    this.delivery = new XmppDelivery(core, domains, this.link, { ackGraceMs: opts.ackGraceMs }, log.child({ part: "xmpp-delivery" }));
    this.inbound = new XmppInbound(core, this.delivery, domains, send, { maxBodyChars: opts.maxBodyChars }, log.child({ part: "xmpp-in" }));
    core.addSink(this.delivery);
    core.metrics.sources.link = this.link;
    core.metrics.sources.xmppLag = () => this.delivery.lag();

    const { xmpp } = this.link;
    // XEP-0030 / XEP-0199 / XEP-0092. Unknown IQs get service-unavailable from @xmpp/iq/callee.
    xmpp.iqCallee.get("http://jabber.org/protocol/disco#info", "query", () =>
      xml(
        "query",
        { xmlns: "http://jabber.org/protocol/disco#info" },
        xml("identity", { category: "component", type: "generic", name: "tlim" }),
        ...FEATURES.map((v) => xml("feature", { var: v })),
      ),
    );
    xmpp.iqCallee.get("urn:xmpp:ping", "ping", () => true as never);
    xmpp.iqCallee.get("jabber:iq:version", "query", () =>
      xml("query", { xmlns: "jabber:iq:version" }, xml("name", {}, "tlim"), xml("version", {}, VERSION), xml("os", {}, `Node.js ${process.version}`)),
    );
    xmpp.on("stanza", (el: Element) => {
      if (!el.is("iq")) this.inbound.onStanza(el);
    });
    // Presence seen before a lost link may be stale: nothing in flight counts, and every device
    // is asked again once the link is back (delivery.ts).
    this.link.onOffline(() => this.delivery.linkDown());
    this.link.onOnline(() => this.delivery.linkUp());
  }

  /** Connects; the devices seen online before a restart are asked again once the link is up. */
  async start(): Promise<void> {
    this.delivery.restore(await this.core.devices.all());
    this.link.start();
  }

  stop(): Promise<void> {
    // As when the link drops: what is in flight to devices stays in their inboxes (sent again
    // after the restart), and no barrier ping is armed again on a link that is going away (a
    // ping on a stopped link answers "timeout" at once: re-arming it would spin).
    this.delivery.linkDown();
    return this.link.stop();
  }
}
