// J-IM TCP framing against the golden frames of spec/jim-protocol.md §1.2.
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder, FrameError, MASK_PLAIN, MASK_SYNSEQ } from "../../src/protocol/jim-frame.js";
import { dataPacket, jimJson } from "../../src/protocol/jim-commands.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const LOGIN_BODY = '{"cmd":5,"userId":"alice","password":"123"}';
const HEARTBEAT_REPLY = '{"command":13,"data":{"hbbyte":-128}}';

describe("J-IM frame encoder", () => {
  it("emits the client heartbeat exactly: 01 51 0D 00 00 00 01 80", () => {
    expect(encodeFrame(13, Buffer.from([0x80]))).toEqual(hex("01 51 0D 00 00 00 01 80"));
  });

  it("emits the server heartbeat reply exactly: 01 51 0D 00 00 00 25 + 37 bytes of JSON", () => {
    const body = jimJson(dataPacket(13, { hbbyte: -128 }));
    expect(body).toBe(HEARTBEAT_REPLY);
    const frame = encodeFrame(13, body);
    expect(frame.subarray(0, 7)).toEqual(hex("01 51 0D 00 00 00 25"));
    expect(frame.length).toBe(7 + 37);
    expect(frame.subarray(7).toString()).toBe(HEARTBEAT_REPLY);
  });

  it("emits the login request header exactly: 01 51 05 00 00 00 2B", () => {
    expect(encodeFrame(5, LOGIN_BODY).subarray(0, 7)).toEqual(hex("01 51 05 00 00 00 2B"));
  });

  it("uses mask 0xF1 and 4 synSeq bytes when a synSeq is given", () => {
    expect(encodeFrame(13, Buffer.from([0x80]), 7)).toEqual(hex("01 F1 00 00 00 07 0D 00 00 00 01 80"));
    expect(MASK_PLAIN).toBe(0x51);
    expect(MASK_SYNSEQ).toBe(0xf1);
  });

  it("encodes an empty body as length 0", () => {
    expect(encodeFrame(1, "")).toEqual(hex("01 51 01 00 00 00 00"));
  });
});

describe("J-IM frame decoder", () => {
  const decoder = () => new FrameDecoder(1024);

  it("decodes the golden frames", () => {
    const d = decoder();
    const frames = d.push(Buffer.concat([hex("01 51 0D 00 00 00 01 80"), encodeFrame(5, LOGIN_BODY)]));
    expect(frames).toHaveLength(2);
    expect(frames[0]).toEqual({ cmd: 13, synSeq: 0, body: Buffer.from([0x80]) });
    expect(frames[1]!.cmd).toBe(5);
    expect(frames[1]!.body.toString()).toBe(LOGIN_BODY);
    expect(d.buffered).toBe(0);
  });

  it("buffers partial frames, byte by byte, until complete", () => {
    const d = decoder();
    const bytes = Buffer.concat([encodeFrame(5, LOGIN_BODY), encodeFrame(13, Buffer.from([0x80]), 9)]);
    const out = [];
    for (const b of bytes) out.push(...d.push(Buffer.from([b])));
    expect(out.map((f) => [f.cmd, f.synSeq])).toEqual([[5, 0], [13, 9]]);
  });

  it("accepts any mask and honours only the 0x20 bit", () => {
    const d = decoder();
    expect(d.push(hex("01 00 0D 00 00 00 00"))[0]).toMatchObject({ cmd: 13, synSeq: 0 });
    expect(d.push(hex("01 DF 0D 00 00 00 00"))[0]).toMatchObject({ cmd: 13, synSeq: 0 }); // all bits but 0x20
    expect(d.push(hex("01 20 00 00 01 00 0D 00 00 00 00"))[0]).toMatchObject({ cmd: 13, synSeq: 256 });
  });

  it("accepts a zero-length body", () => {
    expect(decoder().push(hex("01 51 0E 00 00 00 00"))[0]).toEqual({ cmd: 14, synSeq: 0, body: Buffer.alloc(0) });
  });

  const refused = (bytes: Buffer, kind: string, max = 1024) => {
    try {
      new FrameDecoder(max).push(bytes);
    } catch (err) {
      expect(err).toBeInstanceOf(FrameError);
      expect((err as FrameError).kind).toBe(kind);
      return;
    }
    throw new Error("not refused");
  };

  it("refuses a version byte other than 0x01", () => refused(hex("02 51 0D 00 00 00 00"), "version"));
  it("refuses unknown commands (21, negative)", () => {
    refused(hex("01 51 15 00 00 00 00"), "cmd");
    refused(hex("01 51 FF 00 00 00 00"), "cmd");
  });
  it("refuses a negative length", () => refused(hex("01 51 0D FF FF FF FF"), "length"));
  it("refuses a body over the limit from the header alone", () => refused(hex("01 51 0B 00 00 04 01"), "too-large"));
  it("decides as soon as the header is complete, not waiting for the body", () => {
    const d = new FrameDecoder(10);
    expect(() => d.push(hex("01 51 0B 00 00 00 0B"))).toThrow(FrameError);
  });
});
