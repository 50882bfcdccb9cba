// Configuration: `tlim.config.json` (camelCase keys), then TLIM_* environment variables (the
// environment wins). Parsed once, every bad value reported together, then frozen (docs/configuration.md).
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { addressId, IdError } from "./protocol/ids.js";
import { parseDbUrl } from "./store/sql/db-url.js";

/** TLIM_DB_URL is checked by the parser the store opens it with (one list of the accepted forms). */
function dbUrlProblem(url: string, ctx: z.RefinementCtx): void {
  try {
    parseDbUrl(url);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.preprocess(
  (v) => (typeof v === "string" ? ["1", "true", "yes", "on"].includes(v.toLowerCase()) : v),
  z.boolean(),
);

/** A whole number of days, 0 or more (retention: 0 = keep forever). */
const DAYS = "must be a whole number of days from 0 (keep forever) to 36500";
const days = z.preprocess(
  (v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v),
  z.number({ error: DAYS }).int(DAYS).min(0, DAYS).max(36500, DAYS),
);

/** A comma-separated list (or a JSON array in the file) of user/session ids, each validated and
 * folded like every id (src/protocol/ids.ts); duplicates dropped, order kept. */
const addressList = z
  .union([z.string(), z.array(z.string())])
  .default("")
  .transform((v, ctx) => {
    const out: string[] = [];
    const entries = (typeof v === "string" ? v.split(",") : v).map((s) => s.trim());
    for (const [i, raw] of entries.entries()) {
      if (raw === "") continue;
      try {
        // Named by position: an invalid id may be unprintable (ids.ts never echoes one).
        const id = addressId(raw, `id ${i + 1}`);
        if (!out.includes(id)) out.push(id);
      } catch (err) {
        if (!(err instanceof IdError)) throw err;
        ctx.addIssue({ code: "custom", message: err.message });
      }
    }
    return out;
  });

/** TLIM_CORS_ORIGIN: "" (no cross-origin access), "*", or comma-separated origins (RFC 6454
 * serialisation: scheme://host[:port], no path). */
const corsOrigins = z
  .string()
  .default("")
  .transform((v) => v.split(",").map((o) => o.trim()).filter((o) => o !== "").join(","))
  .refine((v) => v === "" || v === "*" || v.split(",").every((o) => /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s*]+$/i.test(o)), "must be empty, * or a comma-separated list of origins such as https://app.example.com (scheme://host[:port], no path)");

/** The avatar of J-IM users without a picture: a grey silhouette, 40x40, inline (no network). */
export const DEFAULT_AVATAR =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='40' height='40' viewBox='0 0 40 40'%3E%3Crect width='40' height='40' fill='%23c5cad3'/%3E%3Ccircle cx='20' cy='15' r='7' fill='%23fff'/%3E%3Cpath d='M6 40c1-9 7-14 14-14s13 5 14 14z' fill='%23fff'/%3E%3C/svg%3E";

/** One option: its env variable, its schema (with default) and what it means. */
interface Option {
  env: string;
  schema: z.ZodType;
  doc: string;
}

export const OPTIONS = {
  xmppService: { env: "TLIM_XMPP_SERVICE", schema: z.string().regex(/^xmpps?:\/\/[^/]+$/, "must look like xmpp://host:port").default("xmpp://127.0.0.1:5347"), doc: "XMPP server's component port (XEP-0114)" },
  xmppDomain: { env: "TLIM_XMPP_DOMAIN", schema: z.string().min(1).default("tlim.localhost"), doc: "the component's domain C (users address <peer>@C and <session_id>@C)" },
  xmppSecret: { env: "TLIM_XMPP_SECRET", schema: z.string().min(1, "is required: the component_secret configured on the XMPP server"), doc: "shared secret of the Component block on the XMPP server (required)" },
  userDomain: { env: "TLIM_USER_DOMAIN", schema: z.string().min(1).default("localhost"), doc: "the users' XMPP domain D (a user id is the local part of <user>@D)" },
  xmppPingIntervalS: { env: "TLIM_XMPP_PING_INTERVAL_S", schema: int(0, 3600).default(30), doc: "seconds between XEP-0199 pings to the server (0 = no watchdog)" },
  xmppPingTimeoutS: { env: "TLIM_XMPP_PING_TIMEOUT_S", schema: int(1, 600).default(10), doc: "a ping unanswered this long means a half-open link: reconnect" },
  xmppReconnectMinMs: { env: "TLIM_XMPP_RECONNECT_MIN_MS", schema: int(10, 600000).default(500), doc: "first reconnect delay; doubles per failure, with jitter" },
  xmppReconnectMaxMs: { env: "TLIM_XMPP_RECONNECT_MAX_MS", schema: int(10, 3600000).default(30000), doc: "upper bound of the reconnect delay" },
  dbUrl: { env: "TLIM_DB_URL", schema: z.string().superRefine(dbUrlProblem).default("sqlite:./data/tlim.sqlite"), doc: "database: sqlite:<file> (or sqlite::memory:), mysql://user:pass@host:port/db, mariadb://…, oracle://user:pass@host:1521/service, mssql://user:pass@host:1433/db (docs/databases.md)" },
  httpHost: { env: "TLIM_HTTP_HOST", schema: z.string().min(1).default("127.0.0.1"), doc: "HTTP API listen address" },
  httpPort: { env: "TLIM_HTTP_PORT", schema: int(0, 65535).default(9595), doc: "HTTP API port (0 = any free port)" },
  apiSecret: { env: "TLIM_API_SECRET", schema: z.string().default(""), doc: "secret for /plugins/tlim/* (Authorization: Bearer <secret> or secret=<secret>); while empty (and TLIM_API_AUTH is not none) the HTTP APIs answer 401 to everything" },
  apiAuth: { env: "TLIM_API_AUTH", schema: z.enum(["secret", "none"]).default("secret"), doc: "'none' opens the HTTP API without a secret (the original's behaviour; not recommended)" },
  corsOrigin: { env: "TLIM_CORS_ORIGIN", schema: corsOrigins, doc: "origins whose pages may call the HTTP API from a browser: a comma-separated allow-list (https://app.example.com,https://admin.example.com; the matching Origin is echoed) or * for any; empty (the default) = no cross-origin access" },
  apiSecretInQuery: { env: "TLIM_API_SECRET_IN_QUERY", schema: bool.default(true), doc: "accept the API secret as a secret= parameter (URLs end up in logs and histories); 0 = only the Authorization header counts and secret= is refused with error-014" },
  fileUrlSecret: { env: "TLIM_FILE_URL_SECRET", schema: z.string().default(""), doc: "HMAC key of the signed file URLs tlim hands out (empty = derived from TLIM_API_SECRET with HKDF-SHA256; with no API secret either, a random key per start: URLs then die with a restart)" },
  fileUrlTtlS: { env: "TLIM_FILE_URL_TTL_S", schema: int(10, 30 * 86400).default(3600), doc: "seconds a signed file URL stays valid after tlim hands it out" },
  fileUrlBase: { env: "TLIM_FILE_URL_BASE", schema: z.string().regex(/^(https?:\/\/[^/?#\s]+(\/[^?#\s]*[^/?#\s])?)?$/, "must be empty or look like https://host[:port][/path] without a trailing slash").default(""), doc: "what goes in front of /plugins/tlim/file/… in the file URLs tlim hands out, e.g. https://im.example.com (empty = a path relative to the HTTP API)" },
  tlsCert: { env: "TLIM_TLS_CERT", schema: z.string().refine((p) => p === "" || existsSync(p), "no such file").default(""), doc: "PEM file of the certificate the HTTPS and J-IM TLS listeners present, optionally followed by its CA chain (needed when TLIM_HTTP_TLS or TLIM_JIM_TLS is on)" },
  tlsKey: { env: "TLIM_TLS_KEY", schema: z.string().refine((p) => p === "" || existsSync(p), "no such file").default(""), doc: "PEM file of the certificate's private key (unencrypted)" },
  httpTls: { env: "TLIM_HTTP_TLS", schema: bool.default(false), doc: "serve the HTTP API over HTTPS with TLIM_TLS_CERT/TLIM_TLS_KEY" },
  jimTls: { env: "TLIM_JIM_TLS", schema: z.enum(["off", "on", "optional"]).default("off"), doc: "TLS on the J-IM port (TCP framing, WSS and HTTPS): 'on' = TLS only, 'optional' = TLS and plaintext clients on the one port (told apart by their first byte), 'off' = plaintext only" },
  tlsWatchS: { env: "TLIM_TLS_WATCH_S", schema: int(0, 86400).default(0), doc: "check TLIM_TLS_CERT/TLIM_TLS_KEY for changes every this many seconds and reload them (0 = only on SIGHUP)" },
  fileDir: { env: "TLIM_FILE_DIR", schema: z.string().min(1).default("./data/files"), doc: "where uploaded files are kept (created when missing)" },
  maxUploadBytes: { env: "TLIM_MAX_UPLOAD_BYTES", schema: int(1, 2 ** 31).default(20 * 1024 * 1024), doc: "largest accepted upload, in bytes" },
  provisionAccounts: { env: "TLIM_PROVISION_ACCOUNTS", schema: bool.default(false), doc: "addUser/removeUser also create/delete the XMPP account on the server (XEP-0133; the component must be a server admin)" },
  jimHost: { env: "TLIM_JIM_HOST", schema: z.string().min(1).default("127.0.0.1"), doc: "J-IM gateway listen address (TCP, WebSocket and HTTP on one port)" },
  jimPort: { env: "TLIM_JIM_PORT", schema: int(0, 65535).default(8888), doc: "J-IM gateway port (0 = any free port)" },
  jimEnabled: { env: "TLIM_JIM_ENABLED", schema: bool.default(true), doc: "run the J-IM gateway" },
  jimTokenSecret: { env: "TLIM_JIM_TOKEN_SECRET", schema: z.string().default(""), doc: "HMAC secret of J-IM login tokens minted by a business system (empty = tokens refused)" },
  jimHeartbeatTimeoutS: { env: "TLIM_JIM_HEARTBEAT_TIMEOUT_S", schema: int(0, 86400).default(120), doc: "a J-IM connection silent this long is closed (0 = never)" },
  jimMaxBodyBytes: { env: "TLIM_JIM_MAX_BODY_BYTES", schema: int(64, 64 * 1024 * 1024).default(2 * 1024 * 1024), doc: "largest J-IM frame body; a bigger one closes the connection" },
  jimDefaultGroups: { env: "TLIM_JIM_DEFAULT_GROUPS", schema: addressList, doc: "comma-separated session ids every J-IM user joins at login (e.g. 100, the group stock J-IM pages post to); a missing one is created (docs/jim-gateway.md \"Default groups\")" },
  jimDefaultAvatar: { env: "TLIM_JIM_DEFAULT_AVATAR", schema: z.string().min(1).max(8192).default(DEFAULT_AVATAR), doc: "avatar URL of J-IM users without a pic_url in the users table (default: a built-in SVG data: URI, no network needed)" },
  xmppC2s: { env: "TLIM_XMPP_C2S", schema: z.string().regex(/^(xmpps?:\/\/[^/]+)?$/, "must look like xmpp://host:port").default(""), doc: "the server's client port, used to check J-IM login passwords over SASL (empty = password logins refused)" },
  xmppC2sTls: { env: "TLIM_XMPP_C2S_TLS", schema: z.enum(["verify", "insecure"]).default("verify"), doc: "TLS to TLIM_XMPP_C2S (STARTTLS when the server offers it, or xmpps://): 'verify' = the certificate must be valid for TLIM_USER_DOMAIN (system CAs plus TLIM_XMPP_C2S_CA), and a server offering no TLS gets passwords in clear text only on a loopback address; 'insecure' = the certificate is not checked (a self-signed test server; anyone in between can read the passwords)" },
  xmppC2sCa: { env: "TLIM_XMPP_C2S_CA", schema: z.string().refine((p) => p === "" || existsSync(p), "no such file").default(""), doc: "a PEM file of CA certificates (or the server's own self-signed certificate) trusted for TLIM_XMPP_C2S besides the system's (empty = the system's only)" },
  web: { env: "TLIM_WEB", schema: bool.default(false), doc: "serve the demo web client at /web/ on the HTTP API's port, with its user-authenticated /web/api/ (passwords checked on TLIM_XMPP_C2S; `tlim demo` turns it on); off by default: not meant for production (docs/demo.md)" },
  webXmppWebsocket: { env: "TLIM_WEB_XMPP_WEBSOCKET", schema: z.string().regex(/^(wss?:\/\/[^\s]+)?$/, "must be empty or look like ws://host:port/path").default(""), doc: "the XMPP server's WebSocket endpoint (RFC 7395) the /web/ client logs in through, e.g. ws://127.0.0.1:5280/xmpp-websocket (`tlim demo` sets it)" },
  metrics: { env: "TLIM_METRICS", schema: bool.default(true), doc: "serve GET /metrics (Prometheus text format) on the HTTP API's port: on or off (docs/operations.md \"Metrics\")" },
  metricsAuth: { env: "TLIM_METRICS_AUTH", schema: z.enum(["secret", "none"]).default("secret"), doc: "'secret': /metrics needs Authorization: Bearer <TLIM_API_SECRET> (401 otherwise, and always while no secret is set); 'none': open to anyone who reaches the port" },
  logLevel: { env: "TLIM_LOG_LEVEL", schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"), doc: "log level (pino)" },
  logFormat: { env: "TLIM_LOG_FORMAT", schema: z.enum(["auto", "json", "pretty"]).default("auto"), doc: "'json': one JSON object per line (pino); 'pretty': readable lines (pino-pretty); 'auto': pretty when standard output is a terminal, JSON otherwise (a service manager, a pipe, a container log)" },
  shutdownTimeoutS: { env: "TLIM_SHUTDOWN_TIMEOUT_S", schema: int(1, 3600).default(10), doc: "on SIGTERM or SIGINT tlim stops accepting, commits, delivers and answers what it accepted, flushes device cursors and exits 0; past this many seconds (or at a second signal) it exits 1, logging what was left" },
  maxBodyChars: { env: "TLIM_MAX_BODY_CHARS", schema: int(256, 1_000_000).default(65536), doc: "largest accepted <body> (envelope JSON), in characters" },
  maxTextChars: { env: "TLIM_MAX_TEXT_CHARS", schema: int(1, 1_000_000).default(3000), doc: "largest `text` in a body element (the original's limit: 3000)" },
  revokeWindowS: { env: "TLIM_REVOKE_WINDOW_S", schema: int(0, 100 * 365 * 86400).default(120), doc: "how long after sending a message may be revoked, in seconds (0 = no limit)" },
  writeBatchMax: { env: "TLIM_WRITE_BATCH_MAX", schema: int(1, 10000).default(500), doc: "most messages committed in one transaction (group commit)" },
  writePipeline: { env: "TLIM_WRITE_PIPELINE", schema: int(1, 8).default(2), doc: "commit batches in flight at once on MySQL/MariaDB (each next one starts once the one before holds its locks; 1 = one at a time; SQLite: always 1)" },
  writeQueueMax: { env: "TLIM_WRITE_QUEUE_MAX", schema: int(1, 10_000_000).default(20000), doc: "most messages waiting for the database; beyond it senders get a wait error (error-021) instead of memory growing" },
  userRate: { env: "TLIM_USER_RATE", schema: int(0, 1_000_000).default(50), doc: "messages per second one user may send, sustained (0 = no limit); beyond it a wait error (error-020)" },
  userBurst: { env: "TLIM_USER_BURST", schema: int(1, 1_000_000).default(200), doc: "messages one user may send at once above TLIM_USER_RATE" },
  userInFlightMax: { env: "TLIM_USER_INFLIGHT_MAX", schema: int(1, 1_000_000).default(1000), doc: "messages of one user accepted but not yet committed; beyond it a wait error (error-020)" },
  ackGraceS: { env: "TLIM_ACK_GRACE_S", schema: int(1, 86400).default(60), doc: "a push to a device that never acknowledges counts as delivered after this long on a link that stayed up with no bounce" },
  jimLoginTimeoutS: { env: "TLIM_JIM_LOGIN_TIMEOUT_S", schema: int(0, 3600).default(30), doc: "a J-IM connection not logged in after this long is closed (0 = never)" },
  jimLoginPerAddress: { env: "TLIM_JIM_LOGIN_PER_ADDRESS", schema: int(0, 100000).default(30), doc: "J-IM login attempts per minute from one source address (0 = no limit)" },
  jimLoginPerUser: { env: "TLIM_JIM_LOGIN_PER_USER", schema: int(0, 100000).default(10), doc: "failed J-IM login attempts per minute for one user id (0 = no limit)" },
  syncPageSize: { env: "TLIM_SYNC_PAGE_SIZE", schema: int(1, 10000).default(500), doc: "inbox entries read per page when a device comes online" },
  retentionDays: { env: "TLIM_RETENTION_DAYS", schema: days.default(0), doc: "messages older than this many days are purged with their inbox entries and read marks, in small batches (0 = keep forever; docs/reliability.md \"Retention\")" },
  retentionChatDays: { env: "TLIM_RETENTION_CHAT_DAYS", schema: days.optional(), doc: "overrides TLIM_RETENTION_DAYS for 1:1 conversations (0 = keep them forever; unset = TLIM_RETENTION_DAYS)" },
  retentionSessionDays: { env: "TLIM_RETENTION_SESSION_DAYS", schema: days.optional(), doc: "overrides TLIM_RETENTION_DAYS for sessions (group conversations) (0 = keep them forever; unset = TLIM_RETENTION_DAYS)" },
  retentionIntervalS: { env: "TLIM_RETENTION_INTERVAL_S", schema: int(1, 7 * 86400).default(3600), doc: "seconds between two purge rounds (a round runs batches until it has walked every conversation and inbox)" },
  retentionBatch: { env: "TLIM_RETENTION_BATCH", schema: int(1, 10000).default(500), doc: "most messages (and most inbox entries) one purge transaction removes" },
  migrateOnStart: { env: "TLIM_MIGRATE_ON_START", schema: bool.default(true), doc: "tlim start applies pending migrations first; 0: it refuses to start while any is pending and names them (a schema a DBA creates from sql/, docs/databases.md)" },
  synchronize: { env: "TLIM_DB_SYNCHRONIZE", schema: bool.default(false), doc: "tests only: let TypeORM create the schema instead of running migrations" },
} satisfies Record<string, Option>;

type Options = typeof OPTIONS;
export type Config = Readonly<{ [K in keyof Options]: z.output<Options[K]["schema"]> }>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** Reads a config file's JSON, or {} when absent. */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  const value: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError([`${path}: must hold a JSON object`]);
  }
  return value as Record<string, unknown>;
}

/**
 * Builds the frozen config from file values and an environment. `overrides` (camelCase) win
 * over both; the CLI and tests use them.
 */
export function loadConfig(
  opts: { file?: Record<string, unknown>; env?: NodeJS.ProcessEnv; overrides?: Partial<Record<keyof Options, unknown>> } = {},
): Config {
  const file = opts.file ?? {};
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(file)) {
    if (!(key in OPTIONS)) problems.push(`config file: unknown option '${key}'`);
  }
  for (const [key, opt] of Object.entries(OPTIONS) as [keyof Options, Option][]) {
    const fromEnv = env[opt.env];
    const raw = opts.overrides?.[key] ?? (fromEnv !== undefined && fromEnv !== "" ? fromEnv : file[key]);
    const parsed = opt.schema.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else problems.push(`${opt.env} (${key}): ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  }
  if ((out.httpTls === true || (out.jimTls !== undefined && out.jimTls !== "off")) && (out.tlsCert === "" || out.tlsKey === "")) {
    problems.push("TLIM_HTTP_TLS / TLIM_JIM_TLS need a certificate and its key: set TLIM_TLS_CERT and TLIM_TLS_KEY (PEM files)");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Config;
}

/** Markdown table of every option, for README/docs and `tlim --help`. */
export function describeOptions(): string[] {
  return Object.entries(OPTIONS).map(([key, o]) => `${o.env.padEnd(28)} ${o.doc} [${key}]`);
}
