// Messages the server originates (docs/protocol.md "Every msg_type": MTB-*, and the MTS-101 /
// MTS-107 notices of the HTTP API's revokeMessage and dissolved).
import { randomUUID } from "node:crypto";
import { encodeBody } from "../protocol/envelope.js";

/** The sender of server-originated messages, as in the original. */
export const SERVER_USER = "admin";

/** The columns of a message the server originates (flags "0"/"1"/"0", version 2.0.0, as the original). */
export function serverColumns(msgType: string, msgTo: string, body: Array<Record<string, unknown>>) {
  return {
    msgId: randomUUID(), msgFrom: SERVER_USER, msgTo, msgType, msgTime: String(Date.now()), body: encodeBody(body),
    compress: "0", encode: "1", encrypt: "0", version: "2.0.0",
  };
}
