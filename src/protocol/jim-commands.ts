// J-IM commands, status codes and request bodies (docs/jim-gateway.md "Commands"). Pure.
//
// Requests carry the command as "cmd", replies and pushes as "command". Replies are
// built from the STATUS table so a code and its text never drift apart.
import { z } from "zod";
import { addressId, IdError, tryAddressId } from "./ids.js";

export const Cmd = {
  UNKNOWN: 0,
  HANDSHAKE_REQ: 1,
  HANDSHAKE_RESP: 2,
  AUTH_REQ: 3,
  AUTH_RESP: 4,
  LOGIN_REQ: 5,
  LOGIN_RESP: 6,
  JOIN_GROUP_REQ: 7,
  JOIN_GROUP_RESP: 8,
  JOIN_GROUP_NOTIFY: 9,
  EXIT_GROUP_NOTIFY: 10,
  CHAT: 11,
  CHAT_RESP: 12,
  HEARTBEAT: 13,
  CLOSE: 14,
  CANCEL_MSG_REQ: 15,
  CANCEL_MSG_RESP: 16,
  GET_USER_REQ: 17,
  GET_USER_RESP: 18,
  GET_MESSAGE_REQ: 19,
  GET_MESSAGE_RESP: 20,
} as const;

/** Status codes and their exact `msg` texts, as upstream J-IM servers send them. */
export const STATUS = {
  10000: "ok 发送成功",
  10001: "offline 用户不在线",
  10002: "send failed 消息发送失败,数据格式不正确,请参考:{'from':来源ID,'to':目标ID,'cmd':'消息命令码','createTime':消息创建时间(Long型),'msgType':Integer消息类型,'content':内容}",
  10003: "ok 获取用户信息成功!",
  10004: "get user failed ! 获取用户信息失败!",
  10005: "ok 获取所有在线用户信息成功!",
  10006: "ok 获取所有离线用户信息成功!",
  10007: "ok 登录成功!",
  10008: "login failed ! 登录失败!",
  10009: "ok 鉴权成功!",
  10010: "auth failed! 鉴权失败!",
  10011: "join group ok! 加入群组成功!",
  10012: "join group failed! 加入群组失败!",
  10013: "Protocol version number does not match 协议版本号不匹配!",
  10014: "unsupported cmd command 不支持的cmd命令!",
  10015: "get user message failed! 获取用户消息失败!",
  10016: "get user message ok! 获取离线消息成功!",
  10017: "cmd failed! 未知的cmd命令!",
  10018: "get user message ok! 获取历史消息成功!",
  10019: "online 用户在线",
  10020: "Invalid verification! 不合法校验",
  10021: "close ok! 关闭成功",
} as const;

export type StatusCode = keyof typeof STATUS;

/** A reply or push as it goes on the wire (before serialisation). */
export type Packet = Record<string, unknown>;

/** `{code, command, msg, ...extra}`: a status reply. */
export function statusPacket(command: number | null, code: StatusCode, extra: Record<string, unknown> = {}): Packet {
  return { ...extra, code, ...(command === null ? {} : { command }), msg: STATUS[code] };
}

/**
 * The failure reply for an id refused by protocol/ids.ts: the command's failure code with the
 * reason in `data` (`error-000`, as tlim's "body empty or invalid"); the reason names the field
 * and the rule, never the raw value.
 */
export function idRefusal(command: number | null, code: StatusCode, err: IdError): Packet {
  return statusPacket(command, code, { data: { error: "error-000", detail: err.message } });
}

/** `{command, data}`: a pure data push (heartbeat, handshake, chat push, exit notify). */
export function dataPacket(command: number, data: unknown): Packet {
  return { command, data };
}

/** The "unknown command" reply (docs/jim-gateway.md "WebSocket"): command 0, code 10017. */
export const unknownCommandPacket = (): Packet => statusPacket(Cmd.UNKNOWN, 10017);

/**
 * JSON as fastjson (upstream's JSON library) writes it: null/undefined fields omitted, keys sorted. Clients must
 * not depend on either; it keeps our frames byte-identical to upstream's.
 */
export function jimJson(value: unknown): string {
  if (typeof value === "object" && value !== null) {
    const fixed = FIXED_JSON.get(value);
    if (fixed !== undefined) return fixed;
  }
  return JSON.stringify(sortKeys(value));
}

const FIXED_JSON = new WeakMap<object, string>();

/** A packet sent as it is, again and again (the heartbeat reply): frozen, its JSON made once. */
export function fixedPacket(packet: Packet): Packet {
  for (const v of Object.values(packet)) if (typeof v === "object" && v !== null) Object.freeze(v);
  FIXED_JSON.set(Object.freeze(packet), JSON.stringify(sortKeys(packet)));
  return packet;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined && v !== null) out[key] = sortKeys(v);
  }
  return out;
}

// ---- input leniency, as fastjson's (docs/jim-gateway.md "Commands") ----

const squash = (key: string) => key.replace(/[_-]/g, "").toLowerCase();

/**
 * Renames the keys of a request body to the canonical (v3) field names the way fastjson
 * matches them: exact, else case-insensitive with `_`/`-` removed. So `group_id`, `groupid`,
 * `userid` and `user_id` all reach `groupId`/`userId`. `aliases` adds v2-only names
 * (`loginname`). Unknown keys are kept as they are.
 */
export function canonicalKeys(raw: Record<string, unknown>, fields: readonly string[], aliases: Record<string, string> = {}): Record<string, unknown> {
  const bySquash = new Map(fields.map((f) => [squash(f), f]));
  for (const [alias, field] of Object.entries(aliases)) bySquash.set(squash(alias), field);
  const out: Record<string, unknown> = {};
  const exact = new Set(Object.keys(raw).filter((k) => fields.includes(k)));
  for (const [key, value] of Object.entries(raw)) {
    const field = exact.has(key) ? key : bySquash.get(squash(key));
    if (field === undefined) {
      out[key] = value;
      continue;
    }
    // An exact spelling wins over a lenient one when both are present.
    if (field in out && !exact.has(key)) continue;
    out[field] = value;
  }
  return out;
}

/** Numbers or numeric strings (the web demo sends `"chatType":"2"`), integers only. */
const lenientInt = z.preprocess((v) => {
  if (typeof v === "string" && /^\s*-?\d+(\.0+)?\s*$/.test(v)) return Number(v);
  return v;
}, z.number().int());

/** Any scalar as text; absent/null stays undefined. */
const lenientText = z.preprocess((v) => (typeof v === "number" || typeof v === "boolean" ? String(v) : v ?? undefined), z.string().optional());

/**
 * A user or group id (protocol/ids.ts): trimmed, validated and case-folded; blank stays blank.
 * An invalid one fails the parse, so the command answers its own failure code.
 */
const addressText = (field: string) =>
  lenientText.transform((v, ctx) => {
    const t = v?.trim();
    if (t === undefined || t === "") return v;
    try {
      return addressId(t, field);
    } catch (err) {
      if (!(err instanceof IdError)) throw err;
      ctx.addIssue({ code: "custom", message: err.message });
      return z.NEVER;
    }
  }).optional();

/** A group id that is only looked up: folded when valid, else kept (it then matches no group). */
const lookupText = lenientText.transform((v) => (v === undefined ? v : tryAddressId(v.trim()) ?? v)).optional();

const optionalInt = lenientInt.optional().nullable().transform((v) => v ?? undefined);
const extrasSchema = z.record(z.string(), z.unknown()).optional().nullable().transform((v) => v ?? undefined);

export const CHAT_FIELDS = ["id", "createTime", "cmd", "extras", "from", "to", "msgType", "chatType", "content", "groupId"] as const;
export const chatSchema = z.object({
  id: lenientText,
  createTime: optionalInt,
  extras: extrasSchema,
  from: lenientText,
  to: lenientText,
  msgType: optionalInt,
  chatType: optionalInt,
  content: lenientText,
  groupId: lenientText,
});
export type ChatRequest = z.output<typeof chatSchema>;

export const LOGIN_FIELDS = ["userId", "password", "token"] as const;
export const LOGIN_ALIASES = { loginname: "userId" } as const;
export const loginSchema = z.object({ userId: lenientText, password: lenientText, token: lenientText });

export const JOIN_FIELDS = ["groupId", "name"] as const;
export const joinSchema = z.object({ groupId: lookupText, name: lenientText });

export const CLOSE_FIELDS = ["userId"] as const;
export const closeSchema = z.object({ userId: addressText("userId") });

export const GET_USER_FIELDS = ["userId", "type"] as const;
export const getUserSchema = z.object({ userId: addressText("userId"), type: optionalInt });

export const GET_MESSAGE_FIELDS = ["userId", "fromUserId", "groupId", "type", "beginTime", "endTime", "offset", "count"] as const;
const lenientMs = z.preprocess((v) => (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : v ?? undefined), z.number().finite().optional());
export const getMessageSchema = z.object({
  userId: addressText("userId"),
  fromUserId: addressText("fromUserId"),
  groupId: addressText("groupId"),
  type: optionalInt,
  beginTime: lenientMs,
  endTime: lenientMs,
  offset: optionalInt,
  count: optionalInt,
});
export type GetMessageRequest = z.output<typeof getMessageSchema>;

/** Recall (15): the x-im body (docs/jim-gateway.md "Recall (15 → 16)"): `id` of the message, plus where it was sent. */
export const RECALL_FIELDS = ["id", "chatType", "to", "groupId"] as const;
export const recallSchema = z.object({ id: lenientText, chatType: optionalInt, to: lenientText, groupId: lenientText });

/**
 * Parses a request body with the canonical key mapping and a schema. Returns null when the body
 * is not a JSON object or does not fit (the command then answers its own failure code).
 */
export function parseRequest<S extends z.ZodType>(
  body: Record<string, unknown> | null,
  fields: readonly string[],
  schema: S,
  aliases: Record<string, string> = {},
): z.output<S> | null {
  if (body === null) return null;
  const parsed = schema.safeParse(canonicalKeys(body, fields, aliases));
  return parsed.success ? parsed.data : null;
}

/** A request body as a JSON object, or null (not JSON, or not an object). */
export function parseBodyObject(text: string): Record<string, unknown> | null {
  // Only an object is wanted: anything else (the Java client's heartbeat body is the single byte
  // 0x80) is refused without JSON.parse throwing, which costs a stack trace per request.
  if (text.trim()[0] !== "{") return null;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `"cmd"` of a WebSocket message (mandatory there, docs/jim-gateway.md "WebSocket"), or null. */
export function cmdOf(body: Record<string, unknown> | null): number | null {
  if (body === null) return null;
  const parsed = lenientInt.safeParse(body.cmd);
  return parsed.success ? parsed.data : null;
}
