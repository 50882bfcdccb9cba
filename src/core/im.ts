// The core: every transport calls in here, and only here: the store is private to it
// (docs/architecture.md). It never imports a transport or TypeORM. Dispatch gives every request
// exactly one answer: a SubmitResult, or an ImError (invalid, refused, unsupported, or internal
// after logging). What else it offers is split into small services, each with its own checks:
// `messaging`, `sessions`, `directory`, `files`, `board` (services/).
import type { Logger } from "pino";
import { Metrics } from "../metrics.js";
import { checkEnvelopeIds, msgClassOf } from "../protocol/envelope.js";
import { ImError } from "../protocol/errors.js";
import type { InboxItem, CommitOutcome, OnlineDevice, Store } from "../store/types.js";
import { CursorBook } from "./cursors.js";
import { addressId, IdError } from "../protocol/ids.js";
import { UserLimits } from "./limits.js";
import type { HandlerContext } from "./handlers/handler.js";
import { HandlerRegistry } from "./registry.js";
import { BoardService } from "./services/board.js";
import { DirectoryService } from "./services/directory.js";
import { FilesService } from "./services/files.js";
import { MessagingService } from "./services/messaging.js";
import { SessionService } from "./services/sessions.js";
import type { DeliverySink, Inbound, SubmitResult } from "./types.js";
import { GroupCommitWriter } from "./writer.js";

const SHUTTING_DOWN = "tlim is shutting down; nothing was stored, send again shortly";

export { SERVER_USER } from "./server-user.js";
export type { ConversationEntry } from "./services/messaging.js";

export interface CoreOptions {
  maxTextChars: number;
  /** 0 = unlimited. */
  revokeWindowS: number;
  writeBatchMax: number;
  /** Commit batches in flight at once when the store allows it (default 2). */
  writePipeline?: number;
  /** Messages waiting for the database beyond which senders get error-021 (default unbounded). */
  writeQueueMax?: number;
  /** A push to a device that never acknowledges counts as delivered after this (default 60 s). */
  ackGraceMs?: number;
  /** Per-user limits (error-020): messages per second (0 = none), burst, accepted-not-committed. */
  userRate?: number;
  userBurst?: number;
  userInFlightMax?: number;
  syncPageSize: number;
  cursorFlushMs?: number;
  /** Where the write path and the transports count (docs/operations.md); default: a private set nobody reads. */
  metrics?: Metrics;
}

export interface SubmitHooks {
  /** The message holds its place in the commit order, or was refused before getting one. */
  queued?: () => void;
}

/** The sender's id as the transport gave it, folded like every address (a JID's local part
 * comes folded from the server already; gateways pass what their users typed). */
function senderId(raw: string): string {
  try {
    return addressId(raw, "sender");
  } catch (err) {
    if (err instanceof IdError) throw ImError.forbidden(`the sender's id ${err.rule}`);
    throw err;
  }
}

export class ImCore {
  readonly writer: GroupCommitWriter;
  readonly cursors: CursorBook;
  /** The instance's metrics: the writer and every transport count here. */
  readonly metrics: Metrics;
  private readonly registry = new HandlerRegistry();
  private readonly sinks: DeliverySink[] = [];
  private readonly ctx: HandlerContext;
  private readonly limits: UserLimits;
  /** The submit whose handler is running synchronously right now wants to know when it commits. */
  private queuedHook: (() => void) | null = null;

  readonly messaging: MessagingService;
  readonly sessions: SessionService;
  readonly directory: DirectoryService;
  readonly files: FilesService;
  readonly board: BoardService;
  /** Private: transports reach the data through the services only. */
  readonly #store: Store;

  constructor(
    store: Store,
    private readonly opts: CoreOptions,
    private readonly log: Logger,
  ) {
    this.#store = store;
    this.metrics = opts.metrics ?? new Metrics();
    this.writer = new GroupCommitWriter(store, {
      maxBatch: opts.writeBatchMax,
      maxInFlight: opts.writePipeline ?? 2,
      maxQueued: opts.writeQueueMax,
    }, {
      committed: (o) => this.deliver(o),
      settling: (f) => this.corked(f),
      batchFailed: (err, size) => log.error({ err, size }, "commit failed; nothing of the batch was stored"),
    }, this.metrics);
    this.metrics.sources.writer = this.writer;
    this.cursors = new CursorBook(store, opts.cursorFlushMs ?? 1000, (err) =>
      log.warn({ err }, "device cursor write failed; those messages will be offered again"),
    );
    this.limits = new UserLimits({ ratePerS: opts.userRate ?? 0, burst: opts.userBurst ?? 1, inFlightMax: opts.userInFlightMax ?? Number.POSITIVE_INFINITY });
    this.ctx = {
      maxTextChars: opts.maxTextChars,
      revokeWindowMs: opts.revokeWindowS * 1000,
      store,
      now: () => Date.now(),
      commit: (m) => {
        const p = this.writer.submit(m);
        const queued = this.queuedHook;
        if (queued) {
          this.queuedHook = null;
          queued();
        }
        return p;
      },
    };
    this.directory = new DirectoryService(store);
    this.sessions = new SessionService(store, this.writer, this.directory);
    this.messaging = new MessagingService({
      store, writer: this.writer, cursors: this.cursors, sessions: this.sessions, directory: this.directory,
      openDevice: (userId, device) => this.openDevice(userId, device),
    });
    this.files = new FilesService(store);
    this.board = new BoardService(store);
  }

  /**
   * The XMPP devices seen online, kept in the store so that after a restart tlim asks them again
   * (docs/protocol.md "Devices"). Writes go in order, one at a time, and never fail a caller: a
   * lost write only means a device is asked again, or waits for its next presence.
   */
  readonly devices = {
    seen: (d: OnlineDevice): void => this.presenceWrite(() => this.#store.onlineDevicePut(d)),
    gone: (userId: string, resource: string): void => this.presenceWrite(() => this.#store.onlineDeviceRemove(userId, resource)),
    all: (): Promise<OnlineDevice[]> => this.#store.onlineDevices(),
  };
  private presenceWrites: Promise<void> = Promise.resolve();
  /** False once drain() began: submit refuses (graceful shutdown, docs/configuration.md "Stopping"). */
  private accepting = true;
  /** submit() calls not yet settled (accepted, maybe not yet in the writer). */
  private submitting = 0;
  private drainWaiters: Array<() => void> = [];

  private presenceWrite(write: () => Promise<void>): void {
    this.presenceWrites = this.presenceWrites.then(write).catch((err) => this.log.warn({ err }, "online device not recorded"));
  }

  /** How long a push to a device that never acknowledges waits before it counts as delivered. */
  get ackGraceMs(): number {
    return this.opts.ackGraceMs ?? 60_000;
  }

  addSink(sink: DeliverySink): void {
    this.sinks.push(sink);
  }

  /**
   * Accepts one message from a client. Resolves after commit; throws ImError on refusal.
   * `hooks.queued` runs once the message holds its place in the commit order (or was refused):
   * a transport that keeps a sender's messages in order waits for that, not for the commit, so
   * the next message of the same sender joins the same group commit.
   */
  async submit(inbound: Inbound, hooks: SubmitHooks = {}): Promise<SubmitResult> {
    let queued = false;
    const signal = () => {
      if (queued) return;
      queued = true;
      hooks.queued?.();
    };
    this.submitting++;
    try {
      // Nothing new once a shutdown began: the sender is told to send again (type="wait"); what
      // was accepted before still commits and is answered.
      if (!this.accepting) throw ImError.overloaded(SHUTTING_DOWN);
      // Ids are checked where each transport decodes them; again here for envelopes a gateway
      // built itself (cheap on valid ids), so nothing unchecked reaches the store or a socket.
      const env = checkEnvelopeIds(inbound.envelope);
      const sender = senderId(inbound.sender.userId);
      // msg_from must be the sender (docs/protocol.md; the original trusted it: spoofing).
      if (env.msg_from === "") env.msg_from = sender;
      if (env.msg_from !== sender) throw ImError.forbidden(`msg_from '${env.msg_from}' does not match the sender '${sender}'`);
      const cls = msgClassOf(env.msg_type);
      const handler = cls ? this.registry.lookup(env.msg_type, cls) : undefined;
      if (!handler) throw ImError.unsupported(`no handler for msg_type '${env.msg_type}'`);
      const release = this.limits.take(sender);
      // A handler that commits before its first await signals through ctx.commit (no per-call
      // context); one that reads first signals when it settles (the `finally` below).
      this.queuedHook = hooks.queued ? signal : null;
      let handled: Promise<SubmitResult>;
      try {
        handled = handler.handle(this.ctx, inbound);
      } finally {
        this.queuedHook = null;
      }
      try {
        return await handled;
      } catch (err) {
        if (err instanceof ImError) throw err;
        this.log.error({ err, msg_type: env.msg_type, msg_from: env.msg_from, msg_id: env.msg_id }, "handler failed");
        throw ImError.internal();
      } finally {
        release();
      }
    } finally {
      signal();
      if (--this.submitting === 0 && this.drainWaiters.length > 0) for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  /** Accepted messages whose submitter has not heard back yet (what a shutdown still waits for). */
  get unsettled(): number {
    return Math.max(this.submitting, this.writer.pending);
  }

  /**
   * Graceful shutdown, first step: refuses every new submit (error-021, type="wait"), then
   * resolves once every message accepted before has been committed (or refused), delivered and
   * answered to its submitter. Cursors are flushed by close().
   */
  async drain(): Promise<void> {
    this.accepting = false;
    while (this.submitting > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
    // The services (HTTP business messages, revokes, dissolves) submit to the writer directly:
    // closing it refuses theirs too, at the one place every message passes.
    this.writer.close(SHUTTING_DOWN);
    await this.writer.idle();
  }

  /** Runs a batch's deliveries inside every sink's `corked`. */
  private corked(f: () => void): void {
    let run = f;
    for (const sink of this.sinks) {
      if (!sink.corked) continue;
      const inner = run;
      run = () => sink.corked!(inner);
    }
    run();
  }

  /** After commit, in commit order: every inbox entry goes to every sink. */
  private deliver(outcome: CommitOutcome): void {
    if (outcome.status !== "stored") return;
    for (const ref of outcome.inbox) {
      const item: InboxItem = { userId: ref.userId, inboxSeq: ref.inboxSeq, message: outcome.message };
      for (const sink of this.sinks) {
        try {
          sink.push(item);
        } catch (err) {
          this.log.error({ err, sink: sink.name }, "delivery sink failed");
        }
      }
    }
  }

  /**
   * Where a device's backlog starts. A device seen before resumes at its own cursor; a device
   * never seen starts where the user's most advanced device is (a new device does not replay
   * the user's whole past; history is there for that), and is remembered from now on.
   */
  async openDevice(userId: string, device: string): Promise<number> {
    const all = await this.cursors.all(userId);
    if (device in all) return all[device]!;
    const start = Math.max(0, ...Object.values(all));
    await this.#store.cursorAdvance([{ userId, device, seq: start }]);
    return start;
  }

  /** The user's inbox after `afterSeq`, a page at a time, ascending. */
  async *backlog(userId: string, afterSeq: number): AsyncGenerator<InboxItem[]> {
    let after = afterSeq;
    for (;;) {
      const page = await this.#store.inboxAfter(userId, after, this.opts.syncPageSize);
      if (page.length > 0) yield page;
      if (page.length < this.opts.syncPageSize) return;
      after = page[page.length - 1]!.inboxSeq;
    }
  }

  /**
   * A device acknowledged a message it received (XEP-0184 receipt naming the msg_id it was sent
   * with): its cursor moves to that message's inbox entry. Unknown ids are ignored.
   */
  async ackMessage(userId: string, device: string, convId: string, msgId: string): Promise<number | null> {
    const message = await this.#store.findMessageInConv(convId, msgId);
    if (!message) return null;
    const seq = await this.#store.inboxSeqOf(userId, convId, message.seq);
    if (seq !== null) this.cursors.advance(userId, device, seq);
    return seq;
  }

  async close(): Promise<void> {
    await this.writer.idle();
    await this.cursors.flush();
    await this.presenceWrites;
  }
}
