// Database URLs: what each kind looks like, parsed without loading any driver or TypeORM (the
// configuration checks TLIM_DB_URL with it before anything is opened).
import { resolve } from "node:path";

/** What a database URL points at. */
export type DbTarget =
  | { kind: "sqlite"; file: string }
  | { kind: "mysql"; host: string; port: number; user: string; password: string; database: string }
  /** `database` is the service name (Oracle Free: FREEPDB1). */
  | { kind: "oracle"; host: string; port: number; user: string; password: string; database: string }
  | { kind: "mssql"; host: string; port: number; user: string; password: string; database: string; encrypt: boolean; trustServerCertificate: boolean };

/**
 * `sqlite:<path>`, `sqlite::memory:`, `mysql://user:pass@host:port/db`, `mariadb://…`,
 * `oracle://user:pass@host:1521/service`, `mssql://user:pass@host:1433/db` (or `sqlserver://`;
 * `?encrypt=false` and `?trustServerCertificate=true` as the server needs).
 * `sqlite:///abs/path` is accepted too.
 */
export function parseDbUrl(url: string): DbTarget {
  if (url.startsWith("sqlite:")) {
    let file = url.slice("sqlite:".length);
    if (file.startsWith("//")) file = file.slice(2);
    if (file === "") throw new Error(`database url '${url}': missing file path`);
    return { kind: "sqlite", file: file === ":memory:" ? file : resolve(file) };
  }
  const server = /^(mysql|mariadb|oracle|mssql|sqlserver):\/\//.exec(url)?.[1];
  if (server) {
    const u = new URL(url);
    const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
    if (database === "") throw new Error(`database url '${redact(url)}': missing ${server === "oracle" ? "service" : "database"} name`);
    const kind = server === "mariadb" ? "mysql" : server === "sqlserver" ? "mssql" : server;
    const common = {
      host: u.hostname || "127.0.0.1",
      port: u.port ? Number(u.port) : DEFAULT_PORTS[kind]!,
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database,
    };
    if (kind === "mssql") {
      const flag = (name: string, dflt: boolean) => {
        const v = u.searchParams.get(name);
        if (v === null) return dflt;
        if (v === "true" || v === "false") return v === "true";
        throw new Error(`database url '${redact(url)}': ${name} must be true or false`);
      };
      return { kind, ...common, encrypt: flag("encrypt", true), trustServerCertificate: flag("trustServerCertificate", false) };
    }
    return { kind: kind as "mysql" | "oracle", ...common };
  }
  throw new Error(`database url '${redact(url)}': must start with sqlite:, mysql://, mariadb://, oracle://, mssql:// or sqlserver://`);
}

const DEFAULT_PORTS: Record<string, number> = { mysql: 3306, oracle: 1521, mssql: 1433 };

/** The URL with its password masked, for messages. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, "$1***@");
}
