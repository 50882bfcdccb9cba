// One module per msg_type family exports a MessageHandler; registry.ts puts them in one table.
import { encodeBody, type Envelope } from "../../protocol/envelope.js";
import type { CommitOutcome, NewMessage, Store } from "../../store/types.js";
import { ImError } from "../../protocol/errors.js";
import { addressId, IdError, messageId } from "../../protocol/ids.js";
import type { Inbound, SubmitResult } from "../types.js";

export interface HandlerContext {
  readonly maxTextChars: number;
  /** Revoke window in ms (TLIM_REVOKE_WINDOW_S); 0 = unlimited. */
  readonly revokeWindowMs: number;
  /** Reads only: handlers look things up, the writer changes them. */
  readonly store: Pick<Store, "findMessage" | "findMessageInConv" | "messagesByMsgId" | "sessionGet">;
  now(): number;
  /** Store-first: resolves after the commit (group commit writer). */
  commit(message: NewMessage): Promise<CommitOutcome>;
}

export interface MessageHandler {
  /** Exact codes (`MTT-000`) or a class fallback (`MTT-*`, docs/protocol.md "Every msg_type"). */
  readonly types: readonly string[];
  handle(ctx: HandlerContext, inbound: Inbound): Promise<SubmitResult>;
}

/** The stored columns every message takes from its envelope. */
export function messageColumns(env: Envelope, msgTo: string) {
  return {
    msgId: env.msg_id,
    msgFrom: env.msg_from,
    msgTo,
    msgType: env.msg_type,
    msgTime: env.msg_time,
    body: encodeBody(env.body),
    compress: env.compress,
    encode: env.encode,
    encrypt: env.encrypt,
    version: env.version,
  };
}

/** Every body element's `msg_id` (receipts and revokes handle each one, docs/protocol.md), validated
 * as message ids (docs/reliability.md "Identifiers"). */
export function bodyMsgIds(env: Envelope): string[] {
  const ids = env.body.map((item, i) => {
    const raw = typeof item.msg_id === "string" ? item.msg_id.trim() : "";
    if (raw === "") throw ImError.bodyInvalid(`body[${i}].msg_id is empty`);
    try {
      return messageId(raw, `body[${i}].msg_id`);
    } catch (err) {
      if (err instanceof IdError) throw ImError.bodyInvalid(err.message);
      throw err;
    }
  });
  return [...new Set(ids)];
}

/** A user or session id given inside a body element, validated and folded like every address. */
export function bodyAddress(raw: string, field: string): string {
  try {
    return addressId(raw.trim(), field);
  } catch (err) {
    if (err instanceof IdError) throw ImError.bodyInvalid(err.message);
    throw err;
  }
}
