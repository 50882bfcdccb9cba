// The J-IM gateway, composed: who is connected, login checks, the directory, delivery from the
// core, and the one port that serves TCP, WebSocket and HTTP (docs/jim-gateway.md).
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import { Credentials, type CredentialOptions } from "./credentials.js";
import { JimDelivery } from "./delivery.js";
import { JimDirectory } from "./directory.js";
import { JimHub } from "./hub.js";
import { JimServer, type JimServerOptions } from "./server.js";

export interface JimGatewayOptions extends JimServerOptions, CredentialOptions {
  /** XMPP presence as the component knows it (a user online there is online for J-IM too). */
  xmppOnline(userId: string): boolean;
}

export class JimGateway {
  readonly hub = new JimHub();
  readonly directory: JimDirectory;
  private readonly server: JimServer;

  constructor(core: ImCore, opts: JimGatewayOptions, log: Logger) {
    const jlog = log.child({ part: "jim" });
    this.directory = new JimDirectory(core, this.hub, opts.xmppOnline, jlog);
    const credentials = new Credentials(opts, jlog);
    this.server = new JimServer({ core, hub: this.hub, credentials, directory: this.directory, log: jlog }, opts);
    core.addSink(new JimDelivery(this.hub, jlog));
  }

  /** Listens; resolves with the port. */
  start(): Promise<number> {
    return this.server.start();
  }

  get port(): number {
    return this.server.port;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
