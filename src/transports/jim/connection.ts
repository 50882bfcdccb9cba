// One J-IM connection (TCP or WebSocket): a device of its user once logged in. It runs its
// requests one after another in arrival order and keeps replies in request order (the chat
// reply 12 carries no message id: clients correlate by order). The wire under it
// (TCP framing, WebSocket) is a subclass: tcp.ts, ws.ts.
//
// Memory: a server holds one of these per connection, idle most of the time (100,000 and more,
// docs/performance.md "J-IM connections"). So a connection allocates nothing it does not use
// yet: no id, no group set before a group is bound, no promise chain while nothing waits, no
// closures (the server's listeners and the request queue are shared or allocated on demand).
import type { Logger } from "pino";
import { jimJson, type Packet } from "../../protocol/jim-commands.js";
import type { Dialect } from "../../protocol/jim-mapping.js";
import type { CommandTable } from "./commands/index.js";
import type { JimDeps } from "./context.js";
import { dispatch } from "./session.js";
import type { DeviceSync } from "./sync.js";

export type Protocol = "tcp" | "ws";

export type Outgoing = Packet | null | "close";

/** What every connection of one server shares. */
export interface ConnectionHost {
  readonly deps: JimDeps;
  readonly table: CommandTable;
  readonly maxBodyBytes: number;
}

/** Requests of one connection waiting for their turn beyond this pause its socket. */
export const MAX_QUEUED = 256;

/** A request (or the WebSocket auto-login) waiting behind one in progress. */
interface Waiting {
  cmd: number;
  raw: string;
  synSeq: number;
  body: Record<string, unknown> | null | undefined;
  task: (() => Promise<void>) | null;
}

const RESOLVED: Promise<void> = Promise.resolve();
const ignore = () => {};

function isPromise(v: unknown): v is Promise<unknown> {
  return v instanceof Promise || (typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function");
}

export abstract class JimConnection {
  /** The logged-in user, null before login. */
  user: string | null = null;
  /** Output dialect: v2 when the client spoke v2 at login (`loginname`), docs/jim-gateway.md "Decisions", 1. */
  dialect: Dialect = "v3";
  /** Groups (tlim sessions) this connection is bound to, null for none: join/exit notifies (commands 9 and 10). */
  groups: Set<string> | null = null;
  /** Offline bookkeeping of this device, set at login. */
  sync: DeviceSync | null = null;
  closed = false;
  /** Replies queued behind a reply still being built (a promise), and the last of them. */
  private pendingReplies = 0;
  private replyTail: Promise<void> | null = null;
  /** A request is in progress (its handler returned a promise); others wait in `waiting`. */
  private busy = false;
  private waiting: Waiting[] | null = null;

  constructor(protected readonly host: ConnectionHost) {}

  abstract get protocol(): Protocol;
  /** Writes one packet on the wire; `command` goes in the TCP header. */
  protected abstract write(command: number, json: string, synSeq: number): void;
  /** Bytes written but not yet sent (backpressure). */
  abstract buffered(): number;
  /** Ends the wire after what is written. */
  protected abstract endWire(): void;
  /** Stops / restarts reading (too many requests waiting). */
  protected abstract pauseInput(): void;
  protected abstract resumeInput(): void;

  /** Asks the wire for a confirmation of what was pushed so far (WebSocket: a ping); TCP J-IM
   * has none: its confirmation is the client's next frame, or the grace period. */
  barrier(): void {}

  /** The cursor key of this connection's device (docs/jim-gateway.md "Devices"). */
  get deviceKey(): string {
    return `jim:${this.protocol}`;
  }

  protected get log(): Logger {
    return this.host.deps.log;
  }

  /** One request; runs now, or after the requests before it that are still in progress. */
  receive(cmd: number, raw: string, synSeq: number, body?: Record<string, unknown> | null): void {
    if (this.closed) return;
    this.sync?.confirm(); // traffic after a push: the device read it (sync.ts)
    if (this.busy) return this.wait({ cmd, raw, synSeq, body, task: null });
    this.run(cmd, raw, synSeq, body);
  }

  /** Runs `task` as if it were a request (in order with the others). */
  exclusive(task: () => Promise<void>): void {
    if (this.busy) return this.wait({ cmd: -1, raw: "", synSeq: 0, body: null, task });
    this.busy = true;
    task().then(
      () => this.nextRequest(),
      () => this.nextRequest(),
    );
  }

  private wait(w: Waiting): void {
    const queue = (this.waiting ??= []);
    queue.push(w);
    if (queue.length === MAX_QUEUED) this.pauseInput();
  }

  private run(cmd: number, raw: string, synSeq: number, body: Record<string, unknown> | null | undefined): void {
    if (this.closed) return;
    let pending: void | Promise<void>;
    try {
      pending = dispatch(this.host.deps, this.host.table, this, cmd, raw, synSeq, body);
    } catch (err) {
      this.log.error({ err }, "j-im dispatch failed");
      return;
    }
    if (!pending) return;
    this.busy = true;
    pending.then(
      () => this.nextRequest(),
      (err: unknown) => {
        this.log.error({ err }, "j-im dispatch failed");
        this.nextRequest();
      },
    );
  }

  /** The request in progress is done: run the waiting ones until one is in progress again. */
  private nextRequest(): void {
    this.busy = false;
    const queue = this.waiting;
    while (queue && queue.length > 0 && !this.busy) {
      if (queue.length === MAX_QUEUED) this.resumeInput();
      const w = queue.shift()!;
      if (w.task) this.exclusive(w.task);
      else this.run(w.cmd, w.raw, w.synSeq, w.body);
    }
    if (!this.busy) this.waiting = null;
  }

  /** Writes now (pushes). */
  send(packet: Packet, synSeq = 0): void {
    if (this.closed) return;
    this.write(Number(packet.command ?? 0), jimJson(packet), synSeq);
  }

  /** Queues a reply behind earlier replies; a promise is awaited in turn. "close" ends the connection. */
  reply(out: Outgoing | Promise<Outgoing>, synSeq = 0): void {
    if (this.pendingReplies === 0 && !isPromise(out)) {
      try {
        this.emit(out, synSeq);
      } catch {
        // as below: a failed write is the socket's business
      }
      return;
    }
    this.pendingReplies++;
    this.replyTail = (this.replyTail ?? RESOLVED)
      .then(() => out)
      .then((packet) => this.emit(packet, synSeq))
      .catch(ignore) // a reply builder that throws already answered with its failure code (dispatcher)
      .then(() => {
        if (--this.pendingReplies === 0) this.replyTail = null;
      });
  }

  private emit(out: Outgoing, synSeq: number): void {
    if (out === "close") return this.close();
    if (out) this.send(out, synSeq);
  }

  /** Resolves when every queued reply is written. */
  drained(): Promise<void> {
    return this.replyTail ?? RESOLVED;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sync?.end();
    this.waiting = null;
    this.endWire();
    this.host.deps.hub.remove(this);
  }
}
