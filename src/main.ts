// The only place that wires things together (docs/architecture.md).
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { ConfigError, type Config } from "./config.js";
import { ImCore } from "./core/im.js";
import { createLogger, type Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import { Retention } from "./core/retention.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/types.js";
import { TlsConfigError, TlsCredentials, type ReloadResult } from "./tls.js";
import { createHttpApp } from "./transports/http/app.js";
import { FileUrlSigner, tlimFileIdOf } from "./transports/http/file-urls.js";
import { xep0133Provisioner } from "./transports/http/provision.js";
import { XmppTransport } from "./transports/xmpp/index.js";
import { JimGateway } from "./transports/jim/index.js";
import { Credentials } from "./transports/jim/credentials.js";
import { webDir } from "./web-dir.js";

export interface Tlim {
  core: ImCore;
  store: Store;
  xmpp: XmppTransport;
  /** The HTTP API's base URL, e.g. http://127.0.0.1:9595 */
  httpUrl: string;
  /** The J-IM gateway (null when TLIM_JIM_ENABLED is off); `jim.port` is its port. */
  jim: JimGateway | null;
  /** The certificate and key of the TLS listeners (null when neither TLIM_HTTP_TLS nor TLIM_JIM_TLS is on). */
  tls: TlsCredentials | null;
  /** Reads TLIM_TLS_CERT/TLIM_TLS_KEY again (what SIGHUP does); null without TLS. */
  reloadTls(): ReloadResult | null;
  /** Graceful stop: nothing new is accepted; what was is committed, delivered and answered. */
  stop(): Promise<void>;
  /** "running", then the step stop() is at (a shutdown that overruns its bound names it). */
  readonly stage: string;
}

/** /healthz reports the database down when a ping takes longer than this. */
const HEALTH_TIMEOUT_MS = 800;

/** At shutdown, how long HTTP requests still running after the drain may take to finish. */
const HTTP_CLOSE_GRACE_MS = 1000;

/** How long addUser/removeUser wait for the XMPP server's answer to an account command. */
const PROVISION_TIMEOUT_MS = 10_000;

export async function startTlim(config: Config, log: Logger = createLogger(config.logLevel, { format: config.logFormat })): Promise<Tlim> {
  // Certificate and key first: a wrong file is a configuration problem (exit 2), found before
  // the database is opened or migrated.
  const tls = config.httpTls || config.jimTls !== "off" ? tlsCredentials(config, log) : null;
  const store = await openStore(config.dbUrl, { synchronize: config.synchronize, migrate: config.migrateOnStart && !config.synchronize });
  // One set of metrics per instance (docs/operations.md "Metrics"); process metrics only when served.
  const metrics = new Metrics({ defaults: config.metrics });
  const core = new ImCore(store, {
    metrics,
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
  // TLS (docs/configuration.md "TLS"): one certificate for every TLS listener, reloaded on SIGHUP.
  const fileUrls = new FileUrlSigner({ secret: config.fileUrlSecret, apiSecret: config.apiSecret, ttlS: config.fileUrlTtlS, base: config.fileUrlBase });
  if (fileUrls.keySource === "random") log.warn("signed file URLs use a random key: set TLIM_FILE_URL_SECRET or TLIM_API_SECRET so they survive a restart");
  const app = createHttpApp({
    core,
    apiSecret: config.apiAuth === "none" ? null : config.apiSecret,
    apiSecretInQuery: config.apiSecretInQuery,
    corsOrigin: config.corsOrigin,
    files: { dir: config.fileDir, maxBytes: config.maxUploadBytes, urls: fileUrls },
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
    metrics: { endpoint: config.metrics, secret: config.metricsAuth === "none" ? null : config.apiSecret },
    // The demo web client (docs/demo.md): its logins are password checks on the XMPP server.
    ...(config.web
      ? {
          web: {
            staticDir: webDir(),
            xmppWebsocket: config.webXmppWebsocket,
            userDomain: config.userDomain,
            componentDomain: config.xmppDomain,
            credentials: new Credentials({
              tokenSecret: "", c2s: config.xmppC2s, c2sTls: config.xmppC2sTls, c2sCa: config.xmppC2sCa, userDomain: config.userDomain,
              loginPerAddress: config.jimLoginPerAddress, loginPerUser: config.jimLoginPerUser,
            }, log.child({ part: "web" })),
          },
        }
      : {}),
  });
  const httpsServer = config.httpTls && tls ? createHttpsServer({ ...tls.pem }, app) : null;
  // A reloaded certificate serves the next handshakes; connections up keep theirs.
  if (httpsServer && tls) tls.onReload((pem) => httpsServer.setSecureContext({ ...pem }));
  // Not app.listen: Express 5 calls its callback on a listen error too, as if it were listening.
  const server: Server = httpsServer ?? createHttpServer(app);
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(new Error(`cannot listen for HTTP on ${config.httpHost}:${config.httpPort}: ${err.message} (TLIM_HTTP_HOST / TLIM_HTTP_PORT)`, { cause: err }));
    server.once("error", failed);
    server.listen(config.httpPort, config.httpHost, () => {
      server.off("error", failed);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = config.httpTls ? "https" : "http";
  log.info({ url: `${scheme}://${config.httpHost}:${port}/plugins/tlim/`, db: redact(config.dbUrl) }, "http api listening");
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
      apiSecretInQuery: config.apiSecretInQuery,
      ...(tls && config.jimTls !== "off" ? { tls: { mode: config.jimTls, credentials: tls } } : {}),
      fileUrl: (ref) => {
        const id = tlimFileIdOf(ref);
        return id === null ? ref : fileUrls.url(id);
      },
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
      log.info({ host: config.jimHost, port: jimPort, tls: config.jimTls }, "j-im gateway listening (tcp, websocket, http)");
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

  const reloadTls = () => tls?.reload("SIGHUP") ?? null;
  if (tls) {
    process.on("SIGHUP", reloadTls);
    tls.watch(config.tlsWatchS);
  }

  let stopped = false;
  let stage = "running";
  return {
    core,
    store,
    xmpp,
    httpUrl: `${scheme}://${config.httpHost}:${port}`,
    jim,
    tls,
    reloadTls,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (tls) {
        process.off("SIGHUP", reloadTls);
        tls.close();
      }
      // Graceful (docs/configuration.md "Stopping"): no new connections and no new messages; what
      // was accepted is committed, delivered and answered; then cursors, listeners, database.
      stage = "closing listeners";
      const httpClosed = new Promise<void>((r) => server.close(() => r()));
      jim?.stopAccepting();
      stage = "committing accepted messages";
      await core.drain();
      // The answers to the last submitters are written in the callbacks that drain() waited
      // for: let them reach the sockets before the connections close.
      await new Promise((r) => setImmediate(r));
      stage = "closing connections";
      server.closeIdleConnections?.();
      await Promise.race([httpClosed, new Promise((r) => setTimeout(r, HTTP_CLOSE_GRACE_MS).unref())]);
      server.closeAllConnections?.();
      await retention.stop();
      await jim?.stop();
      stage = "closing the xmpp link";
      await xmpp.stop();
      stage = "flushing device cursors";
      await core.close();
      stage = "closing the database";
      await store.close();
      stage = "stopped";
      log.info("stopped");
    },
    get stage() {
      return stage;
    },
  };
}

/** A database URL without its password, for logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

function tlsCredentials(config: Config, log: Logger): TlsCredentials {
  try {
    return new TlsCredentials({ cert: config.tlsCert, key: config.tlsKey }, log.child({ part: "tls" }));
  } catch (err) {
    if (err instanceof TlsConfigError) throw new ConfigError([`TLIM_TLS_CERT / TLIM_TLS_KEY: ${err.message}`]);
    throw err;
  }
}
