// J-IM commands, leniency and the msgType mapping (pure parts).
import { describe, expect, it } from "vitest";
import { canonicalKeys, chatSchema, CHAT_FIELDS, CLOSE_FIELDS, closeSchema, GET_MESSAGE_FIELDS, GET_USER_FIELDS, getMessageSchema, getUserSchema, idRefusal, jimJson, JOIN_FIELDS, joinSchema, LOGIN_ALIASES, LOGIN_FIELDS, loginSchema, parseRequest, STATUS, statusPacket } from "../../src/protocol/jim-commands.js";
import { IdError } from "../../src/protocol/ids.js";
import { ChatRefusal, chatToEnvelope, messageToJim, recallToEnvelope, type MessageView } from "../../src/protocol/jim-mapping.js";
import { signToken, verifyToken } from "../../src/protocol/jim-token.js";

const stored = (over: Partial<MessageView>): MessageView => ({
  msgId: "m1", msgFrom: "alice", msgTo: "bob", msgType: "MTT-000", msgTime: "1588291200000",
  body: JSON.stringify([{ text: "hi" }]), sessionId: null, createdAt: 1588291200999, hidden: false, ...over,
});

describe("J-IM statuses and JSON", () => {
  it("builds replies with upstream's exact texts, keys sorted, nulls omitted", () => {
    expect(jimJson(statusPacket(12, 10000))).toBe('{"code":10000,"command":12,"msg":"ok 发送成功"}');
    expect(jimJson(statusPacket(null, 10019))).toBe('{"code":10019,"msg":"online 用户在线"}');
    expect(jimJson({ b: null, a: { d: 1, c: undefined } })).toBe('{"a":{"d":1}}');
    expect(STATUS[10002]).toContain("send failed 消息发送失败,数据格式不正确");
    expect(STATUS[10017]).toBe("cmd failed! 未知的cmd命令!");
  });
});

describe("v2 and v3 spellings (fastjson leniency)", () => {
  it("maps group_id, userid, user_id, loginname to the v3 names", () => {
    expect(canonicalKeys({ group_id: "g", USERID: "u" }, ["groupId", "userId"])).toEqual({ groupId: "g", userId: "u" });
    expect(parseRequest({ loginname: "alice", password: "p" }, LOGIN_FIELDS, loginSchema, LOGIN_ALIASES)).toMatchObject({ userId: "alice", password: "p" });
    expect(parseRequest({ user_id: "bob" }, LOGIN_FIELDS, loginSchema)).toMatchObject({ userId: "bob" });
  });

  it("accepts numeric strings (the web demo) and ignores unknown keys", () => {
    const chat = parseRequest({ chatType: "2", msgType: "0", to: "bob", content: "x", whatever: 1 }, CHAT_FIELDS, chatSchema);
    expect(chat).toMatchObject({ chatType: 2, msgType: 0, to: "bob" });
  });

  it("returns null for a body that does not fit", () => {
    expect(parseRequest(null, CHAT_FIELDS, chatSchema)).toBeNull();
    expect(parseRequest({ chatType: "two" }, CHAT_FIELDS, chatSchema)).toBeNull();
  });
});

describe("J-IM chat -> tlim envelope", () => {
  const req = (o: Record<string, unknown>) => parseRequest(o, CHAT_FIELDS, chatSchema)!;

  it("private text -> MTT-000 to `to`, the J-IM id and createTime kept", () => {
    const env = chatToEnvelope(req({ from: "alice", to: "bob", chatType: 2, msgType: 0, content: "hi", id: "abc", createTime: 5 }), "alice", 9, "new");
    expect(env).toMatchObject({ msg_from: "alice", msg_to: "bob", msg_id: "abc", msg_type: "MTT-000", msg_time: "5", body: [{ text: "hi" }] });
  });

  it("group -> MTS-* with session_id; ids generated when absent; from may be absent", () => {
    const env = chatToEnvelope(req({ groupId: "s1", chatType: 1, msgType: 1, content: "f123" }), "alice", 9, "gen");
    expect(env).toMatchObject({ msg_to: "s1", msg_id: "gen", msg_type: "MTS-001", msg_time: "9", body: [{ session_id: "s1", fileId: "f123" }] });
  });

  it("maps msgType 1/2/6 to picture/voice/file; 3/4 to file and 5 to text, remembering the J-IM type", () => {
    const t = (msgType: number, content = "f1") => chatToEnvelope(req({ to: "b", chatType: 2, msgType, content }), "a", 0, "x");
    expect(t(1).msg_type).toBe("MTT-001");
    expect(t(2).msg_type).toBe("MTT-003");
    expect(t(6).msg_type).toBe("MTT-002");
    expect(t(3)).toMatchObject({ msg_type: "MTT-002", body: [{ fileId: "f1", jimMsgType: 3 }] });
    expect(t(5, "news")).toMatchObject({ msg_type: "MTT-000", body: [{ text: "news", jimMsgType: 5 }] });
  });

  it("takes the fileId from a download URL and keeps the URL", () => {
    const url = "https://files.example.com/upload/download?fileId=7c1f0e9a2b3d&fileName=a%20b.png";
    expect(chatToEnvelope(req({ to: "b", chatType: 2, msgType: 1, content: url }), "a", 0, "x").body).toEqual([{ fileId: "7c1f0e9a2b3d", url }]);
  });

  it("refuses a spoofed from, chatType 0 or missing, no target, unknown msgType", () => {
    const bad = (o: Record<string, unknown>) => expect(() => chatToEnvelope(req({ content: "x", ...o }), "alice", 0, "x")).toThrow(ChatRefusal);
    bad({ from: "mallory", to: "bob", chatType: 2 });
    bad({ to: "bob", chatType: 0 });
    bad({ to: "bob" });
    bad({ chatType: 2 });
    bad({ chatType: 1, to: "bob" });
    bad({ to: "bob", chatType: 2, msgType: 9 });
    bad({ to: "bob", chatType: 2, msgType: 1, content: "x".repeat(65) });
  });

  it("recall -> MTT-101 / MTS-101 naming the message", () => {
    expect(recallToEnvelope({ id: "m1", chatType: 2, to: "bob" }, "alice", 1, "r")).toMatchObject({ msg_type: "MTT-101", msg_to: "bob", body: [{ msg_id: "m1" }] });
    expect(recallToEnvelope({ id: "m1", chatType: undefined, groupId: "s" }, "alice", 1, "r")).toMatchObject({ msg_type: "MTS-101", body: [{ session_id: "s", msg_id: "m1" }] });
    expect(() => recallToEnvelope({ chatType: 2, to: "bob" }, "alice", 1, "r")).toThrow(ChatRefusal);
  });
});

describe("J-IM ids (protocol/ids.ts)", () => {
  const req = (o: Record<string, unknown>) => parseRequest(o, CHAT_FIELDS, chatSchema)!;
  const refusalOf = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(ChatRefusal);
      return (err as Error).message;
    }
    throw new Error("not refused");
  };

  it("folds user and group ids in a chat; a from spelled differently is still the sender", () => {
    const env = chatToEnvelope(req({ from: " ALICE ", to: "Bob", chatType: 2, content: "x", id: "Id-1" }), "alice", 0, "x");
    expect(env).toMatchObject({ msg_from: "alice", msg_to: "bob", msg_id: "Id-1" });
    expect(chatToEnvelope(req({ groupId: "Team-A", chatType: 1, content: "x" }), "alice", 0, "x")).toMatchObject({ msg_to: "team-a", body: [{ session_id: "team-a" }] });
  });

  it("refuses a bad to, groupId, from or id with a reason naming the field, never the value", () => {
    const bad = (o: Record<string, unknown>) => refusalOf(() => chatToEnvelope(req({ content: "x", chatType: 2, to: "bob", ...o }), "alice", 0, "x"));
    expect(bad({ to: "<b>evil</b>" })).toMatch(/^to contains a space or one of/);
    expect(bad({ to: "a@b" })).toMatch(/^to /);
    expect(bad({ to: "x".repeat(65) })).toBe("to is longer than 64 characters");
    expect(bad({ chatType: 1, groupId: "g/1" })).toMatch(/^groupId /);
    expect(bad({ from: "al ice" })).toMatch(/^from /);
    expect(bad({ id: "m\u0000\u0007" })).toBe("id contains a control, format or non-character code point");
    expect(bad({ id: "i".repeat(65) })).toBe("id is longer than 64 characters");
    expect(bad({ to: "evil\u202eid" })).not.toContain("evil");
    expect(bad({ chatType: 2, msgType: 1, content: "http://x/?fileId=%E0%A4%A" })).toMatch(/not valid URL encoding/);
  });

  it("refuses a bad recall id or target", () => {
    expect(refusalOf(() => recallToEnvelope({ id: "a\u0001", chatType: 2, to: "bob" }, "alice", 1, "r"))).toMatch(/^id /);
    expect(refusalOf(() => recallToEnvelope({ id: "m1", chatType: 1, groupId: "a b" }, "alice", 1, "r"))).toMatch(/^groupId /);
    expect(recallToEnvelope({ id: "M1", chatType: 2, to: "BOB" }, "alice", 1, "r")).toMatchObject({ msg_to: "bob", body: [{ msg_id: "M1" }] });
  });

  it("validates and folds the ids of get-user, get-messages and close; a bad one fails the parse", () => {
    expect(parseRequest({ userId: "Bob", type: 0 }, GET_USER_FIELDS, getUserSchema)).toMatchObject({ userId: "bob" });
    expect(parseRequest({ userId: "b:b", type: 0 }, GET_USER_FIELDS, getUserSchema)).toBeNull();
    expect(parseRequest({ fromUserId: "Carol", group_id: " G1 ", type: 1 }, GET_MESSAGE_FIELDS, getMessageSchema)).toMatchObject({ fromUserId: "carol", groupId: "g1" });
    expect(parseRequest({ fromUserId: "c'c", type: 1 }, GET_MESSAGE_FIELDS, getMessageSchema)).toBeNull();
    expect(parseRequest({ userId: "x\u0000" }, CLOSE_FIELDS, closeSchema)).toBeNull();
    expect(parseRequest({}, CLOSE_FIELDS, closeSchema)).toEqual({});
    // join only looks the group up: folded when valid, kept (matching nothing) when not
    expect(parseRequest({ groupId: "G1" }, JOIN_FIELDS, joinSchema)).toMatchObject({ groupId: "g1" });
    expect(parseRequest({ groupId: "a b" }, JOIN_FIELDS, joinSchema)).toMatchObject({ groupId: "a b" });
  });

  it("answers a refused id with the command's failure code and the reason in data", () => {
    expect(jimJson(idRefusal(6, 10008, new IdError("userId", "is empty")))).toBe('{"code":10008,"command":6,"data":{"detail":"userId is empty","error":"error-000"},"msg":"login failed ! 登录失败!"}');
  });
});

describe("stored message -> J-IM", () => {
  it("private text -> chat push data with chatType 2 and the sender's createTime", () => {
    expect(messageToJim(stored({}), "v3")).toEqual({
      kind: "chat", createTime: 1588291200000,
      chat: { chatType: 2, cmd: 11, content: "hi", createTime: 1588291200000, from: "alice", id: "m1", msgType: 0, to: "bob", extras: undefined },
    });
  });

  it("group file -> chatType 1, groupId (v3) / group_id (v2), msgType 6, content = url or fileId", () => {
    const m = stored({ msgType: "MTS-002", sessionId: "s1", msgTo: "s1", body: JSON.stringify([{ session_id: "s1", fileId: "f9" }]) });
    const v3 = messageToJim(m, "v3");
    expect(v3.kind === "chat" && v3.chat).toMatchObject({ chatType: 1, groupId: "s1", msgType: 6, content: "f9" });
    const v2 = messageToJim(m, "v2");
    expect(v2.kind === "chat" && v2.chat).toMatchObject({ group_id: "s1" });
    const pic = messageToJim(stored({ msgType: "MTT-001", body: JSON.stringify([{ fileId: "f1", url: "http://x/y?fileId=f1" }]) }), "v3");
    expect(pic.kind === "chat" && pic.chat).toMatchObject({ msgType: 1, content: "http://x/y?fileId=f1" });
    const voice = messageToJim(stored({ msgType: "MTT-003", body: JSON.stringify([{ fileId: "v1" }]) }), "v3");
    expect(voice.kind === "chat" && voice.chat).toMatchObject({ msgType: 2, content: "v1" });
  });

  it("round-trips the J-IM msgType and extras", () => {
    const env = chatToEnvelope(parseRequest({ to: "b", chatType: 2, msgType: 3, content: "v.mp4", extras: { k: 1 } }, CHAT_FIELDS, chatSchema)!, "a", 0, "x");
    const back = messageToJim(stored({ msgType: env.msg_type, body: JSON.stringify(env.body) }), "v3");
    expect(back.kind === "chat" && back.chat).toMatchObject({ msgType: 3, content: "v.mp4", extras: { k: 1 } });
  });

  it("other types -> msgType 0 with the whole tlim message in extras.tlim", () => {
    const m = stored({ msgType: "MTS-104", sessionId: "s", body: JSON.stringify([{ session_id: "s", user_id: "c", user_name: "C" }]) });
    const v = messageToJim(m, "v3");
    expect(v.kind === "chat" && v.chat).toMatchObject({ msgType: 0, extras: { tlim: { msg_type: "MTS-104" } } });
  });

  it("revokes -> one recall per id; hidden receipts -> nothing", () => {
    const r = messageToJim(stored({ msgType: "MTT-101", body: JSON.stringify([{ msg_id: "a" }, { msg_id: "b" }]) }), "v3");
    expect(r.kind === "recall" && r.recalls.map((x) => x.id)).toEqual(["a", "b"]);
    expect(messageToJim(stored({ msgType: "MTT-100", hidden: true }), "v3").kind).toBe("none");
  });
});

describe("login tokens", () => {
  it("verifies a token for its user until it expires", () => {
    const t = signToken("s3cret", "alice", 2000);
    expect(verifyToken("s3cret", "alice", t, 1999)).toBe(true);
    expect(verifyToken("s3cret", "alice", t, 2000)).toBe(false);
    expect(verifyToken("s3cret", "bob", t, 1999)).toBe(false);
    expect(verifyToken("other", "alice", t, 1999)).toBe(false);
    expect(verifyToken("", "alice", t, 1999)).toBe(false);
    expect(verifyToken("s3cret", "alice", "garbage", 1)).toBe(false);
  });
});
