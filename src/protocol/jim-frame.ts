// J-IM TCP binary framing (spec/jim-protocol.md §1.2). Pure: no I/O, no clock.
//
//   version(1)=0x01 | mask(1) | [synSeq(4), only when mask & 0x20] | cmd(1) | length(4, BE, signed) | body
//
// The encoder emits the masks the Java encoder produces (0x51, or 0xF1 with a synSeq); the
// decoder accepts any mask and honours only the 0x20 bit, as the Java decoder does.

export const JIM_VERSION = 0x01;
/** Mask of every frame without synSeq (spec §1.2: encrypt bit dropped by the 0x5F clear). */
export const MASK_PLAIN = 0x51;
/** Mask of a frame carrying a synSeq > 0. */
export const MASK_SYNSEQ = 0xf1;
export const FLAG_SYNSEQ = 0x20;
/** Highest command number a stock J-IM peer knows (spec §2.5); anything else closes. */
export const MAX_KNOWN_CMD = 20;

export interface JimFrame {
  cmd: number;
  /** 0 = none (mask 0x51). */
  synSeq: number;
  body: Buffer;
}

export type FrameErrorKind = "version" | "cmd" | "length" | "too-large";

/** A frame the stream cannot continue after: the connection is closed (spec §1.2). */
export class FrameError extends Error {
  constructor(readonly kind: FrameErrorKind, detail: string) {
    super(detail);
    this.name = "FrameError";
  }
}

export function isKnownCmd(cmd: number): boolean {
  return Number.isInteger(cmd) && cmd >= 0 && cmd <= MAX_KNOWN_CMD;
}

export function encodeFrame(cmd: number, body: Buffer | string, synSeq = 0): Buffer {
  // One buffer, header and body written in place (no header buffer, no body copy, no concat).
  const withSeq = synSeq > 0;
  const at = withSeq ? 11 : 7;
  const length = typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.length;
  const out = Buffer.allocUnsafe(at + length);
  out[0] = JIM_VERSION;
  out[1] = withSeq ? MASK_SYNSEQ : MASK_PLAIN;
  if (withSeq) out.writeInt32BE(synSeq, 2);
  out.writeInt8(cmd, at - 5);
  out.writeInt32BE(length, at - 4);
  if (typeof body === "string") out.write(body, at, "utf8");
  else body.copy(out, at);
  return out;
}

/** Receives the frames read by readFrames. */
export interface FrameSink {
  /** `body` is a view into the buffer given to readFrames: copy it to keep it. */
  frame(cmd: number, synSeq: number, body: Buffer): void;
}

/**
 * Bytes of the frame starting at `at` when it is complete, 0 when more bytes are needed. Throws
 * FrameError on a stream it cannot continue, as soon as the header shows it.
 */
function frameLength(b: Buffer, at: number, maxBodyBytes: number): number {
  if (b.length - at < 2) return 0;
  if (b[at] !== JIM_VERSION) throw new FrameError("version", `version byte 0x${b[at]!.toString(16)} is not 0x01`);
  const headerLength = (b[at + 1]! & FLAG_SYNSEQ) !== 0 ? 11 : 7;
  if (b.length - at < headerLength) return 0;
  const cmd = b.readInt8(at + headerLength - 5);
  if (!isKnownCmd(cmd)) throw new FrameError("cmd", `command ${cmd} is not a J-IM command`);
  const length = b.readInt32BE(at + headerLength - 4);
  if (length < 0) throw new FrameError("length", `negative body length ${length}`);
  if (length > maxBodyBytes) {
    throw new FrameError("too-large", `body of ${length} bytes exceeds the limit of ${maxBodyBytes}`);
  }
  return b.length - at < headerLength + length ? 0 : headerLength + length;
}

/**
 * Hands every complete frame at the start of `b` to `sink`, in order, and returns how many bytes
 * they took (the rest is a partial frame, for the next read). The whole buffer is checked first:
 * when it holds a frame the stream cannot continue after, FrameError is thrown and no frame of
 * this read is handed over. No copies: bodies are views into `b`.
 */
export function readFrames(b: Buffer, maxBodyBytes: number, sink: FrameSink): number {
  let end = 0;
  for (let n; (n = frameLength(b, end, maxBodyBytes)) > 0; ) end += n;
  for (let at = 0; at < end; ) {
    const withSeq = (b[at + 1]! & FLAG_SYNSEQ) !== 0;
    const h = at + (withSeq ? 11 : 7);
    const bodyEnd = h + b.readInt32BE(h - 4);
    sink.frame(b.readInt8(h - 5), withSeq ? b.readInt32BE(at + 2) : 0, b.subarray(h, bodyEnd));
    at = bodyEnd;
  }
  return end;
}

const EMPTY = Buffer.alloc(0);

/**
 * Incremental decoder: feed it whatever a read returned; it yields every complete frame and
 * keeps a partial one for the next read. Throws FrameError on a stream it cannot continue.
 */
export class FrameDecoder {
  private buf: Buffer = EMPTY;

  constructor(private readonly maxBodyBytes: number) {}

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): JimFrame[] {
    const b = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: JimFrame[] = [];
    const used = readFrames(b, this.maxBodyBytes, { frame: (cmd, synSeq, body) => frames.push({ cmd, synSeq, body: Buffer.from(body) }) });
    // Nothing kept once every byte is used (the read's buffer is not held by an idle connection).
    this.buf = used === b.length ? EMPTY : b.subarray(used);
    return frames;
  }
}
