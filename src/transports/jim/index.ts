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

export interface JimGatewayOptions extends JimServerOptions, CredentialOptions {
  /** XMPP presence as the component knows it (a user online there is online for J-IM too). */
  xmppOnline(userId: string): boolean;
  /** Session ids every user joins at login, validated and folded (TLIM_JIM_DEFAULT_GROUPS; default none). */
  defaultGroups?: readonly string[];
  /** Avatar of users and groups without a picture (TLIM_JIM_DEFAULT_AVATAR; default the built-in one). */
  defaultAvatar?: string;
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
    this.server = new JimServer({ core, hub: this.hub, credentials, directory: this.directory, defaultGroups, log: jlog }, opts);
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
