// The file service (docs/http-api.md "Files"), which the original left to an external application server, under
// /plugins/tlim/: multipart upload (size-limited, content type recorded) and download by file id.
// The bytes live in TLIM_FILE_DIR under the file id, which tlim makes itself (32 hex digits) and
// checks before any file-system call: a request can never name another path.
import { mkdir } from "node:fs";
import { unlink } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import multer from "multer";
import type { ImCore } from "../../core/im.js";
import { ERROR_CATALOGUE, ImError } from "../../protocol/errors.js";
import { TLIM_FILE_ID } from "../../protocol/file-ids.js";
import type { StoredFile } from "../../store/types.js";
import { charLength, fail, ok, paramsOf, text, userIdParam } from "./conventions.js";
import type { FileUrlSigner } from "./file-urls.js";

export interface FileOptions {
  dir: string;
  maxBytes: number;
  /** Signs the URLs handed out with uploads and messages (docs/http-api.md "Credentials"). */
  urls?: FileUrlSigner;
}

/** The upload variants and what each answers (docs/http-api.md "Files"). */
const UPLOADS = {
  uploadForFileId: (id: string) => ({ text: id }),
  uploadForJsonFileId: (id: string) => ({ json: { fileId: id } }),
  uploadForUrl: (id: string, name: string) => ({ text: downloadUrl(id, name) }),
  uploadForJsonUrl: (id: string, name: string) => ({ json: { url: downloadUrl(id, name) } }),
} satisfies Record<string, (id: string, name: string) => { text: string } | { json: Record<string, string | number> }>;

export const FILE_ENDPOINTS = [...Object.keys(UPLOADS), "download"];

/** The original's file part name; any single file part is accepted. */
const FILE_PART = "mFile";
const NAME_MAX = 256;
/** Shown inline (pictures and voice in a chat); anything else is an attachment, never rendered as
 * a page of this origin. */
const INLINE = /^(image\/(png|jpeg|gif|webp)|audio\/[\w.+-]+|video\/[\w.+-]+)$/;

function downloadUrl(fileId: string, fileName: string): string {
  return `/plugins/tlim/download?fileId=${fileId}&fileName=${encodeURIComponent(fileName)}`;
}

/** The client's file name without any path, control characters or excess length. */
function cleanName(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex
  const name = base.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  if (name === "" || name === "." || name === "..") return "file";
  return charLength(name) <= NAME_MAX ? name : [...name].slice(-NAME_MAX).join("");
}

function cleanType(raw: string): string {
  const t = raw.trim().toLowerCase();
  return /^[\w.+-]+\/[\w.+-]+$/.test(t) && t.length <= 128 ? t : "application/octet-stream";
}

/** RFC 6266: an ASCII fallback and the UTF-8 name. */
function disposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/**
 * `uploaderOf`: who an upload is recorded as, when the caller is a logged-in user rather than a
 * business system naming one (`user_id`): the web client's uploads are its user's, whatever the
 * form says.
 */
export function fileHandlers(core: ImCore, opts: FileOptions, uploaderOf?: (req: Request) => string | null): Record<string, RequestHandler> {
  const urls = opts.urls;
  const parse = multer({
    storage: multer.diskStorage({
      // Created on the first upload, not at start-up.
      destination: (_req, _file, cb) => mkdir(opts.dir, { recursive: true }, (err) => cb(err, opts.dir)),
      filename: (_req, _file, cb) => cb(null, randomUUID().replace(/-/g, "")),
    }),
    limits: { fileSize: opts.maxBytes, files: 1, fields: 32 },
    defParamCharset: "utf8",
  }).any();

  const receive = (req: Request, res: Response): Promise<Express.Multer.File> =>
    new Promise((resolve, reject) => {
      if (req.method !== "POST" || !req.is("multipart/form-data")) {
        return reject(ImError.badParam(`upload with a multipart/form-data POST whose file part is '${FILE_PART}'`));
      }
      void parse(req, res, (err: unknown) => {
        if (err) {
          const e = err as { code?: string; message?: string };
          if (e.code === "LIMIT_FILE_SIZE") return reject(ImError.tooLarge(`the file is larger than ${opts.maxBytes} bytes (TLIM_MAX_UPLOAD_BYTES)`));
          return reject(ImError.badParam(`not a valid upload: ${e.message ?? String(err)}`));
        }
        const file = (req.files as Express.Multer.File[] | undefined)?.[0];
        if (!file) return reject(ImError.badParam(`the request has no file part (use '${FILE_PART}')`));
        resolve(file);
      });
    });

  const upload = (variant: keyof typeof UPLOADS): RequestHandler => async (req, res) => {
    let file: Express.Multer.File | undefined;
    try {
      file = await receive(req, res);
      const p = paramsOf(req);
      const name = cleanName(file.originalname);
      await core.files.add({
        fileId: file.filename,
        fileName: name,
        contentType: cleanType(file.mimetype),
        size: file.size,
        userId: uploaderOf ? uploaderOf(req) : userIdParam(p, "user_id", { err: ImError.badParam, optional: true }) || null,
        createdAt: Date.now(),
      });
      const out = UPLOADS[variant](file.filename, name);
      if ("text" in out) res.type("text/plain; charset=utf-8").send(out.text);
      // The JSON answers also carry a signed URL the caller may hand to an end user's client,
      // which can fetch the file with it and without the API secret until fileUrlExpires.
      else if (urls) ok(res, { ...out.json, fileUrl: urls.url(file.filename), fileUrlExpires: Math.floor(Date.now() / 1000) + urls.ttlS });
      else ok(res, out.json);
    } catch (err) {
      // Removed before the answer, so "nothing is kept" holds once the client has it.
      if (file) await unlink(file.path).catch(() => {});
      answerError(res, err);
    }
  };

  const download: RequestHandler = async (req, res) => {
    try {
      const p = paramsOf(req);
      const fileId = text(p, "fileId", { max: 64 }) || text(p, "file_id", { max: 64 });
      if (fileId === "") throw ImError.badParam("fileId is empty");
      const meta = TLIM_FILE_ID.test(fileId) ? await core.files.get(fileId) : null;
      if (!meta) throw ImError.recordNotFound(`file '${fileId.slice(0, 64)}' does not exist`);
      sendStored(res, opts.dir, meta, cleanName(text(p, "fileName", { max: 1024 }) || meta.fileName));
    } catch (err) {
      answerError(res, err);
    }
  };

  return { ...Object.fromEntries(Object.keys(UPLOADS).map((v) => [v, upload(v as keyof typeof UPLOADS)])), download };
}

/**
 * GET /plugins/tlim/file/<fileId>?exp=&sig= (docs/http-api.md "Credentials"): the file, without
 * the API secret, while the signature holds and `exp` has not passed. A wrong or expired URL is
 * 403 error-011 with the reason; an unknown file 404 error-018.
 */
export function signedFileHandler(core: ImCore, dir: string, urls: FileUrlSigner): RequestHandler {
  return async (req, res) => {
    try {
      const fileId = String(req.params.fileId ?? "");
      if (!TLIM_FILE_ID.test(fileId)) throw ImError.recordNotFound("not a tlim file id (32 hex digits)");
      const q = req.query as Record<string, unknown>;
      const check = urls.verify(fileId, typeof q.exp === "string" ? q.exp : undefined, typeof q.sig === "string" ? q.sig : undefined);
      if (!check.ok) {
        res.type("application/json; charset=utf-8");
        return fail(res, ImError.forbidden(check.reason), {}, 403);
      }
      const meta = await core.files.get(fileId);
      if (!meta) throw ImError.recordNotFound(`file '${fileId}' does not exist`);
      // Valid for a while and the same bytes for ever: a browser may keep it until the URL expires.
      res.setHeader("Cache-Control", `private, max-age=${Math.max(0, Number(q.exp) - Math.floor(Date.now() / 1000))}`);
      sendStored(res, dir, meta, meta.fileName);
    } catch (err) {
      answerError(res, err);
    }
  };
}

function sendStored(res: Response, dir: string, meta: StoredFile, name: string): void {
  res.setHeader("Content-Type", meta.contentType);
  res.setHeader("Content-Disposition", disposition(INLINE.test(meta.contentType) ? "inline" : "attachment", name));
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.sendFile(meta.fileId, { root: dir, dotfiles: "deny" }, (err) => {
    if (err && !res.headersSent) answerError(res, ImError.recordNotFound(`file '${meta.fileId}' is gone from the file directory`));
  });
}

/** File endpoints answer errors with a 4xx status as well: their success is not always JSON. */
function answerError(res: Response, err: unknown): void {
  if (!(err instanceof ImError)) throw err;
  const status = err.info === ERROR_CATALOGUE.tooLarge ? 413 : err.info === ERROR_CATALOGUE.recordNotFound ? 404 : 400;
  res.type("application/json; charset=utf-8");
  fail(res, err, {}, status);
}
