// The one table of message handlers. Duplicate registrations are a start-up error, so two
// modules can never silently compete for a code.
import { chatContent } from "./handlers/chat-content.js";
import type { MessageHandler } from "./handlers/handler.js";
import { dissolve } from "./handlers/dissolve.js";
import { passThrough } from "./handlers/pass-through.js";
import { readReceipt } from "./handlers/read-receipt.js";
import { revoke } from "./handlers/revoke.js";
import { sessionContent } from "./handlers/session-content.js";

export const HANDLERS: readonly MessageHandler[] = [chatContent, sessionContent, readReceipt, revoke, dissolve, passThrough];

export class HandlerRegistry {
  private readonly table = new Map<string, MessageHandler>();

  constructor(handlers: readonly MessageHandler[] = HANDLERS) {
    for (const h of handlers) {
      for (const t of h.types) {
        if (this.table.has(t)) throw new Error(`msg_type '${t}' is registered twice`);
        this.table.set(t, h);
      }
    }
  }

  /** Exact code first, then the class fallback (`MTT-*`), as the original dispatched. */
  lookup(msgType: string, msgClass: string): MessageHandler | undefined {
    return this.table.get(msgType) ?? this.table.get(`${msgClass}-*`);
  }

  codes(): string[] {
    return [...this.table.keys()];
  }
}
