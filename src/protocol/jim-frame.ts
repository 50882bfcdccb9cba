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
  const payload = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const withSeq = synSeq > 0;
  const header = Buffer.alloc(withSeq ? 11 : 7);
  let at = 0;
  header[at++] = JIM_VERSION;
  header[at++] = withSeq ? MASK_SYNSEQ : MASK_PLAIN;
  if (withSeq) {
    header.writeInt32BE(synSeq, at);
    at += 4;
  }
  header.writeInt8(cmd, at++);
  header.writeInt32BE(payload.length, at);
  return Buffer.concat([header, payload]);
}

/**
 * Incremental decoder: feed it whatever a read returned; it yields every complete frame and
 * keeps a partial one for the next read. Throws FrameError on a stream it cannot continue.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBodyBytes: number) {}

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): JimFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: JimFrame[] = [];
    for (;;) {
      const frame = this.next();
      if (!frame) return frames;
      frames.push(frame);
    }
  }

  private next(): JimFrame | null {
    const b = this.buf;
    if (b.length < 2) return null;
    if (b[0] !== JIM_VERSION) throw new FrameError("version", `version byte 0x${b[0]!.toString(16)} is not 0x01`);
    const withSeq = (b[1]! & FLAG_SYNSEQ) !== 0;
    const headerLength = withSeq ? 11 : 7;
    if (b.length < headerLength) return null;
    let at = 2;
    const synSeq = withSeq ? b.readInt32BE(at) : 0;
    if (withSeq) at += 4;
    const cmd = b.readInt8(at++);
    if (!isKnownCmd(cmd)) throw new FrameError("cmd", `command ${cmd} is not a J-IM command`);
    const length = b.readInt32BE(at);
    if (length < 0) throw new FrameError("length", `negative body length ${length}`);
    if (length > this.maxBodyBytes) {
      throw new FrameError("too-large", `body of ${length} bytes exceeds the limit of ${this.maxBodyBytes}`);
    }
    if (b.length < headerLength + length) return null;
    const body = Buffer.from(b.subarray(headerLength, headerLength + length));
    this.buf = b.subarray(headerLength + length);
    return { cmd, synSeq, body };
  }
}
