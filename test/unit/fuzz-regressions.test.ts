// Bugs in src/ the fuzz properties found (docs/reliability.md "Fuzzing"), each as its minimal
// reproducer. A bug found and not fixed yet goes in KNOWN_BUGS (test/fuzz/targets.ts) with its
// reproducer here as an `it.fails` test; once src/ is fixed it becomes a plain test like these.
import { describe, expect, it } from "vitest";
import { ChatRefusal, chatToEnvelope } from "../../src/protocol/jim-mapping.js";

describe("bugs found by fuzzing", () => {
  it("jim-fileid-uri (fixed): a J-IM file chat whose fileId= parameter is malformed %-encoding is refused with ChatRefusal, not a URIError", () => {
    // J-IM chat 11 {"chatType":2,"to":"bob","msgType":1,"content":"x?fileId=%E0"} was answered
    // error-500 "internal error" (decodeURIComponent threw) instead of a 10002 refusal.
    for (const content of ["x?fileId=%E0", "x?fileId=%E0%A4%A", "x?fileId=%", "x?a=1&fileId=%ZZ"]) {
      expect(() => chatToEnvelope({ chatType: 2, to: "bob", msgType: 1, content, createTime: undefined, extras: undefined }, "alice", 1, "id1")).toThrow(ChatRefusal);
    }
  });
});
