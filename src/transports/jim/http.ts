// The J-IM HTTP API on the J-IM port (docs/jim-gateway.md "HTTP API"), with the API secret upstream lacked
// (`Authorization: Bearer <secret>` or `secret=<secret>`; docs/architecture.md "The APIs are
// closed without a secret"):
//   /api/message/send   body = a chat exactly as command 11, `from` required -> the reply-12 body
//   /api/user/online    userid -> 10019 online / 10001 offline (J-IM connections or XMPP presence)
//   /api/user/close     userid -> closes every J-IM connection of the user, 10021
// Missing userid -> 10020; an invalid one (protocol/ids.ts) -> 10020 with the reason in `data`.
// Replies are JSON without `command`, except send (as upstream).
import type { IncomingMessage, ServerResponse } from "node:http";
import { addressId, IdError } from "../../protocol/ids.js";
import { canonicalKeys, Cmd, idRefusal, jimJson, parseBodyObject, STATUS, type StatusCode } from "../../protocol/jim-commands.js";
import { ChatRefusal } from "../../protocol/jim-mapping.js";
import type { JimDeps } from "./context.js";
import { checkSecret, SECRET_IN_QUERY_OFF } from "../http/conventions.js";
import { refusal, submitChat } from "./commands/chat.js";

export interface HttpOptions {
  /** null = open (TLIM_API_AUTH=none). */
  apiSecret: string | null;
  /** `secret=` counts (TLIM_API_SECRET_IN_QUERY); false: only the Authorization header. */
  apiSecretInQuery?: boolean;
  maxBodyBytes: number;
}

const status = (code: StatusCode) => ({ code, msg: STATUS[code] });

export function httpHandler(deps: JimDeps, opts: HttpOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const send = (httpStatus: number, body: unknown) => {
      const text = jimJson(body);
      res.writeHead(httpStatus, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      const url = new URL(req.url ?? "/", "http://jim.invalid");
      const raw = await readBody(req, opts.maxBodyBytes);
      if (raw === null) return send(413, { error: `request body is larger than ${opts.maxBodyBytes} bytes` });
      const params = paramsOf(url, req, raw);
      // Without a configured secret the API stays closed, it never opens.
      const check = checkSecret(opts.apiSecret, req.headers.authorization, params.secret, { inQuery: opts.apiSecretInQuery ?? true });
      if (check !== "ok") {
        // The J-IM status body as upstream, with why when secret= is turned off (TLIM_API_SECRET_IN_QUERY=0).
        if (check === "query-refused") return send(401, { ...status(10020), data: { error: "error-014", detail: SECRET_IN_QUERY_OFF } });
        return send(401, status(10020));
      }
      switch (url.pathname) {
        case "/api/message/send": {
          const body = parseBodyObject(raw);
          const given = typeof body?.from === "string" || typeof body?.from === "number" ? String(body.from).trim() : "";
          // No logged-in user here: `from` is required, and is the sender once validated.
          let from = "";
          try {
            if (given !== "") from = addressId(given, "from");
          } catch (err) {
            if (!(err instanceof IdError)) throw err;
            return send(200, refusal(Cmd.CHAT_RESP, new ChatRefusal(err.message)));
          }
          return send(200, await submitChat(deps, body, from, null));
        }
        case "/api/user/online":
        case "/api/user/close": {
          const given = (params.userid ?? "").trim();
          if (given === "") return send(200, status(10020));
          let userid: string;
          try {
            userid = addressId(given, "userid");
          } catch (err) {
            if (!(err instanceof IdError)) throw err;
            return send(200, idRefusal(null, 10020, err));
          }
          if (url.pathname === "/api/user/online") return send(200, status(deps.directory.isOnline(userid) ? 10019 : 10001));
          deps.hub.closeUser(userid);
          return send(200, status(10021));
        }
        default:
          return send(404, { error: "no such endpoint" });
      }
    } catch (err) {
      deps.log.error({ err }, "j-im http request failed");
      if (!res.headersSent) send(500, { error: "internal error" });
    }
  };
}

/** Query and form parameters (form wins), keys matched leniently (`userId`, `user_id`). */
function paramsOf(url: URL, req: IncomingMessage, raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) out[k] = v;
  if (String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(raw)) out[k] = v;
  }
  return canonicalKeys(out, ["userid", "secret"]) as Record<string, string>;
}

/** The request body as text, or null when it exceeds the limit. */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on("end", () => resolve(over ? null : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
