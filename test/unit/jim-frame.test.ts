// J-IM TCP framing against golden frames, byte for byte as the Java J-IM client and server write
// them (docs/jim-gateway.md "TCP framing").
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

describe("J-IM frame buffering (linear in the bytes received)", () => {
  const MAX = 4 * 1024 * 1024;
  const bigFrame = (bodyBytes: number, synSeq = 0) => {
    const body = Buffer.alloc(bodyBytes);
    for (let i = 0; i < bodyBytes; i++) body[i] = (i * 31 + 7) & 0xff;
    return { frame: encodeFrame(11, body, synSeq), body };
  };
  /** Feeds `bytes` in reads of `size`; returns the frames and the most pieces held at once. */
  const trickle = (d: FrameDecoder, bytes: Buffer, size: number) => {
    const frames = [];
    let maxPieces = 0;
    for (let at = 0; at < bytes.length; at += size) {
      frames.push(...d.push(bytes.subarray(at, at + size)));
      maxPieces = Math.max(maxPieces, d.pieces);
    }
    return { frames, maxPieces };
  };

  it("completes a 2 MiB frame trickled 100 bytes at a time, copying each byte at most twice", () => {
    const { frame, body } = bigFrame(2 * 1024 * 1024);
    const d = new FrameDecoder(MAX);
    const { frames, maxPieces } = trickle(d, frame, 100);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.body.equals(body)).toBe(true);
    // Into a tail once, joined once (+ the header read across reads): linear. Re-joining the
    // partial frame at every read would copy about 2 MiB × 21,000 reads / 2 ≈ 22 GB.
    expect(d.copied).toBeLessThanOrEqual(2 * frame.length + 64);
    // Small reads are coalesced: a few dozen buffers, not one object per read (21,000 reads).
    expect(maxPieces).toBeLessThan(64);
    expect(d.buffered).toBe(0);
    expect(d.pieces).toBe(0);
  });

  it("completes a 2 MiB frame sent one byte per read", () => {
    const { frame, body } = bigFrame(2 * 1024 * 1024, 5);
    const d = new FrameDecoder(MAX);
    const { frames, maxPieces } = trickle(d, frame, 1);
    expect(frames.map((f) => [f.cmd, f.synSeq, f.body.length])).toEqual([[11, 5, body.length]]);
    expect(frames[0]!.body.equals(body)).toBe(true);
    expect(d.copied).toBeLessThanOrEqual(2 * frame.length + 64);
    expect(maxPieces).toBeLessThan(64);
  });

  it("keeps large reads as they came and joins them once", () => {
    const { frame } = bigFrame(2 * 1024 * 1024);
    const d = new FrameDecoder(MAX);
    const reads = Math.ceil(frame.length / 65536);
    const { frames, maxPieces } = trickle(d, frame, 65536);
    expect(frames).toHaveLength(1);
    expect(maxPieces).toBe(reads - 1); // every read but the last (which completes the frame) is held
    expect(d.copied).toBe(frame.length); // the one join
  });

  it("decodes any split of a stream of frames the same, and holds nothing between frames", () => {
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const sent = Array.from({ length: 60 }, (_, i) => encodeFrame(i % 20, Buffer.alloc(rand(3) === 0 ? rand(20000) : rand(50), i), i % 3 === 0 ? i + 1 : 0));
    const stream = Buffer.concat(sent);
    for (let round = 0; round < 20; round++) {
      const d = new FrameDecoder(MAX);
      const got = [];
      for (let at = 0; at < stream.length; ) {
        const n = 1 + rand(round % 2 === 0 ? 40 : 9000);
        got.push(...d.push(stream.subarray(at, at + n)));
        at += n;
      }
      expect(got).toHaveLength(sent.length);
      expect(Buffer.concat(got.map((f) => encodeFrame(f.cmd, f.body, f.synSeq))).equals(stream)).toBe(true);
      expect(d.buffered).toBe(0);
      expect(d.copied).toBeLessThanOrEqual(3 * stream.length);
    }
  });

  it("refuses a bad header read across reads as soon as it is complete, before any body", () => {
    const tooLarge = hex("01 F1 00 00 00 01 0B 00 00 04 01");
    const d = new FrameDecoder(1024);
    for (let i = 0; i < tooLarge.length - 1; i++) expect(d.push(tooLarge.subarray(i, i + 1))).toEqual([]);
    expect(() => d.push(tooLarge.subarray(tooLarge.length - 1))).toThrow(FrameError);
    // A version byte is refused alone, before the rest of its header.
    expect(() => new FrameDecoder(1024).push(hex("01 51 0D 00 00 00 00 02"))).toThrow(FrameError);
  });

  it("hands over no frame of a read that holds a frame it cannot continue after", () => {
    const d = new FrameDecoder(1024);
    const login = encodeFrame(5, LOGIN_BODY);
    d.push(login.subarray(0, 10));
    expect(() => d.push(Buffer.concat([login.subarray(10), hex("01 51 15 00 00 00 00")]))).toThrow(FrameError);
  });
});
