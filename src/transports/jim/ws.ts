// A J-IM connection over WebSocket (spec §1.3): JSON text frames both ways.
import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import { JimConnection, type ConnectionHost, type Protocol } from "./connection.js";

export class WsConnection extends JimConnection {
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

  protected write(_command: number, json: string): void {
    this.ws.send(json);
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
