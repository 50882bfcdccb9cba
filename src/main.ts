// The only place that wires things together (DESIGN §1).
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "./config.js";
import { ImCore } from "./core/im.js";
import { createLogger, type Logger } from "./log.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/types.js";
import { createHttpApp } from "./transports/http/app.js";
import { XmppTransport } from "./transports/xmpp/index.js";

export interface Tlim {
  core: ImCore;
  store: Store;
  xmpp: XmppTransport;
  /** The HTTP API's base URL, e.g. http://127.0.0.1:9595 */
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startTlim(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Tlim> {
  const store = await openStore(config.dbUrl, { synchronize: config.synchronize, migrate: !config.synchronize });
  const core = new ImCore(store, {
    maxTextChars: config.maxTextChars,
    revokeWindowS: config.revokeWindowS,
    writeBatchMax: config.writeBatchMax,
    syncPageSize: config.syncPageSize,
  }, log.child({ part: "core" }));
  const xmpp = new XmppTransport(core, {
    service: config.xmppService,
    domain: config.xmppDomain,
    secret: config.xmppSecret,
    userDomain: config.userDomain,
    pingTarget: config.userDomain,
    pingIntervalMs: config.xmppPingIntervalS * 1000,
    pingTimeoutMs: config.xmppPingTimeoutS * 1000,
    reconnectMinMs: config.xmppReconnectMinMs,
    reconnectMaxMs: config.xmppReconnectMaxMs,
    maxBodyChars: config.maxBodyChars,
  }, log);

  const health = async () => {
    let database = "up";
    try {
      await store.ping();
    } catch {
      database = "down";
    }
    return { xmpp: xmpp.link.status, database };
  };
  const app = createHttpApp({ core, apiSecret: config.apiAuth === "none" ? null : config.apiSecret, health, log: log.child({ part: "http" }) });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.httpPort, config.httpHost, () => resolve(s));
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ url: `http://${config.httpHost}:${port}/plugins/tlim/`, db: redact(config.dbUrl) }, "http api listening");
  xmpp.start();

  let stopped = false;
  return {
    core,
    store,
    xmpp,
    httpUrl: `http://${config.httpHost}:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await xmpp.stop();
      await core.close();
      await store.close();
      log.info("stopped");
    },
  };
}

/** A database URL without its password, for logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
