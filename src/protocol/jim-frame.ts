// J-IM TCP binary framing (docs/jim-gateway.md "TCP framing"). Pure: no I/O, no clock.
//
//   version(1)=0x01 | mask(1) | [synSeq(4), only when mask & 0x20] | cmd(1) | length(4, BE, signed) | body
//
// The encoder emits the masks the Java encoder produces (0x51, or 0xF1 with a synSeq); the
// decoder accepts any mask and honours only the 0x20 bit, as the Java decoder does.

export const JIM_VERSION = 0x01;
/** Mask of every frame without synSeq, as the Java encoder writes it (its 0x5F synSeq clear also drops the encrypt bit). */
export const MASK_PLAIN = 0x51;
/** Mask of a frame carrying a synSeq > 0. */
export const MASK_SYNSEQ = 0xf1;
export const FLAG_SYNSEQ = 0x20;
/** Highest command number a stock J-IM peer knows (0..20); anything else closes. */
export const MAX_KNOWN_CMD = 20;

export interface JimFrame {
  cmd: number;
  /** 0 = none (mask 0x51). */
  synSeq: number;
  body: Buffer;
}

export type FrameErrorKind = "version" | "cmd" | "length" | "too-large";

/** A frame the stream cannot continue after: the connection is closed (docs/jim-gateway.md "TCP framing"). */
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
 * Bytes of the frame starting at `at` once its header is complete (header plus body, whether
 * the body is there yet or not), 0 while the header is incomplete. Throws FrameError on a stream
 * it cannot continue, as soon as the header shows it.
 */
function frameBytes(b: Buffer, at: number, maxBodyBytes: number): number {
  if (b.length - at < 1) return 0;
  if (b[at] !== JIM_VERSION) throw new FrameError("version", `version byte 0x${b[at]!.toString(16)} is not 0x01`);
  if (b.length - at < 2) return 0;
  const headerLength = (b[at + 1]! & FLAG_SYNSEQ) !== 0 ? 11 : 7;
  if (b.length - at < headerLength) return 0;
  const cmd = b.readInt8(at + headerLength - 5);
  if (!isKnownCmd(cmd)) throw new FrameError("cmd", `command ${cmd} is not a J-IM command`);
  const length = b.readInt32BE(at + headerLength - 4);
  if (length < 0) throw new FrameError("length", `negative body length ${length}`);
  if (length > maxBodyBytes) {
    throw new FrameError("too-large", `body of ${length} bytes exceeds the limit of ${maxBodyBytes}`);
  }
  return headerLength + length;
}

/** Bytes of the frame starting at `at` when it is complete, 0 when more bytes are needed. */
function frameLength(b: Buffer, at: number, maxBodyBytes: number): number {
  const n = frameBytes(b, at, maxBodyBytes);
  return n > 0 && b.length - at >= n ? n : 0;
}

/** Bytes taken by the complete frames at the start of `b`; throws FrameError (see readFrames). */
function scanFrames(b: Buffer, maxBodyBytes: number): number {
  let end = 0;
  for (let n; (n = frameLength(b, end, maxBodyBytes)) > 0; ) end += n;
  return end;
}

/** Hands the frames in `b[0, end)` (already scanned) to `sink`, in order. */
function handFrames(b: Buffer, end: number, sink: FrameSink): void {
  for (let at = 0; at < end; ) {
    const withSeq = (b[at + 1]! & FLAG_SYNSEQ) !== 0;
    const h = at + (withSeq ? 11 : 7);
    const bodyEnd = h + b.readInt32BE(h - 4);
    sink.frame(b.readInt8(h - 5), withSeq ? b.readInt32BE(at + 2) : 0, b.subarray(h, bodyEnd));
    at = bodyEnd;
  }
}

/**
 * Hands every complete frame at the start of `b` to `sink`, in order, and returns how many bytes
 * they took (the rest is a partial frame, for the next read). The whole buffer is checked first:
 * when it holds a frame the stream cannot continue after, FrameError is thrown and no frame of
 * this read is handed over. No copies: bodies are views into `b`.
 */
export function readFrames(b: Buffer, maxBodyBytes: number, sink: FrameSink): number {
  const end = scanFrames(b, maxBodyBytes);
  handFrames(b, end, sink);
  return end;
}

/** Counts the bytes the buffering copies (tests: the work stays linear in the bytes received). */
export interface CopyStats {
  copied: number;
}

/** Reads shorter than this are copied into a shared tail buffer instead of being kept one by one. */
const SMALL_READ = 1024;
const TAIL_MIN = 256;
const TAIL_MAX = 64 * 1024;
/** Longest frame header (with synSeq). */
const MAX_HEADER = 11;

/**
 * The start of a frame not yet complete. The reads that brought it are kept as they came, in a
 * list with their total length, and joined once, when the frame is complete: a large frame
 * trickled in small reads costs its size in copies, not its size times the number of reads.
 * Reads under 1 KiB are copied into a tail buffer that grows with the frame (256 B … 64 KiB), so
 * a frame sent a byte at a time holds a few dozen buffers, not one object per byte.
 */
export class PartialFrame {
  /** Bytes held. */
  length = 0;
  /** Bytes of the whole frame once its header is complete (checked), else 0. */
  need = 0;
  private readonly chunks: Buffer[] = [];
  private tail: Buffer | null = null;
  private tailUsed = 0;

  /** Buffers holding the bytes (tests: bounded by the bytes held, not the number of reads). */
  get pieces(): number {
    return this.chunks.length + (this.tailUsed > 0 ? 1 : 0);
  }

  /** Keeps `bytes` (a read, or a read's end); `own`: copy it even when large (it is a view into a buffer not to be held). */
  add(bytes: Buffer, stats: CopyStats | undefined, own = false): void {
    if (bytes.length === 0) return;
    if (bytes.length >= SMALL_READ) {
      this.seal();
      const kept = own ? Buffer.from(bytes) : bytes;
      if (own && stats) stats.copied += bytes.length;
      this.chunks.push(kept);
      this.length += bytes.length;
      return;
    }
    let at = 0;
    while (at < bytes.length) {
      if (this.tail === null || this.tailUsed === this.tail.length) {
        this.seal();
        // Grows with the bytes held (so memory stays within twice them), never past the frame.
        let size = Math.min(TAIL_MAX, Math.max(TAIL_MIN, this.length));
        if (this.need > 0) size = Math.min(size, this.need - this.length);
        this.tail = Buffer.allocUnsafe(Math.max(size, 1));
      }
      const n = bytes.copy(this.tail, this.tailUsed, at);
      at += n;
      this.tailUsed += n;
      this.length += n;
    }
    if (stats) stats.copied += bytes.length;
  }

  /**
   * The frame's size once the header is complete counting `next` after the bytes held (0 while
   * it is not). Throws FrameError as soon as the header is refused.
   */
  frameBytes(next: Buffer, maxBodyBytes: number, stats: CopyStats | undefined): number {
    const head = Buffer.allocUnsafe(MAX_HEADER);
    let n = 0;
    for (const piece of this.views()) {
      if (n === MAX_HEADER) break;
      n += piece.copy(head, n, 0, Math.min(piece.length, MAX_HEADER - n));
    }
    if (n < MAX_HEADER) n += next.copy(head, n, 0, Math.min(next.length, MAX_HEADER - n));
    if (stats) stats.copied += n;
    return frameBytes(head.subarray(0, n), 0, maxBodyBytes);
  }

  /** The held bytes and `last` as one buffer: one copy (none when there is one piece). */
  assemble(last: Buffer, stats: CopyStats | undefined): Buffer {
    const pieces = this.views();
    if (last.length > 0) pieces.push(last);
    const total = this.length + last.length;
    if (pieces.length === 1) return pieces[0]!;
    if (stats) stats.copied += total;
    return Buffer.concat(pieces, total);
  }

  private views(): Buffer[] {
    const out = this.chunks.slice();
    if (this.tail !== null && this.tailUsed > 0) out.push(this.tail.subarray(0, this.tailUsed));
    return out;
  }

  /** Closes the tail: what it holds becomes a piece; a new one starts with the next small read. */
  private seal(): void {
    if (this.tail !== null && this.tailUsed > 0) this.chunks.push(this.tail.subarray(0, this.tailUsed));
    this.tail = null;
    this.tailUsed = 0;
  }
}

/**
 * One read of a stream: completes the partial frame (when its header says the read completes
 * it), hands every complete frame to `sink` in order, and returns what is left for the next read
 * (null when nothing is: an idle stream holds no buffer). Linear: each byte received is copied at
 * most twice (into a tail when it came in a small read, once when its frame is joined). Throws
 * FrameError as soon as a header shows a stream it cannot continue; as with readFrames, no frame
 * of a read is handed over when the read holds such a header.
 */
export function feedFrames(partial: PartialFrame | null, chunk: Buffer, maxBodyBytes: number, sink: FrameSink, stats?: CopyStats): PartialFrame | null {
  let frame: Buffer | null = null;
  if (partial !== null) {
    if (partial.need === 0) {
      partial.need = partial.frameBytes(chunk, maxBodyBytes, stats);
      if (partial.need === 0) {
        partial.add(chunk, stats);
        return partial;
      }
    }
    const missing = partial.need - partial.length;
    if (chunk.length < missing) {
      partial.add(chunk, stats);
      return partial;
    }
    frame = partial.assemble(chunk.subarray(0, missing), stats);
    chunk = chunk.subarray(missing);
  }
  const used = scanFrames(chunk, maxBodyBytes);
  if (frame !== null) handFrames(frame, frame.length, sink);
  handFrames(chunk, used, sink);
  if (used === chunk.length) return null;
  const rest = new PartialFrame();
  // The end of a read after complete frames is copied when it is the smaller part (a view would
  // hold the whole read); the bytes copied are at most those already handed over.
  rest.add(chunk.subarray(used), stats, used > 0 && chunk.length - used < used);
  rest.need = frameBytes(chunk, used, maxBodyBytes);
  return rest;
}

/**
 * Incremental decoder: feed it whatever a read returned; it yields every complete frame and
 * keeps a partial one for the next read. Throws FrameError on a stream it cannot continue.
 * The same buffering as a TCP connection's (feedFrames).
 */
export class FrameDecoder {
  private partial: PartialFrame | null = null;
  private readonly stats: CopyStats = { copied: 0 };

  constructor(private readonly maxBodyBytes: number) {}

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.partial?.length ?? 0;
  }

  /** Buffers holding them. */
  get pieces(): number {
    return this.partial?.pieces ?? 0;
  }

  /** Bytes copied by the buffering so far (frame bodies handed out are copied on top). */
  get copied(): number {
    return this.stats.copied;
  }

  push(chunk: Buffer): JimFrame[] {
    const frames: JimFrame[] = [];
    this.partial = feedFrames(this.partial, chunk, this.maxBodyBytes, { frame: (cmd, synSeq, body) => frames.push({ cmd, synSeq, body: Buffer.from(body) }) }, this.stats);
    return frames;
  }
}
