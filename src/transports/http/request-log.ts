// One id per HTTP request (pino-http): the caller's X-Request-Id when it sends a usable one, else
// a fresh UUID; echoed in the response's X-Request-Id and carried by every log line of the
// request as `req_id` (`req.log` is the request's child logger). One line per completed request:
// method, path (never the query string: `secret=` and message parameters may be in it), status,
// response time. Probes (/healthz, /metrics) log at debug whatever they answer, everything else
// at info, 5xx at error.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";

/** An incoming X-Request-Id is kept when it is short and plain (it goes into logs as is). */
const USABLE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const PROBES = new Set(["/healthz", "/metrics"]);

const pathOf = (url: string | undefined) => (url ?? "").split("?")[0]!;

export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers["x-request-id"];
  const id = typeof given === "string" && USABLE_ID.test(given) ? given : randomUUID();
  res.setHeader("X-Request-Id", id);
  return id;
}

export function requestLog(log: Logger) {
  return pinoHttp({
    logger: log,
    genReqId: requestId,
    customAttributeKeys: { reqId: "req_id" },
    // req.log carries only req_id; the completion line has the request and the response.
    quietReqLogger: true,
    serializers: {
      req: (req: { method?: string; url?: string }) => ({ method: req.method, path: pathOf(req.url) }),
      res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
    },
    // A probe's 503 (not ready yet, database down) is an answer, not a failure of the request.
    customLogLevel: (req, res, err) => (PROBES.has(pathOf(req.url)) ? "debug" : err || res.statusCode >= 500 ? "error" : "info"),
    customSuccessMessage: () => "http request",
    customErrorMessage: () => "http request",
  });
}
