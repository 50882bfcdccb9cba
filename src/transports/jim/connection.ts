// One J-IM connection (TCP or WebSocket): a device of its user once logged in. It knows how to
// write a packet on its own wire and keeps replies in request order (the chat reply 12 carries
// no message id: clients correlate by order, spec §2.11).
import { randomUUID } from "node:crypto";
import { jimJson, type Packet } from "../../protocol/jim-commands.js";
import type { Dialect } from "../../protocol/jim-mapping.js";
import { DeviceSync } from "./sync.js";

export type Protocol = "tcp" | "ws";

/** The wire under a connection: TCP framing or WebSocket text frames. */
export interface Wire {
  /** Writes one packet; `command` goes in the TCP header. */
  write(command: number, json: string, synSeq: number): void;
  /** Bytes written but not yet sent (backpressure). */
  buffered(): number;
  /** Ends the connection after what is written. */
  end(): void;
}

export type Outgoing = Packet | null | "close";

export class JimConnection {
  readonly id = randomUUID().replace(/-/g, "");
  /** The logged-in user, null before login. */
  user: string | null = null;
  /** Output dialect: v2 when the client spoke v2 at login (`loginname`), spec §6.1. */
  dialect: Dialect = "v3";
  /** Groups (tlim sessions) this connection is bound to: join/exit notifies (spec §2.9-2.10). */
  readonly groups = new Set<string>();
  /** Offline bookkeeping of this device, set at login. */
  sync: DeviceSync | null = null;
  closed = false;
  private replies: Promise<void> = Promise.resolve();

  constructor(
    readonly protocol: Protocol,
    private readonly wire: Wire,
    private readonly onClose: () => void = () => {},
  ) {}

  /** The cursor key of this connection's device (docs/jim-gateway.md "Devices"). */
  get deviceKey(): string {
    return `jim:${this.protocol}`;
  }

  /** Writes now (pushes). */
  send(packet: Packet, synSeq = 0): void {
    if (this.closed) return;
    this.wire.write(Number(packet.command ?? 0), jimJson(packet), synSeq);
  }

  /** Queues a reply behind earlier replies; a promise is awaited in turn. "close" ends the connection. */
  reply(out: Outgoing | Promise<Outgoing>, synSeq = 0): void {
    this.replies = this.replies.then(async () => {
      const packet = await out;
      if (packet === "close") return this.close();
      if (packet) this.send(packet, synSeq);
    }).catch(() => {
      // A reply builder that throws already answered with its failure code (dispatcher).
    });
  }

  /** Resolves when every queued reply is written. */
  drained(): Promise<void> {
    return this.replies;
  }

  buffered(): number {
    return this.wire.buffered();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wire.end();
    this.onClose();
  }
}
