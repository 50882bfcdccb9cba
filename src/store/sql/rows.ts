// Column lists, row readers and writers, and small helpers shared by the SQL store's files
// (sqlStore.ts, commit.ts, retention.ts). Plain data: no database is named here.
import type { Row } from "./dialect.js";
import type { Member, ReadMark, Session, SessionChanges, StoredMessage, Style, User } from "../types.js";

export const MSG_COLS = [
  "conv_id", "seq", "msg_id", "msg_from", "msg_to", "msg_type", "msg_time", "body", "session_id",
  "compress", "encode", "encrypt", "version", "created_at", "revoked", "hidden",
] as const;
export const MSG_SELECT = MSG_COLS.map((c) => `m.${c}`).join(", ");
export const INBOX_COLS = ["user_id", "seq", "conv_id", "conv_seq", "created_at"] as const;
export const CURSOR_COLS = ["user_id", "device", "acked_seq", "updated_at"] as const;
export const ONLINE_COLS = ["user_id", "resource", "via", "updated_at"] as const;
export const SESSION_COLS = [
  "session_id", "session_type", "session_name", "session_user", "session_pic", "session_valid",
  "session_create_time", "session_modify_time", "session_delete_time",
] as const;
export const MEMBER_COLS = ["session_id", "user_id", "user_name", "acct_login", "pic", "ts"] as const;
export const READ_COLS = ["author", "msg_id", "reader", "status", "conv_id", "updated_at"] as const;
export const CHAT_COLS = ["user_id", "peer_id", "created_at", "updated_at"] as const;
export const USER_COLS = ["user_id", "user_name", "acct_login", "user_email", "pic_url", "app_push_code", "updated_at"] as const;
export const PUBACT_COLS = ["id", "title", "content", "user_id", "ts", "session_id"] as const;
export const STYLE_COLS = ["style_id", "style_name", "style_value", "user_id"] as const;
export const FILE_COLS = ["file_id", "file_name", "content_type", "size", "user_id", "created_at"] as const;
/** SessionChanges field → column. */
export const SESSION_CHANGE_COLS: Record<keyof SessionChanges, string> = {
  sessionName: "session_name",
  sessionPic: "session_pic",
  sessionValid: "session_valid",
  sessionModifyTime: "session_modify_time",
};


/** Rows per IN (…) list (Oracle refuses more than 1,000; SQL Server counts 2,100 parameters). */
export const IN_CHUNK = 500;



export function msgKey(msgFrom: string, msgId: string): string {
  return `${msgFrom}\u0000${msgId}`;
}

export function readKey(author: string, msgId: string, reader: string): string {
  return `${author}\u0000${msgId}\u0000${reader}`;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `?, ?, …` for an IN list of n values. */
export function marks(n: number): string {
  return new Array(n).fill("?").join(", ");
}

export function dedupeBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  return [...new Map(items.map((t) => [key(t), t])).values()];
}

export function sortedUnique(ids: readonly string[]): string[] {
  // Plain code-unit order; any total order works as long as every writer uses the same one.
  return [...new Set(ids)].sort(cmp);
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}



/** bigint columns come back as numbers from both drivers; Number() also covers COUNT(*) etc. */
export function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

/** NULL reads as "": Oracle stores '' as NULL (adapters/oracle.ts). */
export function str(v: unknown): string {
  return v === null || v === undefined ? "" : String(v);
}

export function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function messageValues(m: StoredMessage): unknown[] {
  return [
    m.convId, m.seq, m.msgId, m.msgFrom, m.msgTo, m.msgType, m.msgTime, m.body, m.sessionId,
    m.compress, m.encode, m.encrypt, m.version, m.createdAt, m.revoked ? 1 : 0, m.hidden ? 1 : 0,
  ];
}

export function toMessage(r: Row): StoredMessage {
  return {
    convId: str(r.conv_id),
    seq: num(r.seq),
    msgId: str(r.msg_id),
    msgFrom: str(r.msg_from),
    msgTo: str(r.msg_to),
    msgType: str(r.msg_type),
    msgTime: str(r.msg_time),
    body: str(r.body),
    sessionId: strOrNull(r.session_id),
    compress: str(r.compress),
    encode: str(r.encode),
    encrypt: str(r.encrypt),
    version: str(r.version),
    createdAt: num(r.created_at),
    revoked: num(r.revoked) !== 0,
    hidden: num(r.hidden) !== 0,
  };
}

export function toReadMark(r: Row): ReadMark {
  return {
    author: str(r.author),
    msgId: str(r.msg_id),
    reader: str(r.reader),
    status: num(r.status),
    updatedAt: num(r.updated_at),
  };
}

export function sessionValues(s: Session): unknown[] {
  return [
    s.sessionId, s.sessionType, s.sessionName, s.sessionUser, s.sessionPic, s.sessionValid,
    s.sessionCreateTime, s.sessionModifyTime, s.sessionDeleteTime,
  ];
}

export function toSession(r: Row): Session {
  return {
    sessionId: str(r.session_id),
    sessionType: num(r.session_type),
    sessionName: str(r.session_name),
    sessionUser: str(r.session_user),
    sessionPic: strOrNull(r.session_pic),
    sessionValid: num(r.session_valid),
    sessionCreateTime: str(r.session_create_time),
    sessionModifyTime: strOrNull(r.session_modify_time),
    sessionDeleteTime: strOrNull(r.session_delete_time),
  };
}

export function userValues(u: User): unknown[] {
  return [u.userId, u.userName, u.acctLogin, u.userEmail, u.picUrl, u.appPushCode, u.updatedAt];
}

export function toUser(r: Row): User {
  return {
    userId: str(r.user_id),
    userName: str(r.user_name),
    acctLogin: str(r.acct_login),
    userEmail: strOrNull(r.user_email),
    picUrl: strOrNull(r.pic_url),
    appPushCode: strOrNull(r.app_push_code),
    updatedAt: num(r.updated_at),
  };
}

export function toStyle(r: Row): Style {
  return { styleId: str(r.style_id), styleName: str(r.style_name), styleValue: num(r.style_value), userId: str(r.user_id) };
}

export function memberValues(m: Member): unknown[] {
  return [m.sessionId, m.userId, m.userName, m.acctLogin, m.pic, m.ts];
}

export function toMember(r: Row): Member {
  return {
    sessionId: str(r.session_id),
    userId: str(r.user_id),
    userName: str(r.user_name),
    acctLogin: str(r.acct_login),
    pic: strOrNull(r.pic),
    ts: str(r.ts),
  };
}
