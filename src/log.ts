// One logger for the process (pino, JSON lines). Message bodies and secrets never reach it
// (docs/reliability.md "Logs"): errors are serialised without what a driver attaches to them
// (a failed query's parameters are message bodies; mysql2 also inlines them into `sql`), and the
// fields that can hold a secret or a body are redacted wherever they appear.
import { pino, stdSerializers, type Logger } from "pino";

export type { Logger };

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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
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
