import type { InboxItem } from "../store/types.js";

/**
 * The conversation an inbox entry belongs to, seen by its owner (docs/architecture.md "Conversations are named
 * by the real peer"): the
 * session id for a session message; for 1:1 the other party, also for the owner's own messages
 * (the original lost the peer id there).
 */
export function conversationNode(item: InboxItem): string {
  const m = item.message;
  if (m.sessionId !== null) return m.sessionId;
  return m.msgFrom === item.userId ? m.msgTo : m.msgFrom;
}
