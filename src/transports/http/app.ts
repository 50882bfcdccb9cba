// The HTTP app, built apart from listen() so route tests need no fixed port.
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import { ImError } from "../../protocol/errors.js";
import { cors, fail, paramsOf, requireSecret } from "./conventions.js";
import { FILE_URL_PATH, FileUrlSigner } from "./file-urls.js";
import { fileHandlers, signedFileHandler, type FileOptions } from "./files.js";
import { requestLog } from "./request-log.js";
import { httpMetrics, metricsEndpoint } from "./metrics.js";
import type { AccountProvisioner } from "./provision.js";
import { routes, type PresenceStatus, type RouteContext } from "./routes.js";
import { webRouter, type WebOptions } from "./web.js";

export interface HttpDeps {
  core: ImCore;
  /** null = open API (TLIM_API_AUTH=none). */
  apiSecret: string | null;
  /** TLIM_CORS_ORIGIN: "" (default) no cross-origin access, "*", or comma-separated origins. */
  corsOrigin?: string;
  /** The API secret may come as `secret=` (TLIM_API_SECRET_IN_QUERY; default true). */
  apiSecretInQuery?: boolean;
  /** Uploads (TLIM_FILE_DIR, TLIM_MAX_UPLOAD_BYTES). */
  files: FileOptions;
  /** What the component sees of a user's presence (findPresence); "offline" when absent. */
  presence?: (userId: string) => PresenceStatus;
  /** XMPP account provisioning for addUser/removeUser (TLIM_PROVISION_ACCOUNTS=1). */
  provisioner?: AccountProvisioner | null;
  health(): Promise<{ xmpp: string; database: string; jim?: string }>;
  log: Logger;
  /** GET /metrics (TLIM_METRICS) and its bearer token (null: open); absent: no /metrics. */
  metrics?: { endpoint: boolean; secret: string | null };
  /** The demo web client at /web/ (TLIM_WEB, docs/demo.md); absent: /web/ is 404. */
  web?: Omit<WebOptions, "files" | "log">;
}

export function createHttpApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(requestLog(deps.log));
  app.set("json spaces", 0);
  const metrics = deps.core.metrics as ImCore["metrics"] | undefined; // a stub core (unit tests) has none
  if (metrics) app.use(httpMetrics(metrics));
  if (metrics && deps.metrics?.endpoint) app.get("/metrics", metricsEndpoint(metrics, { secret: deps.metrics.secret }));
  app.use(cors(deps.corsOrigin ?? ""));
  app.use(express.urlencoded({ extended: false, limit: "1mb" }));
  app.use(express.json({ limit: "1mb" }));

  app.get("/healthz", async (_req, res) => {
    const h = await deps.health();
    res.status(h.xmpp === "online" && h.database === "up" ? 200 : 503).json(h);
  });

  const ctx: RouteContext = {
    core: deps.core,
    presence: deps.presence ?? (() => "offline"),
    provisioner: deps.provisioner ?? null,
    log: deps.log,
  };
  // Signed file URLs need no API secret: the signature is the credential (docs/http-api.md "Credentials").
  const fileUrls = deps.files.urls ?? new FileUrlSigner({ secret: "", apiSecret: deps.apiSecret ?? "", ttlS: 3600 });
  app.get(`${FILE_URL_PATH}:fileId`, signedFileHandler(deps.core, deps.files.dir, fileUrls));
  const api = express.Router();
  api.use(requireSecret(deps.apiSecret, { inQuery: deps.apiSecretInQuery ?? true }));
  for (const [name, route] of Object.entries(routes)) {
    api.all(`/${name}`, async (req, res) => {
      res.type("application/json; charset=utf-8");
      try {
        await route(ctx, paramsOf(req), res);
      } catch (err) {
        if (!(err instanceof ImError)) throw err;
        fail(res, err, (err as ImError & { fields?: Record<string, unknown> }).fields ?? {});
      }
    });
  }
  for (const [name, handler] of Object.entries(fileHandlers(deps.core, { ...deps.files, urls: fileUrls }))) api.all(`/${name}`, handler);
  app.use("/plugins/tlim", api);
  if (deps.web) app.use("/web", webRouter(deps.core, { ...deps.web, files: { ...deps.files, urls: fileUrls }, log: deps.log }));

  app.use((_req, res) => {
    fail(res, ImError.badParam("no such endpoint"), {}, 404);
  });
  // Malformed bodies and unexpected failures: a clear answer, never a stack trace.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (e.type === "entity.parse.failed") return fail(res, ImError.jsonInvalid("request body is not valid JSON"), {}, 400);
    if (e.type === "entity.too.large") return fail(res, ImError.tooLarge("request body is too large"), {}, 413);
    if (e.status !== undefined && e.status >= 400 && e.status < 500) return fail(res, ImError.badParam(`bad request: ${String((err as Error).message ?? "").slice(0, 200)}`), {}, e.status);
    (req.log ?? deps.log).error({ err }, "http request failed");
    fail(res, ImError.internal("internal error"), {}, 500);
  });
  return app;
}
