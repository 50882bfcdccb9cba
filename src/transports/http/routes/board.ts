// The session notice board ("pubact") and per-user styles (docs/http-api.md "Notice board and
// styles"). Board ids are UUIDs and work for modify/delete (the original parsed them as numbers).
import { ImError } from "../../../protocol/errors.js";
import { intParam, ok, sessionIdParam, text, userIdParam } from "../conventions.js";
import type { Route } from "../routes.js";

/** The original's columns: title varchar(256), content varchar(3920). */
const TITLE_MAX = 256;
const CONTENT_MAX = 3920;

const pubactId = (p: Record<string, string>) => text(p, "id_", { max: 64, required: ImError.badParam });

export const boardRoutes: Record<string, Route> = {
  async addPubact({ core }, p, res) {
    const sessionId = sessionIdParam(p, "session_id", { err: ImError.sessionIdEmpty });
    const userId = userIdParam(p, "user_id", { err: ImError.userIdEmpty });
    const title = text(p, "title", { max: TITLE_MAX });
    const content = text(p, "content", { max: CONTENT_MAX });
    if (title === "" && content === "") throw ImError.badParam("title and content are both empty");
    const entry = await core.board.add({ sessionId, userId, title, content });
    ok(res, { id_: entry.id, ts: entry.ts });
  },

  async findPubactList({ core }, p, res) {
    const sessionId = sessionIdParam(p, "session_id", { err: ImError.sessionIdEmpty });
    const list = await core.board.list(sessionId);
    ok(res, { pubactList: list.map((x) => ({ id_: x.id, title: x.title, content: x.content, user_id: x.userId, ts: x.ts, session_id: x.sessionId })) });
  },

  async modifyPubact({ core }, p, res) {
    const id = pubactId(p);
    const title = p.title === undefined ? undefined : text(p, "title", { max: TITLE_MAX });
    const content = p.content === undefined ? undefined : text(p, "content", { max: CONTENT_MAX });
    if (title === undefined && content === undefined) throw ImError.badParam("nothing to change: give title and/or content");
    await core.board.update(id, { title, content });
    ok(res, { id_: id });
  },

  async deletePubact({ core }, p, res) {
    const id = pubactId(p);
    await core.board.delete(id);
    ok(res, { id_: id });
  },

  /** Sets a user's style (upsert by style_name and user_id). */
  async addStyle({ core }, p, res) {
    const userId = userIdParam(p, "user_id", { err: ImError.userIdEmpty });
    const styleName = text(p, "style_name", { max: 64, required: ImError.badParam });
    const style = await core.directory.putStyle(userId, styleName, intParam(p, "style_value", 0));
    ok(res, { style_id: style.styleId, style_name: style.styleName, style_value: style.styleValue, user_id: style.userId });
  },

  async findStyleList({ core }, p, res) {
    const userId = userIdParam(p, "user_id", { err: ImError.userIdEmpty });
    const list = await core.directory.styles(userId);
    ok(res, { ofStyleList: list.map((s) => ({ style_id: s.styleId, style_name: s.styleName, style_value: s.styleValue, user_id: s.userId })) });
  },
};
