// One logger for the process (pino, JSON lines). Message bodies and secrets never reach it
// (docs/reliability.md "Logs"): errors are serialised without what a driver attaches to them
// (a failed query's parameters are message bodies; mysql2 also inlines them into `sql`), and the
// fields that can hold a secret or a body are redacted wherever they appear.
//
// Format (TLIM_LOG_FORMAT): JSON lines by default; `pretty` prints readable lines through
// pino-pretty, in this thread and synchronously (no worker, nothing lost at exit); `auto` is pretty
// when standard output is a terminal and JSON otherwise.
import { pino, stdSerializers, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger };

export type LogFormat = "auto" | "json" | "pretty";

export interface LoggerOptions {
  format?: LogFormat;
  /** Where lines go (default: standard output). */
  destination?: pino.DestinationStream;
  /** Whether standard output is a terminal, for `auto` (default: process.stdout.isTTY). */
  isTty?: boolean;
}

/** What `auto` means here: pretty on a terminal, JSON anywhere else. */
export function resolveLogFormat(format: LogFormat, isTty: boolean = process.stdout.isTTY === true): "json" | "pretty" {
  return format === "auto" ? (isTty ? "pretty" : "json") : format;
}

/** Error properties that carry data rather than the error: dropped, at any depth. */
const DATA_PROPS = new Set(["parameters", "params", "sql", "query", "values", "body", "text", "password", "secret", "token"]);

/** An error as pino would log it, minus the data a driver or a library attached to it. */
export function safeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as unknown as Record<string, unknown>;
  // A database error's text may quote a value ("Duplicate entry 'x-y' for key…", "Incorrect
  // string value: '\xF0…' for column 'body'"): quoted parts are elided.
  const fromDb = "driverError" in e || "sqlMessage" in e || "sql" in e || "query" in e;
  return strip(stdSerializers.err(err), 0, fromDb);
}

function strip(value: unknown, depth: number, quoted: boolean): unknown {
  if (typeof value === "string") return quoted ? value.replace(/'[^']*'/g, "'…'") : value;
  if (value === null || typeof value !== "object" || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => strip(v, depth + 1, quoted));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (DATA_PROPS.has(k)) continue;
    out[k] = k === "stack" && typeof v === "string" && quoted ? v.split("\n").slice(1).join("\n") : strip(v, depth + 1, quoted);
  }
  return out;
}

export function createLogger(level: string, opts: LoggerOptions | pino.DestinationStream = {}): Logger {
  const o: LoggerOptions = "write" in opts ? { destination: opts as pino.DestinationStream } : (opts as LoggerOptions);
  const isTty = o.isTty ?? process.stdout.isTTY === true;
  const destination =
    resolveLogFormat(o.format ?? "json", isTty) === "pretty"
      ? pretty({
          destination: o.destination ?? 1,
          sync: true,
          colorize: o.destination === undefined && isTty,
          translateTime: "SYS:HH:MM:ss.l",
          ignore: "pid,hostname,svc",
        })
      : o.destination;
  return pino({
    level,
    base: { svc: "tlim" },
    serializers: { err: safeError, error: safeError },
    redact: {
      paths: ["password", "secret", "token", "apiSecret", "xmppSecret", "*.password", "*.secret", "*.token", "body", "*.body", "text", "*.text"],
      censor: "[redacted]",
    },
  }, destination);
}
