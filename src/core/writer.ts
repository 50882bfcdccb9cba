// Group commit (DESIGN §3): accepted messages queue up; one writer takes everything that has
// accumulated (up to `maxBatch`) and commits it in one transaction, so the database round trip
// is paid per batch. While a batch is in flight the next one fills, which batches exactly as much
// as the load requires without adding a fixed delay. Arrival order is commit order.
// On a store with several connections (MySQL) the next batch starts as soon as the one before
// holds its locks, so two batches overlap; they still number and settle in arrival order.
import type { CommitOutcome, NewMessage, Store } from "../store/types.js";

interface Pending {
  message: NewMessage;
  resolve(o: CommitOutcome): void;
  reject(e: unknown): void;
}

export interface WriterStats {
  batches: number;
  messages: number;
  failures: number;
}

export class GroupCommitWriter {
  private queue: Pending[] = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];
  readonly stats: WriterStats = { batches: 0, messages: 0, failures: 0 };

  private readonly pipeline: boolean;

  constructor(
    private readonly store: Store,
    private readonly maxBatch: number,
    /** Batches committing at once on a store with concurrent commits. */
    private readonly maxInFlight: number,
    private readonly hooks: {
      /** Runs for each stored outcome in commit order, before any submitter hears back. */
      committed?: (o: CommitOutcome) => void;
      /** Wraps the `committed` calls of one batch (synchronously). */
      settling?: (f: () => void) => void;
      batchFailed?: (err: unknown, size: number) => void;
    } = {},
  ) {
    this.pipeline = store.concurrentCommits && maxInFlight > 1;
  }

  /** Resolves once the message is committed (or found to be a duplicate / refused). */
  submit(message: NewMessage): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Let the current tick's other submissions join the first batch.
        setImmediate(() => void this.drain());
      }
    });
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
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        let signalLocked!: () => void;
        const locked = new Promise<void>((r) => (signalLocked = r));
        const commit = this.store.commitBatch(batch.map((p) => p.message), { locked: signalLocked });
        const before = previous;
        const done = this.finish(batch, commit, before);
        previous = done;
        if (!this.pipeline) {
          await done;
          continue;
        }
        // Pipelined (DESIGN §3): the next batch starts once this one holds the locks that fix its
        // numbering, so it is numbered after it; its round trips overlap this one's writes.
        inFlight.add(done);
        void done.then(() => inFlight.delete(done));
        await Promise.race([locked, done]);
        if (inFlight.size >= this.maxInFlight) await Promise.race(inFlight);
      }
      await previous;
      if (this.queue.length === 0) break;
    }
    this.running = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Waits for the commit, then for every earlier batch to settle, then settles this one. */
  private async finish(batch: Pending[], commit: Promise<CommitOutcome[]>, before: Promise<void>): Promise<void> {
    let outcomes: CommitOutcome[] | null = null;
    let error: unknown;
    try {
      outcomes = await commit;
    } catch (err) {
      error = err;
    }
    await before;
    if (outcomes) {
      this.stats.batches++;
      this.stats.messages += batch.length;
      this.settle(batch, outcomes);
      return;
    }
    // Nothing of the batch is stored (one transaction); every sender gets an error and may
    // resend with the same msg_id safely.
    this.stats.failures++;
    this.hooks.batchFailed?.(error, batch.length);
    for (const p of batch) p.reject(error);
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
    batch.forEach((p, i) => p.resolve(outcomes[i]!));
  }
}
