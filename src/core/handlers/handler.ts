// One module per msg_type family exports a MessageHandler; registry.ts puts them in one table.
import type { Envelope } from "../../protocol/envelope.js";
import type { CommitOutcome, NewMessage } from "../../store/types.js";
import type { Inbound, SubmitResult } from "../types.js";

export interface HandlerContext {
  readonly maxTextChars: number;
  /** Store-first: resolves after the commit (group commit writer). */
  commit(message: NewMessage): Promise<CommitOutcome>;
}

export interface MessageHandler {
  /** Exact codes (`MTT-000`) or a class fallback (`MTT-*`, spec §1.3 step 4). */
  readonly types: readonly string[];
  handle(ctx: HandlerContext, inbound: Inbound): Promise<SubmitResult>;
}

/** The stored columns every message takes from its envelope. */
export function messageColumns(env: Envelope) {
  return {
    msgId: env.msg_id,
    msgFrom: env.msg_from,
    msgTo: env.msg_to,
    msgType: env.msg_type,
    msgTime: env.msg_time,
    body: JSON.stringify(env.body),
    compress: env.compress,
    encode: env.encode,
    encrypt: env.encrypt,
    version: env.version,
  };
}
