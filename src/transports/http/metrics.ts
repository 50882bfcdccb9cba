// GET /metrics (Prometheus text format) and the HTTP request metrics (docs/operations.md "Metrics").
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Metrics } from "../../metrics.js";
import { checkSecret } from "./conventions.js";

export interface MetricsRouteOptions {
  /** The bearer token a scraper must send (TLIM_API_SECRET); null = open (TLIM_METRICS_AUTH=none).
   * An empty secret closes the endpoint: every scrape gets 401. */
  secret: string | null;
}

/** Route label of a request no route answered (a 404, or refused before its route ran). */
export const UNMATCHED = "unmatched";

/**
 * Counts every request by route pattern (`/plugins/tlim/getOffline`, `/healthz`: never the raw
 * URL, whose ids and query would make a series per user) and status, with its duration.
 */
export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    // The router's path prefix is gone from req.baseUrl once the router has handed the request
    // back (a 404 after it), so the pattern is read when the answer ends, as express left it.
    res.once("finish", () => {
      // No route: refused by a router's own middleware (the API secret check: its prefix, `/*`),
      // or answered by nothing (the 404).
      const route = req.route?.path;
      const label = typeof route === "string" ? `${req.baseUrl}${route}` : req.baseUrl ? `${req.baseUrl}/*` : UNMATCHED;
      const labels = { route: label, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, (performance.now() - start) / 1000);
    });
    next();
  };
}

/** GET /metrics: the text exposition; `Authorization: Bearer <secret>` unless opened. */
export function metricsEndpoint(metrics: Metrics, opts: MetricsRouteOptions): RequestHandler {
  return async (req: Request, res: Response) => {
    // Only the header counts here: a scraper sends no secret= (and one is ignored, not refused).
    const check = checkSecret(opts.secret, req.get("authorization"), undefined, { inQuery: false });
    if (check !== "ok") {
      res.status(401).set("www-authenticate", 'Bearer realm="tlim metrics"').type("text/plain").send(
        check === "closed"
          ? "metrics need TLIM_API_SECRET as a bearer token, and none is configured (set one, or TLIM_METRICS_AUTH=none)\n"
          : "metrics need Authorization: Bearer <TLIM_API_SECRET>\n",
      );
      return;
    }
    res.set("content-type", metrics.contentType).set("cache-control", "no-store").send(await metrics.text());
  };
}
