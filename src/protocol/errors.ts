// The error catalogue (docs/protocol.md "Errors", docs/http-api.md "Error codes"). Replies are built from these named
// constructors so a code, its XMPP condition and its text never drift apart.

export type ErrorType = "modify" | "cancel" | "auth" | "wait";

export interface ErrorInfo {
  /** tlim code sent as the error stanza's body text and as HTTP `result`. */
  readonly code: string;
  /** RFC 6120 §8.3.3 defined condition. */
  readonly condition: string;
  readonly type: ErrorType;
  /** What the code means in the original docs. */
  readonly meaning: string;
}

export const ERROR_CATALOGUE = {
  bodyInvalid: { code: "error-000", condition: "bad-request", type: "modify", meaning: "body empty or invalid" },
  msgTypeInvalid: { code: "error-001", condition: "bad-request", type: "modify", meaning: "msg_type empty or invalid" },
  sessionTypeInvalid: { code: "error-002", condition: "bad-request", type: "modify", meaning: "session_type empty or invalid" },
  sessionNameEmpty: { code: "error-003", condition: "bad-request", type: "modify", meaning: "session_name empty" },
  sessionUserInvalid: { code: "error-004", condition: "bad-request", type: "modify", meaning: "session_user empty or not existing" },
  jsonInvalid: { code: "error-005", condition: "bad-request", type: "modify", meaning: "JSON parse failure" },
  bodyNotArray: { code: "error-006", condition: "bad-request", type: "modify", meaning: "body is not a valid array" },
  sessionIdEmpty: { code: "error-007", condition: "bad-request", type: "modify", meaning: "session_id empty" },
  userIdEmpty: { code: "error-008", condition: "bad-request", type: "modify", meaning: "user_id empty" },
  sessionNotFound: { code: "error-009", condition: "item-not-found", type: "cancel", meaning: "session does not exist" },
  addSessionFailed: { code: "error-010", condition: "internal-server-error", type: "wait", meaning: "addSession failed" },
  // Codes tlim adds for refusals the original never made (it trusted every sender).
  forbidden: { code: "error-011", condition: "forbidden", type: "auth", meaning: "sender is not allowed to do this" },
  notMember: { code: "error-012", condition: "forbidden", type: "auth", meaning: "sender is not a member of the session" },
  tooLarge: { code: "error-013", condition: "policy-violation", type: "modify", meaning: "message too large" },
  unauthorized: { code: "error-014", condition: "not-authorized", type: "auth", meaning: "missing or wrong API secret" },
  unsupported: { code: "error-015", condition: "feature-not-implemented", type: "cancel", meaning: "msg_type not supported" },
  notFound: { code: "error-017", condition: "item-not-found", type: "cancel", meaning: "the referenced message does not exist" },
  badParam: { code: "error-016", condition: "bad-request", type: "modify", meaning: "a parameter is invalid" },
  recordNotFound: { code: "error-018", condition: "item-not-found", type: "cancel", meaning: "the referenced record (file, board entry) does not exist" },
  provisionFailed: { code: "error-019", condition: "service-unavailable", type: "wait", meaning: "the XMPP server did not create or delete the account (XEP-0133)" },
  // Load limits (docs/reliability.md "Bounded"): nothing was stored; send again later.
  rateLimited: { code: "error-020", condition: "resource-constraint", type: "wait", meaning: "the sender is sending too fast; retry later" },
  overloaded: { code: "error-021", condition: "resource-constraint", type: "wait", meaning: "the server is busy (write queue full or database unavailable); retry later" },
  internal: { code: "error-500", condition: "internal-server-error", type: "wait", meaning: "internal error, try again" },
} as const satisfies Record<string, ErrorInfo>;

export type ErrorKind = keyof typeof ERROR_CATALOGUE;

/** An expected refusal: carries a catalogue entry and a readable reason. */
export class ImError extends Error {
  readonly info: ErrorInfo;
  constructor(kind: ErrorKind, detail: string) {
    super(detail);
    this.name = "ImError";
    this.info = ERROR_CATALOGUE[kind];
  }
  get code(): string {
    return this.info.code;
  }

  static bodyInvalid(detail: string) { return new ImError("bodyInvalid", detail); }
  static msgTypeInvalid(detail: string) { return new ImError("msgTypeInvalid", detail); }
  static jsonInvalid(detail: string) { return new ImError("jsonInvalid", detail); }
  static bodyNotArray(detail: string) { return new ImError("bodyNotArray", detail); }
  static sessionIdEmpty(detail = "session_id is empty") { return new ImError("sessionIdEmpty", detail); }
  static userIdEmpty(detail = "user_id is empty") { return new ImError("userIdEmpty", detail); }
  static sessionNotFound(id: string) { return new ImError("sessionNotFound", `session '${id}' does not exist`); }
  static forbidden(detail: string) { return new ImError("forbidden", detail); }
  static notMember(user: string, session: string) {
    return new ImError("notMember", `'${user}' is not a member of session '${session}'`);
  }
  static tooLarge(detail: string) { return new ImError("tooLarge", detail); }
  static unauthorized(detail = "missing or wrong API secret") { return new ImError("unauthorized", detail); }
  static unsupported(detail: string) { return new ImError("unsupported", detail); }
  static notFound(detail: string) { return new ImError("notFound", detail); }
  static badParam(detail: string) { return new ImError("badParam", detail); }
  static recordNotFound(detail: string) { return new ImError("recordNotFound", detail); }
  static provisionFailed(detail: string) { return new ImError("provisionFailed", detail); }
  static sessionTypeInvalid(detail: string) { return new ImError("sessionTypeInvalid", detail); }
  static sessionUserInvalid(detail: string) { return new ImError("sessionUserInvalid", detail); }
  static rateLimited(detail: string) { return new ImError("rateLimited", detail); }
  static overloaded(detail: string) { return new ImError("overloaded", detail); }
  static internal(detail = "internal error, the message was not stored; try again") {
    return new ImError("internal", detail);
  }
}
