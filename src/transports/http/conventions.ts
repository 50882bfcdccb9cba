// The original's HTTP conventions (docs/http-api.md "Conventions"): GET and POST alike, parameters from the query or
// a form/JSON body, `{result, result_detail, …}` with "ok" or an error code in a 200 response
// (old clients read only those), lenient JSON in complex parameters, CORS.
import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { parseLenientJson } from "../../protocol/envelope.js";
import { ERROR_CATALOGUE, ImError } from "../../protocol/errors.js";
import { addressId, IdError, messageId } from "../../protocol/ids.js";

export type Params = Record<string, string>;

/**
 * Query and body merged (body wins); everything as text. A repeated form or query parameter keeps
 * its first value; a JSON value that is an object or array (a JSON body's `subscribers`,
 * `params`, `userList`) becomes its JSON text, as if it had been sent as text.
 */
export function paramsOf(req: Request): Params {
  const out: Params = {};
  const merge = (src: unknown) => {
    if (!src || typeof src !== "object") return;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      const repeated = Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string");
      const value = repeated ? (v as string[])[0] : v;
      if (value === undefined || value === null) continue;
      out[k] = typeof value === "object" ? JSON.stringify(value) : String(value);
    }
  };
  merge(req.query);
  merge(req.body);
  return out;
}

export function ok(res: Response, fields: Record<string, unknown> = {}): void {
  res.json({ result: "ok", result_detail: "", ...omitNulls(fields) });
}

/** Seconds a client is told to wait after a wait error (RFC 9110 §10.2.3 Retry-After). */
export const RETRY_AFTER_SECONDS = 1;

/**
 * The wait errors answer with their own HTTP status and a Retry-After header, whatever the
 * endpoint's usual convention (docs/http-api.md "Other statuses"): nothing was stored, the same
 * request may be sent again. 429 Too Many Requests (RFC 6585 §4) for a sender over its limits,
 * 503 Service Unavailable (RFC 9110 §15.6.4) when the write queue is full or the database away.
 */
const WAIT_STATUS: ReadonlyMap<string, number> = new Map([
  [ERROR_CATALOGUE.rateLimited.code, 429],
  [ERROR_CATALOGUE.overloaded.code, 503],
]);

export function fail(res: Response, err: ImError, fields: Record<string, unknown> = {}, status = 200): void {
  const wait = WAIT_STATUS.get(err.code);
  if (wait !== undefined) {
    status = wait;
    res.setHeader("Retry-After", String(RETRY_AFTER_SECONDS));
  }
  res.status(status).json({ result: err.code, result_detail: err.message, ...omitNulls(fields) });
}

/** The original omitted null fields from its JSON. */
export function omitNulls(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined));
}

/** Required text parameter, or the given error. */
export function required(p: Params, name: string, err: () => ImError): string {
  const v = (p[name] ?? "").trim();
  if (v === "") throw err();
  return v;
}

/** Characters as the databases count them (code points: one emoji is one). */
export function charLength(v: string): number {
  let n = 0;
  for (const _ of v) n++;
  return n;
}

/** Refuses a value longer than the column that stores it (error-016 unless told otherwise). */
export function maxLength(v: string, name: string, max: number, err: (detail: string) => ImError = ImError.badParam): string {
  if (charLength(v) > max) throw err(`${name} is longer than ${max} characters`);
  return v;
}

/** A text parameter: trimmed; "" when absent unless `required` says which error; longer than
 * `max` is error-016. */
export function text(p: Params, name: string, opts: { max: number; required?: (detail: string) => ImError }): string {
  const v = (p[name] ?? "").trim();
  if (v === "" && opts.required) throw opts.required(`${name} is empty`);
  return maxLength(v, name, opts.max);
}

/** An error carrying extra response fields (the original kept some fields on failures). */
export function withFields(err: ImError, fields: Record<string, unknown>): ImError {
  return Object.assign(err, { fields });
}

/** Integer parameter; absent = `dflt`; `max` (any case) = 2147483647, as in the original. */
export function intParam(p: Params, name: string, dflt: number): number {
  const raw = (p[name] ?? "").trim();
  if (raw === "") return dflt;
  if (raw.toLowerCase() === "max") return 2147483647;
  if (!/^-?\d+$/.test(raw)) throw ImError.badParam(`${name} must be an integer (or 'max'), got '${raw.slice(0, 40)}'`);
  const n = Number(raw);
  if (n < 0) throw ImError.badParam(`${name} must not be negative`);
  return Math.min(n, 2147483647);
}

/** The endpoint's error for a parameter, given the reason. */
export type ParamError = (detail: string) => ImError;

export interface IdParamOptions {
  /** The endpoint's code for this parameter (the one it answers when the value is empty); it
   * also refuses a value that breaks the identifier rule, with the rule as `result_detail`. */
  err: ParamError;
  /** The answer for an absent or empty value, when it needs its own detail (default: err). */
  empty?: () => ImError;
  /** Absent or empty gives "" instead of an error. */
  optional?: boolean;
}

/**
 * One identifier rule for the whole HTTP API (docs/http-api.md "Identifiers"): user and session
 * ids are XMPP local parts (RFC 7622 §3.3), validated and case-folded as the XMPP server folds
 * them, so `Bob` and `bob` are one user; message ids are printable and kept as given. The value
 * is trimmed first (as every parameter). A refusal carries the endpoint's code and says which
 * rule was broken, never the raw value.
 */
function idParam(check: (raw: string, field: string) => string, p: Params, name: string, opts: IdParamOptions): string {
  const raw = (p[name] ?? "").trim();
  if (raw === "") {
    if (opts.optional) return "";
    throw opts.empty ? opts.empty() : opts.err(`${name} is empty`);
  }
  return checkedId(check, raw, name, opts.err);
}

function checkedId(check: (raw: string, field: string) => string, raw: string, field: string, err: ParamError): string {
  try {
    return check(raw, field);
  } catch (e) {
    if (e instanceof IdError) throw err(e.message);
    throw e;
  }
}

/** A user id parameter (`user_id`, `msg_to`, `sender`, …): validated and folded. */
export function userIdParam(p: Params, name: string, opts: IdParamOptions): string {
  return idParam(addressId, p, name, opts);
}

/** A session id parameter: validated and folded like a user id (it is `<session_id>@component`). */
export function sessionIdParam(p: Params, name: string, opts: IdParamOptions): string {
  return idParam(addressId, p, name, opts);
}

/** A message id parameter (`msg_id`): validated, case kept. */
export function msgIdParam(p: Params, name: string, opts: IdParamOptions): string {
  return idParam(messageId, p, name, opts);
}

/** A user id from a JSON list entry: `user_id` (or the original's `userId`), validated and folded
 * like `userIdParam`; `err` answers both an empty and an invalid one. */
export function entryUserId(entry: unknown, where: string, err: ParamError): string {
  const e = (entry ?? {}) as Record<string, unknown>;
  const raw = e.user_id ?? e.userId;
  const id = typeof raw === "string" || typeof raw === "number" ? String(raw).trim() : "";
  if (id === "") throw err(`${where}.user_id is empty`);
  return checkedId(addressId, id, `${where}.user_id`, err);
}

/** An optional string field of a JSON list entry, bounded; undefined when absent or empty. */
export function entryText(entry: unknown, field: string, where: string, max: number): string | undefined {
  const v = ((entry ?? {}) as Record<string, unknown>)[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" && typeof v !== "number") throw ImError.badParam(`${where}.${field} must be a string`);
  const t = String(v).trim();
  if (t === "") return undefined;
  return maxLength(t, `${where}.${field}`, max);
}

/** A JSON (lenient) parameter holding an array. */
export function jsonArrayParam(p: Params, name: string, err: (detail: string) => ImError): unknown[] {
  const raw = (p[name] ?? "").trim();
  if (raw === "") throw err(`${name} is empty`);
  let v: unknown;
  try {
    v = parseLenientJson(raw);
  } catch {
    throw err(`${name} is not valid JSON`);
  }
  if (!Array.isArray(v)) throw err(`${name} must be a JSON array`);
  return v;
}

/** Why a `secret=` parameter is refused (TLIM_API_SECRET_IN_QUERY=0). */
export const SECRET_IN_QUERY_OFF =
  "secret= is turned off on this server (TLIM_API_SECRET_IN_QUERY=0): send the API secret as Authorization: Bearer …";

/** What checkSecret found: "ok" lets the request in; the others are refusals (401 for every caller). */
export type SecretCheck = "ok" | "closed" | "query-refused" | "missing" | "wrong";

/**
 * The API secret check of the HTTP API, the J-IM HTTP API and /metrics (docs/architecture.md "The
 * APIs are closed without a secret"); pure, each caller words its own refusal.
 *   expected       the configured secret (TLIM_API_SECRET); null = no check (TLIM_API_AUTH=none,
 *                  TLIM_METRICS_AUTH=none) -> "ok"; "" = closed -> "closed" whatever was sent.
 *   authorization  the Authorization header: `Bearer <secret>` (scheme case-insensitive, RFC 6750).
 *   querySecret    the `secret=` parameter as received (undefined = absent; a caller that never
 *                  reads one passes undefined).
 *   inQuery        whether `secret=` counts (TLIM_API_SECRET_IN_QUERY); when false, a `secret=`
 *                  without a bearer header is "query-refused" (a URL with the secret ends up in
 *                  logs and histories), even the right one.
 * "missing" when nothing usable was sent, "wrong" when a secret was sent and it differs (compared
 * in constant time).
 */
export function checkSecret(expected: string | null, authorization: string | undefined, querySecret: string | undefined, opts: { inQuery: boolean }): SecretCheck {
  if (expected === null) return "ok";
  if (expected === "") return "closed";
  const header = authorization ?? "";
  const bearer = header.toLowerCase().startsWith("bearer ");
  if (!bearer && !opts.inQuery && querySecret !== undefined) return "query-refused";
  const given = bearer ? header.slice(7).trim() : opts.inQuery ? querySecret ?? "" : "";
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  if (a.length === b.length && timingSafeEqual(a, b)) return "ok";
  return given === "" ? "missing" : "wrong";
}

/** `Authorization: Bearer <secret>` or `secret=<secret>` (docs/architecture.md "The APIs are closed without a secret"). */
export function requireSecret(secret: string | null, opts: { inQuery?: boolean } = {}) {
  // TLIM_API_SECRET_IN_QUERY=0: secret= is refused (a URL with the secret ends up in logs and histories).
  const inQuery = opts.inQuery ?? true;
  const missing = inQuery ? "the API secret is missing (Authorization: Bearer … or secret=…)" : "the API secret is missing (Authorization: Bearer …)";
  const refusals: Record<Exclude<SecretCheck, "ok">, string> = {
    // The API needs a secret; without one configured it stays closed (not open).
    closed: "the HTTP API is closed: no TLIM_API_SECRET is configured (set one, or TLIM_API_AUTH=none)",
    "query-refused": SECRET_IN_QUERY_OFF,
    missing,
    wrong: "the API secret is wrong",
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    if (secret === null) return next();
    const check = checkSecret(secret, req.get("authorization"), paramsOf(req).secret, { inQuery });
    if (check === "ok") return next();
    fail(res, ImError.unauthorized(refusals[check]), {}, 401);
  };
}

/** A history paging key (tlim extension): the `id_` of a row from a previous page (or its seq);
 * the page then holds only older rows. */
export function beforeParam(p: Params): number | undefined {
  const raw = (p.before ?? "").trim();
  if (raw === "") return undefined;
  const m = /(?:^|#)(\d{1,15})$/.exec(raw);
  if (!m) throw ImError.badParam(`before must be the id_ of a history row (…#<seq>) or a seq, got '${raw.slice(0, 40)}'`);
  return Number(m[1]);
}

/**
 * CORS (the Fetch standard's CORS protocol) for TLIM_CORS_ORIGIN: "" = no cross-origin access (no
 * Access-Control-* header at all; a browser then keeps other origins' pages from reading any
 * answer), "*" = any origin, else a comma-separated allow-list: a request whose Origin is on it
 * gets that origin echoed, with `Vary: Origin` on every answer so caches keep them apart.
 * Preflights (OPTIONS) answer 204 whatever the origin; only an allowed one gets the headers that
 * let the browser go on.
 */
export function cors(setting: string) {
  const any = setting.trim() === "*";
  const allowed = new Set(any ? [] : setting.split(",").map((o) => o.trim().toLowerCase()).filter((o) => o !== ""));
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get("origin");
    if (!any && allowed.size > 0) res.vary("Origin");
    const allow = any ? "*" : origin !== undefined && allowed.has(origin.toLowerCase()) ? origin : null;
    if (allow !== null) {
      res.setHeader("Access-Control-Allow-Origin", allow);
      res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.setHeader("Access-Control-Max-Age", "600");
    }
    if (req.method === "OPTIONS") {
      res.sendStatus(204);
      return;
    }
    next();
  };
}
