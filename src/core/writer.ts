// Group commit (docs/architecture.md "The write path"): accepted messages queue up; one writer takes everything that has
// accumulated (up to `maxBatch`) and commits it in one transaction, so the database round trip
// is paid per batch. While a batch is in flight the next one fills, which batches exactly as much
// as the load requires without adding a fixed delay. Arrival order is commit order.
//
// On a store with several connections (MySQL) the next batch starts as soon as the one before
// holds its locks, so two batches overlap. Order under retries (docs/reliability.md "Order"):
//  - a batch commits only once the batch before it has finished (`ready`): if the one before
//    must run again (a deadlock, a lock timeout, another instance's duplicate after its locks
//    were taken), this one rolls back too and both run again, in their original order — so no
//    batch is ever numbered after a batch that settles after it, and arrival order holds;
//  - a message whose (msg_from, msg_id) is already queued or in flight never reaches the
//    database a second time: it waits for the first one and shares its outcome as a duplicate;
//  - the queue is bounded: beyond `maxQueued` waiting messages a sender gets a wait error
//    (error-021) instead of memory growing while the database is slow or gone.
import type { Metrics } from "../metrics.js";
import { Outcome } from "../metrics.js";
import { ImError } from "../protocol/errors.js";
import { RetryBatch, type CommitOutcome, type NewMessage, type Store } from "../store/types.js";

interface Pending {
  message: NewMessage;
  key: string;
  /** Times this message's batch had to run again. */
  retries: number;
  /** performance.now() when it reached the writer (received → committed latency). */
  at: number;
  resolve(o: CommitOutcome): void;
  reject(e: unknown): void;
  /** Same (msg_from, msg_id) submitted while this one was queued or in flight. */
  followers: Array<{ resolve(o: CommitOutcome): void; reject(e: unknown): void }> | null;
}

export interface WriterStats {
  batches: number;
  messages: number;
  failures: number;
  /** Batches rolled back and run again to keep numbering in settling order. */
  reruns: number;
}

export interface WriterOptions {
  maxBatch: number;
  /** Batches committing at once on a store with concurrent commits. */
  maxInFlight: number;
  /** Messages waiting (queued, not yet in a batch) beyond which submit refuses. */
  maxQueued?: number;
  /** Runs of one batch before its messages fail (every run is rolled back, nothing half-stored). */
  maxRetries?: number;
}

export interface WriterHooks {
  /** Runs for each stored outcome in commit order, before any submitter hears back. */
  committed?: (o: CommitOutcome) => void;
  /** Wraps the `committed` calls of one batch (synchronously). */
  settling?: (f: () => void) => void;
  batchFailed?: (err: unknown, size: number) => void;
}

const keyOf = (m: NewMessage) => `${m.msgFrom}\u0000${m.msgId}`;

/** A promise that never reports an unhandled rejection (it is awaited later, or not at all). */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

export class GroupCommitWriter {
  private queue: Pending[] = [];
  /** Batches rolled back to run again, in settling order; they go back ahead of the queue once
   * everything in flight has settled. */
  private reruns: Pending[] = [];
  /** Every queued or in-flight message by (msg_from, msg_id). */
  private readonly live = new Map<string, Pending>();
  private running = false;
  private idleWaiters: Array<() => void> = [];
  readonly stats: WriterStats = { batches: 0, messages: 0, failures: 0, reruns: 0 };

  private readonly pipeline: boolean;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly maxRetries: number;

  constructor(
    private readonly store: Store,
    opts: WriterOptions,
    private readonly hooks: WriterHooks = {},
    /** Batch sizes, commit durations, per-message latency and outcomes (docs/operations.md). */
    private readonly metrics: Metrics | null = null,
  ) {
    this.maxBatch = opts.maxBatch;
    this.maxInFlight = opts.maxInFlight;
    this.maxQueued = opts.maxQueued ?? Number.POSITIVE_INFINITY;
    this.maxRetries = opts.maxRetries ?? 5;
    this.pipeline = store.concurrentCommits && opts.maxInFlight > 1;
  }

  /** Set by close(): why submits are refused. */
  private closedWith: string | null = null;

  /** Messages waiting for a batch (the bounded part). */
  get queued(): number {
    return this.queue.length;
  }

  /** Messages queued or in flight. */
  get pending(): number {
    return this.live.size;
  }

  /**
   * Resolves once the message is committed (or found to be a duplicate / refused). Rejects with
   * error-021 at once when the queue is full (nothing is stored; the sender may send again).
   */
  submit(message: NewMessage): Promise<CommitOutcome> {
    const key = keyOf(message);
    const first = this.live.get(key);
    if (first) {
      // The same message again (a client resending before its ack): never a second insert.
      return new Promise((resolve, reject) => (first.followers ??= []).push({ resolve, reject }));
    }
    if (this.closedWith !== null) return Promise.reject(ImError.overloaded(this.closedWith));
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(ImError.overloaded(`the write queue is full (${this.maxQueued} messages wait for the database); nothing was stored, send again later`));
    }
    return new Promise((resolve, reject) => {
      const p: Pending = { message, key, retries: 0, at: performance.now(), resolve, reject, followers: null };
      this.live.set(key, p);
      this.queue.push(p);
      if (!this.running) {
        this.running = true;
        // Let the current tick's other submissions join the first batch.
        setImmediate(() => void this.drain());
      }
    });
  }

  /**
   * Graceful shutdown: every later submit is refused with error-021 and `reason` (nothing is
   * stored, the sender may send again), whichever path it comes by (XMPP, J-IM, HTTP services);
   * what was accepted before still commits. Then wait for idle().
   */
  close(reason: string): void {
    this.closedWith ??= reason;
  }

  /** Resolves when nothing is queued or in flight (used at shutdown). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async drain(): Promise<void> {
    // Settlement chain: batches settle in the order they were taken, whatever order the
    // database finishes them in.
    let previous: Promise<void> = Promise.resolve();
    // Resolves when the batch before has finished for good (committed, or failed without a
    // rerun); rejects when it will run again, so the next one must roll back and run again too.
    let finished: Promise<void> = Promise.resolve();
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      while (this.queue.length > 0 && this.reruns.length === 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        let signalLocked!: () => void;
        const locked = new Promise<void>((r) => (signalLocked = r));
        const ready = this.pipeline ? quiet(finished) : undefined;
        const started = performance.now();
        const commit = this.store.commitBatch(batch.map((p) => p.message), { locked: signalLocked, ready });
        const rerun = { value: false };
        const before = previous;
        const done = this.finish(batch, commit, before, rerun, started);
        previous = done;
        finished = quiet(done.then(() => {
          if (rerun.value) throw new RetryBatch(new Error("an earlier batch runs again"));
        }));
        if (!this.pipeline) {
          await done;
          continue;
        }
        // Pipelined: the next batch starts once this one holds the locks that fix its
        // numbering, so it is numbered after it; its round trips overlap this one's writes.
        inFlight.add(done);
        void done.then(() => inFlight.delete(done));
        await Promise.race([locked, done]);
        if (inFlight.size >= this.maxInFlight) await Promise.race(inFlight);
      }
      await previous;
      if (this.reruns.length > 0) {
        // Everything that was in flight has settled (the batches after a rerun rolled back at
        // their `ready`): run them again first, in their original order, on a fresh chain.
        this.queue.unshift(...this.reruns.splice(0));
        finished = Promise.resolve();
      }
      if (this.queue.length === 0) break;
    }
    this.running = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Waits for the commit, then for every earlier batch to settle, then settles this one. */
  private async finish(batch: Pending[], commit: Promise<CommitOutcome[]>, before: Promise<void>, rerun: { value: boolean }, started: number): Promise<void> {
    let outcomes: CommitOutcome[] | null = null;
    let error: unknown;
    try {
      outcomes = await commit;
    } catch (err) {
      error = err;
    }
    if (outcomes && this.metrics) this.measure(batch, outcomes, started);
    await before;
    if (outcomes) {
      this.stats.batches++;
      this.stats.messages += batch.length;
      this.settle(batch, outcomes);
      return;
    }
    if (error instanceof RetryBatch && batch.every((p) => p.retries < this.maxRetries)) {
      // Rolled back: runs again ahead of everything that arrived later (the batches after this
      // one roll back at their `ready` and land behind it, in order).
      rerun.value = true;
      this.stats.reruns++;
      for (const p of batch) p.retries++;
      this.reruns.push(...batch);
      return;
    }
    // Nothing of the batch is stored (one transaction); every sender gets an error and may
    // resend with the same msg_id safely.
    const cause = error instanceof RetryBatch ? error.cause : error;
    this.stats.failures++;
    this.hooks.batchFailed?.(cause, batch.length);
    for (const p of batch) {
      this.live.delete(p.key);
      p.reject(cause);
      for (const f of p.followers ?? []) f.reject(cause);
    }
  }

  /** One clock read per batch; one histogram slot per message (src/metrics.ts). */
  private measure(batch: Pending[], outcomes: CommitOutcome[], started: number): void {
    const m = this.metrics!;
    const now = performance.now();
    m.commitDuration.observe((now - started) / 1000);
    m.batchSize.observe(batch.length);
    let stored = 0;
    let duplicate = 0;
    for (let i = 0; i < batch.length; i++) {
      m.commitLatency.observe((now - batch[i]!.at) / 1000);
      const status = outcomes[i]?.status;
      if (status === "stored") stored++;
      else if (status === "duplicate") duplicate++;
    }
    m.committed.inc(Outcome.stored, stored);
    m.committed.inc(Outcome.duplicate, duplicate);
    m.committed.inc(Outcome.rejected, batch.length - stored - duplicate);
  }

  private settle(batch: Pending[], outcomes: CommitOutcome[]): void {
    const deliver = () => {
      for (const o of outcomes) {
        try {
          this.hooks.committed?.(o);
        } catch {
          // Delivery problems never un-commit a message; the sink logs its own failures.
        }
      }
    };
    try {
      if (this.hooks.settling) this.hooks.settling(deliver);
      else deliver();
    } catch {
      // as above
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      this.live.delete(p.key);
      p.resolve(o);
      if (p.followers) {
        const copy: CommitOutcome = o.status === "rejected" ? o : { status: "duplicate", message: o.message };
        for (const f of p.followers) f.resolve(copy);
      }
    });
  }
}
