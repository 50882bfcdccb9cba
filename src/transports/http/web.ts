// The demo web client (docs/demo.md), served at /web/ only when TLIM_WEB is on (`tlim demo`).
//
// The page talks XMPP to the users' server over its WebSocket endpoint (RFC 7395) and speaks the
// tlim envelope there (docs/protocol.md), as any tlim client does. What XMPP does not give a
// client — its conversation list, history, uploads and file URLs — comes from /web/api/, which a
// browser may call: it never takes the API secret. A user logs in to it with the XMPP password
// (checked by the XMPP server itself over SASL, with the J-IM login limits: docs/jim-gateway.md
// "Login limits") and gets a short-lived token that names that user only:
//   Authorization: Bearer <userId>.<expiry>.<hex HMAC-SHA256(key, "<userId>.<expiry>")>
// The key is random per start: tokens die with the process. Every answer is about the token's
// user: history only of conversations the user is in (core.messaging.historyFor).
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import express, { type Request, type RequestHandler, type Response } from "express";
import type { Logger } from "pino";
import type { ImCore } from "../../core/im.js";
import { signToken, verifyToken } from "../../protocol/jim-token.js";
import { addressId, IdError } from "../../protocol/ids.js";
import type { StoredMessage } from "../../store/types.js";
import type { LoginAttempt, LoginCheck } from "../jim/credentials.js";
import { TLIM_FILE_ID, type FileUrlSigner } from "./file-urls.js";
import { fileHandlers, type FileOptions } from "./files.js";

export interface WebOptions {
  /** The page's folder (web/ in the package). */
  staticDir: string;
  /** The XMPP server's WebSocket endpoint the page connects to (TLIM_WEB_XMPP_WEBSOCKET). */
  xmppWebsocket: string;
  userDomain: string;
  componentDomain: string;
  /** Password checks with login limits (the J-IM gateway's Credentials). */
  credentials: { admit(address: string, protocol: string): boolean; check(a: LoginAttempt): Promise<LoginCheck> };
  files: FileOptions & { urls: FileUrlSigner };
  /** How long a login token lasts (default 12 h). */
  tokenTtlS?: number;
  log: Logger;
}

/** Messages of one history answer (the newest; older ones are in the HTTP API). */
const HISTORY_PAGE = 100;

/** The browser build of @xmpp/client, a dependency of tlim: served from node_modules, no CDN. */
const XMPP_BUNDLE = createRequire(import.meta.url).resolve("@xmpp/client/dist/xmpp.min.js");

type Authed = Request & { webUser?: string };

export function webRouter(core: ImCore, opts: WebOptions): express.Router {
  const key = randomBytes(32).toString("hex");
  const ttlS = opts.tokenTtlS ?? 12 * 3600;
  const router = express.Router();

  router.get("/config.json", (_req, res) => {
    res.json({ xmppWebsocket: opts.xmppWebsocket, userDomain: opts.userDomain, componentDomain: opts.componentDomain });
  });
  router.get("/vendor/xmpp.min.js", (_req, res) => {
    res.type("text/javascript").sendFile(XMPP_BUNDLE);
  });
  router.use(express.static(opts.staticDir, { index: "index.html", dotfiles: "ignore" }));

  const api = express.Router();
  api.post("/login", async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const given = typeof body.user === "string" ? body.user.trim() : "";
    const password = typeof body.password === "string" ? body.password : "";
    let userId: string;
    try {
      userId = addressId(given, "user");
    } catch (err) {
      if (!(err instanceof IdError)) throw err;
      return void res.status(400).json({ error: err.message });
    }
    const address = req.socket.remoteAddress ?? "";
    if (!opts.credentials.admit(address, "web")) return void res.status(429).json({ error: "too many login attempts from this address; wait a minute" });
    const checked = await opts.credentials.check({ userId, given, password, address, protocol: "web" });
    if (!checked.ok || checked.via !== "password") {
      opts.log.info({ user: userId, reason: checked.ok ? "not a password" : checked.reason }, "web login refused");
      return void res.status(401).json({ error: "wrong user or password" });
    }
    const exp = Math.floor(Date.now() / 1000) + ttlS;
    res.json({ user: userId, token: `${userId}.${signToken(key, userId, exp)}`, expires: exp });
  });

  // Everything below needs a token.
  api.use(((req: Authed, res, next) => {
    const m = /^Bearer\s+(\S+)\.(\d{1,12}\.[0-9a-f]{64})$/i.exec(req.get("authorization") ?? "");
    if (!m || !verifyToken(key, m[1]!, m[2]!, Math.floor(Date.now() / 1000))) return void res.status(401).json({ error: "log in first (token missing, wrong or expired)" });
    req.webUser = m[1]!;
    next();
  }) as RequestHandler);

  api.get("/conversations", async (req: Authed, res) => {
    const me = req.webUser!;
    const entries = await core.messaging.conversations(me, 0);
    res.json({
      conversations: entries
        .filter((e) => e.sessionType !== 100)
        .map((e) => ({ kind: e.sessionType === 99 ? "chat" : "session", id: e.sessionId, name: e.sessionName ?? e.sessionId, lastActivity: Number(e.sessionModifyTime ?? e.sessionCreateTime ?? 0) || 0 })),
    });
  });

  api.get("/history", async (req: Authed, res) => {
    const me = req.webUser!;
    const q = req.query as Record<string, unknown>;
    let of: { sessionId: string } | { peer: string };
    try {
      if (typeof q.session === "string") of = { sessionId: addressId(q.session, "session") };
      else if (typeof q.peer === "string") of = { peer: addressId(q.peer, "peer") };
      else return void res.status(400).json({ error: "give peer= or session=" });
    } catch (err) {
      if (!(err instanceof IdError)) throw err;
      return void res.status(400).json({ error: err.message });
    }
    const read = await core.messaging.historyFor(me, of);
    if (read === null) return void res.status(403).json({ error: "not a member of this session" });
    const page = await read(0, HISTORY_PAGE);
    const items = page.items.slice().reverse(); // ascending: oldest first
    // Read state: how many read each of my messages; whether I read each of the others'.
    const mine = items.filter((m) => m.msgFrom === me).map((m) => m.msgId);
    const readers = mine.length > 0 ? await core.messaging.readCounts(me, mine) : {};
    const theirs = items.filter((m) => m.msgFrom !== me && /^MT[TS]-00[0-3]$/.test(m.msgType)).map((m) => ({ author: m.msgFrom, msgId: m.msgId }));
    const readByMe = new Set((await core.messaging.readBy(me, theirs)).map((r) => `${r.author}/${r.msgId}`));
    res.json({
      total: page.total,
      messages: items.map((m) => ({
        ...envelopeOf(m),
        ...(m.msgFrom === me ? { readers: readers[m.msgId] ?? 0 } : { readByMe: readByMe.has(`${m.msgFrom}/${m.msgId}`) }),
      })),
    });
  });

  // Uploads as /plugins/tlim/uploadForJsonFileId, recorded as the logged-in user's.
  api.post("/upload", fileHandlers(core, opts.files, (req) => (req as Authed).webUser ?? null).uploadForJsonFileId!);

  api.get("/file-url", async (req, res) => {
    const fileId = typeof req.query.fileId === "string" ? req.query.fileId : "";
    const meta = TLIM_FILE_ID.test(fileId) ? await core.files.get(fileId) : null;
    if (!meta) return void res.status(404).json({ error: "no such file" });
    res.json({ url: opts.files.urls.url(fileId), fileName: meta.fileName, contentType: meta.contentType, size: meta.size });
  });

  api.use((_req: Request, res: Response) => void res.status(404).json({ error: "no such endpoint" }));
  router.use("/api", api);
  return router;
}

/** A stored message as the envelope a tlim client receives (docs/protocol.md), body parsed. */
function envelopeOf(m: StoredMessage) {
  let body: unknown = [];
  try {
    body = JSON.parse(m.body);
  } catch {
    /* stored bodies are JSON; an unreadable one shows as empty */
  }
  return { msg_id: m.msgId, msg_type: m.msgType, msg_from: m.msgFrom, msg_to: m.msgTo, msg_time: m.msgTime, body, created_at: m.createdAt };
}
