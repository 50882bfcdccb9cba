// Codes whose own behaviour (read receipts, revoke, dissolve) is not built yet. They are refused
// with a clear reason instead of being mistaken for content by the MTT/MTS fallbacks.
import { ImError } from "../../protocol/errors.js";
import type { MessageHandler } from "./handler.js";

export const notBuilt: MessageHandler = {
  types: ["MTT-100", "MTT-101", "MTS-100", "MTS-101", "MTS-107"],
  async handle(_ctx, inbound) {
    throw ImError.unsupported(`msg_type '${inbound.envelope.msg_type}' is not supported by this server yet`);
  },
};
