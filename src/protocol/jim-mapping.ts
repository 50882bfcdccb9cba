// J-IM chat bodies <-> tlim envelopes (docs/jim-gateway.md "Message mapping"). Pure.
//
// A J-IM private chat is a tlim 1:1 message (MTT-*), a group chat is a session message (MTS-*)
// whose session is the J-IM groupId. `msgType` picks the code; `content` becomes the body
// element's text or file reference.
import type { StoredMessage } from "../store/types.js";
import type { BodyItem, Envelope } from "./envelope.js";
import { signedFileIdOf } from "./file-ids.js";
import { addressId, IdError, messageId } from "./ids.js";
import type { ChatRequest, recallSchema } from "./jim-commands.js";
import type { z } from "zod";

type RecallRequest = z.output<typeof recallSchema>;

/** Output dialect of one connection (docs/jim-gateway.md "Decisions", 1): v3 camelCase, or v2 (`group_id`, User `id`). */
export type Dialect = "v2" | "v3";

export const ChatType = { UNKNOWN: 0, GROUP: 1, PRIVATE: 2 } as const;
export const MsgType = { TEXT: 0, IMAGE: 1, VOICE: 2, VIDEO: 3, MUSIC: 4, NEWS: 5, FILE: 6 } as const;

/** The tlim code suffix and whether the element is a file reference, per J-IM msgType. */
const IN: Record<number, { code: string; file: boolean; keep?: boolean }> = {
  [MsgType.TEXT]: { code: "000", file: false },
  [MsgType.IMAGE]: { code: "001", file: true },
  [MsgType.VOICE]: { code: "003", file: true },
  [MsgType.VIDEO]: { code: "002", file: true, keep: true },
  [MsgType.MUSIC]: { code: "002", file: true, keep: true },
  [MsgType.NEWS]: { code: "000", file: false, keep: true },
  [MsgType.FILE]: { code: "002", file: true },
};

/** A J-IM chat that cannot become an envelope: answered with 10002 and this reason. */
export class ChatRefusal extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = "ChatRefusal";
  }
}

const MAX_ID = 64;

/**
 * An id from a J-IM client through protocol/ids.ts (user and group ids validated and folded,
 * message ids validated); its IdError becomes a ChatRefusal naming the field and the rule,
 * never the value.
 */
function checked(rule: (raw: string, field: string) => string, raw: string, field: string): string {
  try {
    return rule(raw, field);
  } catch (err) {
    if (err instanceof IdError) throw new ChatRefusal(err.message);
    throw err;
  }
}

/**
 * The envelope of a J-IM chat sent by `sender` (a folded user id). `from` must be the sender (or
 * absent); the message id is the J-IM `id` when given, else `newId`. Throws ChatRefusal.
 */
export function chatToEnvelope(req: ChatRequest, sender: string, now: number, newId: string): Envelope {
  const from = (req.from ?? "").trim();
  if (from !== "" && checked(addressId, from, "from") !== sender) {
    throw new ChatRefusal(`from is not the logged-in user '${sender}'`);
  }
  const chatType = req.chatType;
  if (chatType !== ChatType.GROUP && chatType !== ChatType.PRIVATE) {
    throw new ChatRefusal(`chatType must be 1 (group) or 2 (private), got ${chatType ?? "nothing"}`);
  }
  const field = chatType === ChatType.GROUP ? "groupId" : "to";
  const raw = chatType === ChatType.GROUP ? (req.groupId ?? "").trim() : (req.to ?? "").trim();
  if (raw === "") throw new ChatRefusal(`${field} is empty`);
  const target = checked(addressId, raw, field);
  const given = (req.id ?? "").trim();
  const id = given === "" ? newId : checked(messageId, given, "id");
  const msgType = req.msgType ?? MsgType.TEXT;
  const kind = IN[msgType];
  if (!kind) throw new ChatRefusal(`msgType ${msgType} is not one of 0..6`);
  const item: BodyItem = chatType === ChatType.GROUP ? { session_id: target } : {};
  Object.assign(item, kind.file ? fileElement(req.content ?? "") : { text: req.content ?? "" });
  if (kind.keep) item.jimMsgType = msgType;
  if (req.extras) item.extras = req.extras;
  return {
    compress: "0", encode: "0", encrypt: "0", version: "2.1.0",
    msg_from: sender,
    msg_to: target,
    msg_id: id,
    msg_type: `${chatType === ChatType.GROUP ? "MTS" : "MTT"}-${kind.code}`,
    msg_time: String(req.createTime ?? now),
    body: [item],
  };
}

/**
 * The tlim revoke (MTT-101 / MTS-101) of a J-IM recall (15, x-im body: docs/jim-gateway.md "Recall (15 → 16)"): `id` names
 * the message, `chatType` with `to` or `groupId` where it was sent. Throws ChatRefusal.
 */
export function recallToEnvelope(req: RecallRequest, sender: string, now: number, newId: string): Envelope {
  const given = (req.id ?? "").trim();
  if (given === "") throw new ChatRefusal("id (the message to recall) is empty");
  const id = checked(messageId, given, "id");
  const group = req.chatType === ChatType.GROUP || (req.chatType === undefined && (req.groupId ?? "") !== "");
  const raw = (group ? req.groupId ?? "" : req.to ?? "").trim();
  if (raw === "") throw new ChatRefusal(group ? "groupId is empty" : "to is empty");
  const target = checked(addressId, raw, group ? "groupId" : "to");
  return {
    compress: "0", encode: "0", encrypt: "0", version: "2.1.0",
    msg_from: sender,
    msg_to: target,
    msg_id: newId,
    msg_type: group ? "MTS-101" : "MTT-101",
    msg_time: String(now),
    body: [group ? { session_id: target, msg_id: id } : { msg_id: id }],
  };
}

/**
 * A file reference: the tlim fileId itself (at most 64 characters, as tlim clients send it), or
 * a URL, kept as `url`, whose fileId is its `fileId=` parameter or the URL itself when short.
 */
function fileElement(content: string): BodyItem {
  const text = content.trim();
  if (text === "") throw new ChatRefusal("content (the file reference) is empty");
  // A signed tlim file URL (docs/http-api.md "Credentials") expires: only its file id is kept, and
  // every recipient is handed a fresh URL with the message.
  const signed = signedFileIdOf(text);
  if (signed) return { fileId: signed };
  const param = /[?&]fileId=([^&#]+)/.exec(text)?.[1];
  if (param) return { fileId: decodedParam(param).slice(0, MAX_ID), url: text };
  if (text.length > MAX_ID) throw new ChatRefusal(`file reference is longer than ${MAX_ID} characters and has no fileId= parameter`);
  return /^[a-z][a-z0-9+.-]*:\/\/|^\//i.test(text) ? { fileId: text, url: text } : { fileId: text };
}

/** The columns of a stored message the mapping reads. */
/** A URL parameter decoded; a malformed %-escape is a refusal, not an internal error. */
function decodedParam(param: string): string {
  try {
    return decodeURIComponent(param);
  } catch {
    throw new ChatRefusal("the fileId= parameter of the file reference is not valid URL encoding");
  }
}

export type MessageView = Pick<StoredMessage, "msgId" | "msgFrom" | "msgTo" | "msgType" | "msgTime" | "body" | "sessionId" | "createdAt" | "hidden">;

export type JimView =
  /** A chat (push command 11, or an element of a command-20 list). */
  | { kind: "chat"; chat: Record<string, unknown>; createTime: number }
  /** A tlim revoke: one command-15 push per recalled id. */
  | { kind: "recall"; recalls: Array<Record<string, unknown>> }
  /** Nothing a J-IM client can show (read receipts). */
  | { kind: "none" };

const OUT: Record<string, number> = { "000": MsgType.TEXT, "001": MsgType.IMAGE, "002": MsgType.FILE, "003": MsgType.VOICE };

/** createTime shown to J-IM: the sender's time when it is epoch ms, else the commit time. */
export function createTimeOf(m: Pick<MessageView, "msgTime" | "createdAt">): number {
  return /^\d{1,15}$/.test(m.msgTime) ? Number(m.msgTime) : m.createdAt;
}

export interface JimMappingOptions {
  /**
   * The file reference a J-IM client is given for a file message's `url` (else `fileId`): a fresh
   * signed URL when it names one of tlim's own files, else the reference unchanged.
   */
  fileUrl?: (ref: string) => string;
}

export function messageToJim(m: MessageView, dialect: Dialect, opts: JimMappingOptions = {}): JimView {
  if (m.hidden) return { kind: "none" };
  const body = parseBody(m.body);
  const group = m.sessionId !== null;
  const where: Record<string, unknown> = group
    ? { chatType: ChatType.GROUP, [dialect === "v2" ? "group_id" : "groupId"]: m.sessionId }
    : { chatType: ChatType.PRIVATE, to: m.msgTo };
  const suffix = m.msgType.slice(4);
  if (suffix === "101") {
    const recalls = body
      .map((item) => (typeof item.msg_id === "string" ? item.msg_id : null))
      .filter((id): id is string => id !== null)
      .map((id) => ({ ...where, cmd: 15, from: m.msgFrom, id, createTime: createTimeOf(m) }));
    return { kind: "recall", recalls };
  }
  const first = body[0] ?? {};
  const extras = isObject(first.extras) ? { ...first.extras } : undefined;
  const createTime = createTimeOf(m);
  const base = { ...where, cmd: 11, id: m.msgId, from: m.msgFrom, createTime };
  const content = m.msgType.startsWith("MTT-") || m.msgType.startsWith("MTS-") ? OUT[suffix] : undefined;
  if (content !== undefined) {
    const kept = typeof first.jimMsgType === "number" ? first.jimMsgType : content;
    const ref = content === MsgType.TEXT ? "" : str(first.url) || str(first.fileId) || str(first.file_id);
    const text = content === MsgType.TEXT ? str(first.text) : ref !== "" && opts.fileUrl ? opts.fileUrl(ref) : ref;
    return { kind: "chat", chat: { ...base, msgType: kept, content: text, extras }, createTime };
  }
  // Notices, business and other types: readable text where there is one, and the whole tlim
  // message in extras.tlim so a client that knows tlim loses nothing.
  const text = str(first.text) || JSON.stringify(body);
  return { kind: "chat", chat: { ...base, msgType: MsgType.TEXT, content: text, extras: { ...extras, tlim: { msg_type: m.msgType, body } } }, createTime };
}

function parseBody(text: string): BodyItem[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? (v.filter(isObject) as BodyItem[]) : [];
  } catch {
    return [];
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}
