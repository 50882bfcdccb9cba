// Messages the server makes or changes (docs/http-api.md "Business pushes", "Offline",
// "Messages"): business pushes, the offline pull, revoke and clear. Everything stored goes
// through the core's writer, the same path as XMPP.
import { ImError } from "../../../protocol/errors.js";
import { intParam, msgIdParam, ok, text, userIdParam, type Params } from "../conventions.js";
import type { Route, RouteContext } from "../routes.js";
import { offlineRow } from "./shapes.js";

const OFFLINE_PAGE = 1000;
/** The device class whose cursor says "the web client has it" (msg_status 1, docs/http-api.md "getOffline"). */
const WEB_DEVICE = "[web]";

/** approval / approvalBack / systemMessage (docs/http-api.md "Business pushes"): stored and delivered through the core;
 * the answer says whether it was accepted (the original always said "ok"). */
async function business({ core }: RouteContext, type: "MTB-000" | "MTB-001" | "MTB-100", p: Params, res: Parameters<Route>[2]): Promise<void> {
  // The original read only `msgTo`; legacy docs spell it msg_to.
  const name = p.msgTo !== undefined || p.msg_to === undefined ? "msgTo" : "msg_to";
  const to = userIdParam(p, name, { err: ImError.userIdEmpty, empty: () => ImError.userIdEmpty("msgTo is empty") });
  const params = (p.params ?? "").trim();
  if (params === "") throw ImError.bodyInvalid("params is empty");
  const m = await core.messaging.business(type, to, params);
  ok(res, { msg_id: m.msgId, msg_type: m.msgType, msg_time: m.msgTime });
}

export const messageRoutes: Record<string, Route> = {
  approval: (ctx, p, res) => business(ctx, "MTB-000", p, res),
  approvalBack: (ctx, p, res) => business(ctx, "MTB-001", p, res),
  systemMessage: (ctx, p, res) => business(ctx, "MTB-100", p, res),

  /**
   * The offline pull (docs/http-api.md "getOffline") on the user's inbox, with the device `http` (or `device=`): the
   * entries after `msg_id` (or after the device's cursor), oldest first; clearing (unless
   * getThenClear=1) moves the device's cursor past what was returned and deletes nothing.
   */
  async getOffline({ core }, p, res) {
    const userId = userIdParam(p, "user_id", { err: ImError.userIdEmpty, empty: () => ImError.userIdEmpty("user_id为空 (user_id is empty)") });
    const clear = (p.getThenClear ?? "").trim() !== "1";
    const device = text(p, "device", { max: 128 }) || "http";
    const watermark = msgIdParam(p, "msg_id", { err: ImError.badParam, optional: true });
    const items = await core.messaging.offline(userId, device, watermark, clear, intParam(p, "length", OFFLINE_PAGE));
    const webSeq = items.length === 0 ? 0 : ((await core.cursors.all(userId))[WEB_DEVICE] ?? 0);
    ok(res, { message_list: items.map((i) => offlineRow(i, webSeq)) });
  },

  /** Deletes the 1:1 history of two users (docs/http-api.md "clearChatHistory"); nobody is notified. */
  async clearChatHistory({ core }, p, res) {
    const userId = userIdParam(p, "user_id", { err: ImError.userIdEmpty, empty: () => ImError.userIdEmpty("user_id为空 (user_id is empty)") });
    const otherId = userIdParam(p, "other_id", { err: ImError.userIdEmpty });
    const deleted = await core.messaging.clearChat(userId, otherId);
    ok(res, { user_id: userId, other_id: otherId, deleted });
  },

  /** Revokes a message and notifies like an XMPP revoke (docs/http-api.md "revokeMessage"; the original only deleted). */
  async revokeMessage({ core }, p, res) {
    const msgId = msgIdParam(p, "msg_id", { err: ImError.bodyInvalid });
    const from = userIdParam(p, "msg_from", { err: ImError.badParam, optional: true });
    const { target, notice } = await core.messaging.revoke(msgId, from === "" ? null : from);
    if (!notice) return ok(res, { msg_id: msgId, msg_from: target.msgFrom });
    ok(res, { msg_id: msgId, msg_from: target.msgFrom, notice_msg_id: notice.msgId, notice_msg_type: notice.msgType });
  },
};
