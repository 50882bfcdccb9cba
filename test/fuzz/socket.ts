// The HTTP API over a real socket (docs/reliability.md "Fuzzing"): any method, endpoint and
// parameters (query, form, JSON or raw bytes) get an answer that is not a 500 and is JSON.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { pino } from "pino";
import { ImCore } from "../../src/core/im.js";
import { MemoryStore } from "../../src/store/memory.js";
import { createHttpApp } from "../../src/transports/http/app.js";
import { FILE_ENDPOINTS } from "../../src/transports/http/files.js";
import { routes } from "../../src/transports/http/routes.js";
import { hostileJson, hostileString, shortHostile } from "./arbitraries.js";
import { PropertyViolation, type FuzzTarget } from "./targets.js";

const PARAM_NAMES = ["session_id", "user_id", "msg_id", "msg_to", "msgTo", "subscribers", "userList", "params", "session_type", "request_user", "length", "start", "before", "fileId", "fileName", "title", "content"];

const requestArb = fc.record({
  path: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...Object.keys(routes), ...FILE_ENDPOINTS) }, { weight: 1, arbitrary: shortHostile.map((s) => encodeURIComponent(Buffer.from(s).toString())) /* lone surrogates become U+FFFD first */ }),
  method: fc.constantFrom("GET", "POST", "POST", "PUT", "DELETE"),
  params: fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PARAM_NAMES) }, { weight: 1, arbitrary: shortHostile }), hostileString.map((s) => s.slice(0, 20_000))), { maxLength: 5 }),
  as: fc.constantFrom("query", "form", "json", "json-raw", "bytes", "multipart"),
  json: hostileJson,
  bytes: fc.uint8Array({ maxLength: 200 }),
});
type Req = typeof requestArb extends fc.Arbitrary<infer R> ? R : never;

let server: Server | null = null;
let base = "";
let dir = "";
let core: ImCore | null = null;

export const httpSocketTarget: FuzzTarget<Req> = {
  name: "http-socket",
  states: "any request to the real express app (any endpoint, method, query/form/JSON/raw/multipart parameters) answers a status below 500 with a JSON body",
  ciRuns: 300,
  fuzzShare: 0.02,
  async: true,
  arbitrary: requestArb,
  async setup() {
    dir = await mkdtemp(join(tmpdir(), "tlim-fuzz-"));
    const silent = pino({ level: "silent" });
    core = new ImCore(new MemoryStore(), { maxTextChars: 3000, revokeWindowS: 120, writeBatchMax: 100, syncPageSize: 50 }, silent);
    const app = createHttpApp({ core, apiSecret: null, files: { dir, maxBytes: 4096 }, health: async () => ({ xmpp: "online", database: "up" }), log: silent });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/plugins/tlim/`;
  },
  async teardown() {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server?.closeAllConnections?.();
    await core?.close();
    await rm(dir, { recursive: true, force: true });
  },
  async check(r) {
    const pairs = r.params.map(([k, v]) => [k, v] as [string, string]);
    let url = base + r.path;
    const init: RequestInit = { method: r.method };
    const form = new URLSearchParams(pairs);
    if (r.as === "query" || r.method === "GET") url += `?${form.toString()}`;
    else if (r.as === "form") init.body = form;
    else if (r.as === "json") {
      init.body = JSON.stringify(Object.fromEntries(pairs.map(([k, v], i) => [k, i === 0 ? r.json : v])));
      init.headers = { "content-type": "application/json" };
    } else if (r.as === "json-raw") {
      init.body = JSON.stringify(r.json) ?? "";
      init.headers = { "content-type": "application/json" };
    } else if (r.as === "bytes") {
      init.body = Buffer.from(r.bytes);
      init.headers = { "content-type": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"][r.bytes.length % 3]! };
    } else {
      const fd = new FormData();
      for (const [k, v] of pairs) fd.append(k, v);
      fd.append("mFile", new Blob([Buffer.from(r.bytes)]), pairs[0]?.[1] ?? "f.bin");
      init.body = fd;
    }
    const res = await fetch(url, init);
    const text = await res.text();
    // Node's HTTP server itself refuses a request line + headers over its 16 KiB limit (431, no
    // body) before the app sees it: not the app's answer.
    if (res.status === 431 && text === "") return;
    if (res.status >= 500) throw new PropertyViolation(`${r.method} ${r.path} answered ${res.status}: ${text.slice(0, 300)}`);
    const type = res.headers.get("content-type") ?? "";
    if (type.startsWith("text/plain")) return; // uploadForFileId / uploadForUrl answer the id or URL as text
    if (r.method === "POST" && r.path.startsWith("download") === false && FILE_ENDPOINTS.includes(r.path) && res.status === 200 && !type.includes("json")) return;
    try {
      JSON.parse(text);
    } catch {
      throw new PropertyViolation(`${r.method} ${r.path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 300)}`);
    }
  },
};
