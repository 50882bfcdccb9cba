// The HTTP app, built apart from listen() so route tests need no fixed port.
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import { ImError } from "../../protocol/errors.js";
import { cors, fail, paramsOf, requireSecret } from "./conventions.js";
import { fileHandlers, type FileOptions } from "./files.js";
import type { AccountProvisioner } from "./provision.js";
import { routes, type PresenceStatus, type RouteContext } from "./routes.js";

export interface HttpDeps {
  core: ImCore;
  /** null = open API (TLIM_API_AUTH=none). */
  apiSecret: string | null;
  /** Access-Control-Allow-Origin (TLIM_CORS_ORIGIN; the original sent *). */
  corsOrigin?: string;
  /** Uploads (TLIM_FILE_DIR, TLIM_MAX_UPLOAD_BYTES). */
  files: FileOptions;
  /** What the component sees of a user's presence (findPresence); "offline" when absent. */
  presence?: (userId: string) => PresenceStatus;
  /** XMPP account provisioning for addUser/removeUser (TLIM_PROVISION_ACCOUNTS=1). */
  provisioner?: AccountProvisioner | null;
  health(): Promise<{ xmpp: string; database: string; jim?: string }>;
  log: Logger;
}

export function createHttpApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("json spaces", 0);
  app.use(cors(deps.corsOrigin ?? "*"));
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
  const api = express.Router();
  api.use(requireSecret(deps.apiSecret));
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
  for (const [name, handler] of Object.entries(fileHandlers(deps.core, deps.files))) api.all(`/${name}`, handler);
  app.use("/plugins/tlim", api);

  app.use((_req, res) => {
    fail(res, ImError.badParam("no such endpoint"), {}, 404);
  });
  // Malformed bodies and unexpected failures: a clear answer, never a stack trace.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (e.type === "entity.parse.failed") return fail(res, ImError.jsonInvalid("request body is not valid JSON"), {}, 400);
    if (e.type === "entity.too.large") return fail(res, ImError.tooLarge("request body is too large"), {}, 413);
    if (e.status !== undefined && e.status >= 400 && e.status < 500) return fail(res, ImError.badParam(`bad request: ${String((err as Error).message ?? "").slice(0, 200)}`), {}, e.status);
    deps.log.error({ err }, "http request failed");
    fail(res, ImError.internal("internal error"), {}, 500);
  });
  return app;
}
