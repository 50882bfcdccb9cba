// Pass-through (docs/protocol.md "Every msg_type"): MTC-* and client-sent MTB-* reach the addressee with no side
// effects: not stored, not queued.
import type { MessageHandler } from "./handler.js";
import { resolvePeer } from "./chat-content.js";

export const passThrough: MessageHandler = {
  types: ["MTC-*", "MTB-*"],
  async handle(_ctx, inbound) {
    return { kind: "passed", to: resolvePeer(inbound), envelope: inbound.envelope };
  },
};
