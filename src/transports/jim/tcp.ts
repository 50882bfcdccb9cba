// A J-IM connection over TCP framing (docs/jim-gateway.md "TCP framing"): reads frames, writes frames. The server's one
// shared 'data' listener hands it every read (server.ts); a partial frame is all it keeps
// between reads, and only while one is partial: the reads that hold it, joined once when the
// header says the frame is complete (feedFrames, linear in the bytes received).
import type { Socket } from "node:net";
import { encodeFrame, feedFrames, FrameError, type FrameSink, type PartialFrame } from "../../protocol/jim-frame.js";
import { JimConnection, type ConnectionHost, type Protocol } from "./connection.js";

/** A peer that never closes its side of an ended connection is destroyed after this. */
const END_GRACE_MS = 2000;

function destroy(socket: Socket): void {
  socket.destroy();
}

export class TcpConnection extends JimConnection implements FrameSink {
  /** When it last received something (heartbeat timeout, docs/jim-gateway.md). */
  lastRx = Date.now();
  /** Closed at this time (ms) unless logged in by then; 0 = no deadline (server.ts sweep). */
  loginBy = 0;
  /** The start of a frame not yet complete; null between frames. */
  private partial: PartialFrame | null = null;

  constructor(
    host: ConnectionHost,
    readonly socket: Socket,
  ) {
    super(host);
  }

  get protocol(): Protocol {
    return "tcp";
  }

  /** The peer's address, from the socket (never from anything the peer sends). */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }

  /** Bytes held for a frame not yet complete (0 between frames). */
  get bufferedBytes(): number {
    return this.partial?.length ?? 0;
  }

  /** What one read returned. */
  data(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.partial = feedFrames(this.partial, chunk, this.host.maxBodyBytes, this);
    } catch (err) {
      // Unknown version or command, negative or oversized length: close (nothing is sent).
      this.log.info({ reason: (err as FrameError).message, user: this.user }, "j-im tcp frame refused; closing");
      this.partial = null;
      this.close();
      return;
    }
    if (this.closed) this.partial = null;
  }

  frame(cmd: number, synSeq: number, body: Buffer): void {
    this.receive(cmd, body.toString("utf8"), synSeq);
  }

  protected write(command: number, json: string, synSeq: number): void {
    this.socket.write(encodeFrame(command, json, synSeq));
  }

  buffered(): number {
    return this.socket.writableLength;
  }

  protected endWire(): void {
    this.socket.end();
    setTimeout(destroy, END_GRACE_MS, this.socket).unref();
  }

  protected pauseInput(): void {
    this.socket.pause();
  }

  protected resumeInput(): void {
    this.socket.resume();
  }
}
