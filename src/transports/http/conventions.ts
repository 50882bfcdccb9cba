// The original's HTTP conventions (spec §3.1): GET and POST alike, parameters from the query or
// a form/JSON body, `{result, result_detail, …}` with "ok" or an error code in a 200 response
// (DESIGN Q12), lenient JSON in complex parameters, CORS.
import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { parseLenientJson } from "../../protocol/envelope.js";
import { ImError } from "../../protocol/errors.js";

export type Params = Record<string, string>;

/** Query and body merged (body wins); arrays keep their first value; everything as text. */
export function paramsOf(req: Request): Params {
  const out: Params = {};
  const merge = (src: unknown) => {
    if (!src || typeof src !== "object") return;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      const first = Array.isArray(v) ? v[0] : v;
      if (first === undefined || first === null) continue;
      out[k] = typeof first === "object" ? JSON.stringify(first) : String(first);
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
function omitNulls(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined));
}

/** Required text parameter, or the given error. */
export function required(p: Params, name: string, err: () => ImError): string {
  const v = (p[name] ?? "").trim();
  if (v === "") throw err();
  return v;
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
    const header = req.get("authorization") ?? "";
    const given = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : paramsOf(req).secret ?? "";
    const buf = Buffer.from(given);
    if (buf.length === expected.length && timingSafeEqual(buf, expected)) return next();
    fail(res, ImError.unauthorized(given === "" ? "the API secret is missing (Authorization: Bearer … or secret=…)" : "the API secret is wrong"), {}, 401);
  };
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
