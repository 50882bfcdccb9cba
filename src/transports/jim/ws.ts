// A J-IM connection over WebSocket (docs/jim-gateway.md "WebSocket"): JSON text frames both ways.
import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import { JimConnection, type ConnectionHost, type Protocol } from "./connection.js";

export class WsConnection extends JimConnection {
  /** When it last received something (heartbeat timeout, docs/jim-gateway.md; set by server.ts). */
  lastRx = Date.now();
  /** Closed at this time (ms) unless logged in by then; 0 = no deadline (server.ts sweep). */
  loginBy = 0;

  constructor(
    host: ConnectionHost,
    private readonly ws: WebSocket,
    /** The TCP socket under the WebSocket: paused when too many requests wait. */
    private readonly socket: Socket,
  ) {
    super(host);
  }

  get protocol(): Protocol {
    return "ws";
  }

  /** The peer's address, from the TCP socket (never from headers such as X-Forwarded-For). */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }

  protected write(_command: number, json: string): void {
    this.ws.send(json);
  }

  /** A WebSocket ping behind pushes: the client's pong (RFC 6455 §5.5.3, sent by every
   * WebSocket stack after reading what came before the ping) confirms them (sync.ts). */
  override barrier(): void {
    this.ping();
  }

  /** A protocol-level ping (RFC 6455 §5.5.2): the barrier above, and the keepalive of an idle
   * connection (server.ts sweep), whose pong counts as traffic. Its payload is the highest seq
   * pushed so far, which the pong echoes (RFC 6455 §5.5.3): the pong confirms exactly what was pushed
   * before the ping, not what was pushed while it travelled. */
  ping(): void {
    try {
      this.ws.ping(String(this.sync?.unconfirmedUpTo ?? 0));
    } catch {
      // closing: what was pushed stays unconfirmed, and the sweep ends it anyway
    }
  }

  buffered(): number {
    return this.ws.bufferedAmount;
  }

  protected endWire(): void {
    this.ws.close();
  }

  protected pauseInput(): void {
    this.socket.pause();
  }

  protected resumeInput(): void {
    this.socket.resume();
  }
}
