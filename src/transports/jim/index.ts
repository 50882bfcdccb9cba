// The J-IM gateway, composed: who is connected, login checks, the directory, delivery from the
// core, and the one port that serves TCP, WebSocket and HTTP (docs/jim-gateway.md).
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import { DEFAULT_AVATAR } from "../../config.js";
import { Credentials, type CredentialOptions } from "./credentials.js";
import { DefaultGroups } from "./default-groups.js";
import { JimDelivery } from "./delivery.js";
import { JimDirectory } from "./directory.js";
import { JimHub } from "./hub.js";
import { JimServer, type JimServerOptions } from "./server.js";
import type { InboxLag } from "../../metrics.js";

export interface JimGatewayOptions extends JimServerOptions, CredentialOptions {
  /** XMPP presence as the component knows it (a user online there is online for J-IM too). */
  xmppOnline(userId: string): boolean;
  /** Session ids every user joins at login, validated and folded (TLIM_JIM_DEFAULT_GROUPS; default none). */
  defaultGroups?: readonly string[];
  /** Avatar of users and groups without a picture (TLIM_JIM_DEFAULT_AVATAR; default the built-in one). */
  defaultAvatar?: string;
  /** A fresh signed URL for a file reference naming one of tlim's files, else the reference
   * (docs/http-api.md "Credentials"); absent: references go out as stored. */
  fileUrl?: (ref: string) => string;
}

export class JimGateway {
  readonly hub = new JimHub();
  readonly directory: JimDirectory;
  private readonly server: JimServer;

  constructor(core: ImCore, opts: JimGatewayOptions, log: Logger) {
    const jlog = log.child({ part: "jim" });
    this.directory = new JimDirectory(core, this.hub, opts.xmppOnline, jlog, opts.defaultAvatar ?? DEFAULT_AVATAR);
    const credentials = new Credentials(opts, jlog);
    const defaultGroups = new DefaultGroups(core, opts.defaultGroups ?? [], jlog);
    const mapping = opts.fileUrl ? { fileUrl: opts.fileUrl } : {};
    this.server = new JimServer({ core, hub: this.hub, credentials, directory: this.directory, defaultGroups, mapping, log: jlog }, opts);
    core.addSink(new JimDelivery(this.hub, jlog, mapping, core.metrics.delivered));
    // The instance's own gateway (the first): a second one on the same core is not counted.
    core.metrics.sources.jimLag ??= () => this.lag();
    core.metrics.sources.jimConnections ??= () => this.server.connectionCounts();
  }

  /** Logged-in connections and what they were given and have not confirmed (the inbox lag
   * gauges, read at scrape time: one pass over the connections, no database query). */
  lag(): InboxLag {
    let devices = 0;
    let messages = 0;
    let maxMessages = 0;
    let oldestAt = 0;
    for (const user of this.hub.users()) {
      for (const conn of this.hub.connectionsOf(user)) {
        devices++;
        const l = conn.sync?.lag() ?? { count: 0, oldestAt: 0 };
        messages += l.count;
        if (l.count > maxMessages) maxMessages = l.count;
        if (l.oldestAt !== 0 && (oldestAt === 0 || l.oldestAt < oldestAt)) oldestAt = l.oldestAt;
      }
    }
    return { devices, messages, maxMessages, oldestAt };
  }

  /** Listens; resolves with the port. */
  start(): Promise<number> {
    return this.server.start();
  }

  get port(): number {
    return this.server.port;
  }

  /** No new connections; the ones up stay until stop(). */
  stopAccepting(): void {
    void this.server.stopAccepting();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
