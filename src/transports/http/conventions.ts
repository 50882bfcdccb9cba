// The original's HTTP conventions (spec §3.1): GET and POST alike, parameters from the query or
// a form/JSON body, `{result, result_detail, …}` with "ok" or an error code in a 200 response
// (DESIGN Q12), lenient JSON in complex parameters, CORS.
import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { parseLenientJson } from "../../protocol/envelope.js";
import { ImError } from "../../protocol/errors.js";

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

export function fail(res: Response, err: ImError, fields: Record<string, unknown> = {}, status = 200): void {
  res.status(status).json({ result: err.code, result_detail: err.message, ...omitNulls(fields) });
}

/** The original omitted null fields from its JSON (spec §3.1). */
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

/** Integer parameter; absent = `dflt`; `max` (any case) = 2147483647 (spec §3.1). */
export function intParam(p: Params, name: string, dflt: number): number {
  const raw = (p[name] ?? "").trim();
  if (raw === "") return dflt;
  if (raw.toLowerCase() === "max") return 2147483647;
  if (!/^-?\d+$/.test(raw)) throw ImError.badParam(`${name} must be an integer (or 'max'), got '${raw.slice(0, 40)}'`);
  const n = Number(raw);
  if (n < 0) throw ImError.badParam(`${name} must not be negative`);
  return Math.min(n, 2147483647);
}

/** A user id from a JSON list entry: `user_id` (or the original's `userId`), at most 64 characters. */
export function entryUserId(entry: unknown, where: string, err: (detail: string) => ImError): string {
  const e = (entry ?? {}) as Record<string, unknown>;
  const raw = e.user_id ?? e.userId;
  const id = typeof raw === "string" || typeof raw === "number" ? String(raw).trim() : "";
  if (id === "") throw err(`${where}.user_id is empty`);
  if (charLength(id) > 64) throw err(`${where}.user_id is longer than 64 characters`);
  return id;
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

/** `Authorization: Bearer <secret>` or `secret=<secret>` (DESIGN Q14). */
export function requireSecret(secret: string | null) {
  const expected = secret === null ? null : Buffer.from(secret);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (expected === null) return next();
    if (expected.length === 0) {
      // DESIGN Q14: the API needs a secret; without one configured it stays closed (not open).
      return fail(res, ImError.unauthorized("the HTTP API is closed: no TLIM_API_SECRET is configured (set one, or TLIM_API_AUTH=none)"), {}, 401);
    }
    const header = req.get("authorization") ?? "";
    const given = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : paramsOf(req).secret ?? "";
    const buf = Buffer.from(given);
    if (buf.length === expected.length && timingSafeEqual(buf, expected)) return next();
    fail(res, ImError.unauthorized(given === "" ? "the API secret is missing (Authorization: Bearer … or secret=…)" : "the API secret is wrong"), {}, 401);
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

export function cors(origin: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
    res.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    if (req.method === "OPTIONS") {
      res.sendStatus(204);
      return;
    }
    next();
  };
}
