// What a plain XMPP client (one that does not speak the tlim envelope) shows for a stored message:
// one readable line per body element (docs/protocol.md "Plain XMPP clients"). The wording of the
// non-text kinds follows the original's notification texts (docs/protocol.md) with an English gloss.
// Pure: no I/O. Null: the message has nothing to show (a read receipt).

export interface ReadableSource {
  msgType: string;
  msgFrom: string;
  /** Compact JSON text of the body array, as stored. */
  body: string;
  sessionId: string | null;
  hidden: boolean;
}

const KIND: Record<string, string> = {
  "001": "[图片 picture]",
  "002": "[文件 file]",
  "003": "[语音 voice]",
  "004": "[会议邀请 conference invitation]",
  "101": "撤回了一条消息 (revoked a message)",
  "200": "向您发起清空消息请求 (asks to clear the history)",
  "201": "回复了清空消息请求 (answered the request to clear the history)",
};

const NOTICE: Record<string, (b: Record<string, unknown>) => string> = {
  "102": (b) => `会话改名 (session renamed)${str(b.session_name) ? `: ${str(b.session_name)}` : ""}`,
  "103": () => "成员被移除 (members removed)",
  "104": (b) => `成员退出 (member left)${str(b.user_name) || str(b.user_id) ? `: ${str(b.user_name) || str(b.user_id)}` : ""}`,
  "105": () => "会话已创建 (session created)",
  "106": () => "成员被邀请 (members invited)",
  "107": () => "会话已解散 (session dissolved)",
};

const BUSINESS: Record<string, string> = {
  "MTB-000": "收到了一条审批消息 (approval)",
  "MTB-001": "收到了一条审批退回消息 (approval returned)",
  "MTB-100": "收到一条系统消息 (system message)",
};

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

function items(body: string): Array<Record<string, unknown>> {
  try {
    const v: unknown = JSON.parse(body);
    const arr = typeof v === "string" ? (JSON.parse(v) as unknown) : v;
    return Array.isArray(arr) ? arr.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x)) : [];
  } catch {
    return [];
  }
}

/** The line(s) a plain client shows, or null for what it should not show (read receipts). */
export function readableText(m: ReadableSource): string | null {
  if (m.hidden) return null;
  const code = m.msgType.slice(4);
  const list = items(m.body);
  let text: string;
  if (BUSINESS[m.msgType]) text = BUSINESS[m.msgType]!;
  else if (code === "000") text = list.map((b) => str(b.text)).filter((t) => t !== "").join("\n") || "…";
  else if (m.msgType.startsWith("MTS-") && NOTICE[code]) text = NOTICE[code]!(list[0] ?? {});
  else if (KIND[code]) {
    const ids = list.map((b) => str(b.fileId) || str(b.file_id) || str(b.confName)).filter((x) => x !== "");
    text = ids.length > 0 && code !== "101" ? `${KIND[code]} ${ids.join(", ")}` : KIND[code]!;
  } else text = "收到了一条新消息 (new message)";
  // In a session the stanza comes from the session's address: say who wrote it.
  return m.sessionId !== null ? `${m.msgFrom}: ${text}` : text;
}
