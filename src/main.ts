// The only place that wires things together (docs/architecture.md).
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "./config.js";
import { ImCore } from "./core/im.js";
import { createLogger, type Logger } from "./log.js";
import { Retention } from "./core/retention.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/types.js";
import { createHttpApp } from "./transports/http/app.js";
import { xep0133Provisioner } from "./transports/http/provision.js";
import { XmppTransport } from "./transports/xmpp/index.js";
import { JimGateway } from "./transports/jim/index.js";

export interface Tlim {
  core: ImCore;
  store: Store;
  xmpp: XmppTransport;
  /** The HTTP API's base URL, e.g. http://127.0.0.1:9595 */
  httpUrl: string;
  /** The J-IM gateway (null when TLIM_JIM_ENABLED is off); `jim.port` is its port. */
  jim: JimGateway | null;
  stop(): Promise<void>;
}

/** /healthz reports the database down when a ping takes longer than this. */
const HEALTH_TIMEOUT_MS = 800;

/** How long addUser/removeUser wait for the XMPP server's answer to an account command. */
const PROVISION_TIMEOUT_MS = 10_000;

export async function startTlim(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Tlim> {
  const store = await openStore(config.dbUrl, { synchronize: config.synchronize, migrate: !config.synchronize });
  const core = new ImCore(store, {
    maxTextChars: config.maxTextChars,
    revokeWindowS: config.revokeWindowS,
    writeBatchMax: config.writeBatchMax,
    writePipeline: config.writePipeline,
    writeQueueMax: config.writeQueueMax,
    ackGraceMs: config.ackGraceS * 1000,
    userRate: config.userRate,
    userBurst: config.userBurst,
    userInFlightMax: config.userInFlightMax,
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
    ackGraceMs: config.ackGraceS * 1000,
  }, log);

  let jimFailed = false;
  const health = async () => {
    // Answers within HEALTH_TIMEOUT_MS even when the database hangs (a hung database is down).
    let timer: NodeJS.Timeout | undefined;
    const database = await Promise.race([
      store.ping().then(() => "up", () => "down"),
      new Promise<string>((r) => (timer = setTimeout(() => r("down"), HEALTH_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    return { xmpp: xmpp.link.status, database, ...(jimFailed ? { jim: "down" } : {}) };
  };
  if (config.apiAuth === "secret" && config.apiSecret === "") {
    log.warn("TLIM_API_SECRET is not set: the HTTP APIs answer 401 to every request (set it, or TLIM_API_AUTH=none)");
  }
  const app = createHttpApp({
    core,
    apiSecret: config.apiAuth === "none" ? null : config.apiSecret,
    corsOrigin: config.corsOrigin,
    files: { dir: config.fileDir, maxBytes: config.maxUploadBytes },
    presence: (userId) => xmpp.delivery.presenceOf(userId),
    provisioner: config.provisionAccounts
      ? xep0133Provisioner((iq, timeoutMs) => xmpp.link.xmpp.iqCaller.request(iq, timeoutMs), {
          componentDomain: config.xmppDomain,
          userDomain: config.userDomain,
          timeoutMs: PROVISION_TIMEOUT_MS,
        })
      : null,
    health,
    log: log.child({ part: "http" }),
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.httpPort, config.httpHost, () => resolve(s));
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ url: `http://${config.httpHost}:${port}/plugins/tlim/`, db: redact(config.dbUrl) }, "http api listening");
  await xmpp.start();

  let jim: JimGateway | null = null;
  if (config.jimEnabled) {
    jim = new JimGateway(core, {
      host: config.jimHost,
      port: config.jimPort,
      maxBodyBytes: config.jimMaxBodyBytes,
      heartbeatTimeoutS: config.jimHeartbeatTimeoutS,
      loginTimeoutS: config.jimLoginTimeoutS,
      loginPerAddress: config.jimLoginPerAddress,
      loginPerUser: config.jimLoginPerUser,
      apiSecret: config.apiAuth === "none" ? null : config.apiSecret,
      tokenSecret: config.jimTokenSecret,
      c2s: config.xmppC2s,
      c2sTls: config.xmppC2sTls,
      c2sCa: config.xmppC2sCa,
      userDomain: config.userDomain,
      xmppOnline: (userId) => xmpp.delivery.presenceOf(userId) !== "offline",
      defaultGroups: config.jimDefaultGroups,
      defaultAvatar: config.jimDefaultAvatar,
    }, log);
    try {
      const jimPort = await jim.start();
      log.info({ host: config.jimHost, port: jimPort }, "j-im gateway listening (tcp, websocket, http)");
    } catch (err) {
      // The gateway is an add-on: XMPP and the HTTP API keep working without it (e.g. two
      // instances on one machine with the default port). /healthz reports it.
      log.error({ err: (err as Error).message, host: config.jimHost, port: config.jimPort }, "j-im gateway NOT started");
      jim = null;
      jimFailed = true;
    }
  }

  const retention = new Retention(store, {
    chatDays: config.retentionChatDays ?? config.retentionDays,
    sessionDays: config.retentionSessionDays ?? config.retentionDays,
    intervalMs: config.retentionIntervalS * 1000,
    batch: config.retentionBatch,
  }, log.child({ part: "retention" }));
  retention.start();

  let stopped = false;
  return {
    core,
    store,
    xmpp,
    httpUrl: `http://${config.httpHost}:${port}`,
    jim,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await retention.stop();
      await jim?.stop();
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
