// SIGTERM / SIGINT (docs/configuration.md "Stopping"): a graceful stop within a bound. The first
// signal starts Tlim.stop() (nothing new accepted; what was accepted committed, delivered and
// answered; cursors flushed; listeners and the database closed) and exits 0 when it is done. If it
// is not done within the bound, or a second signal comes, tlim exits 1 and logs the step it was at
// and how many accepted messages had not been answered yet (they were not acknowledged either:
// their senders send them again).
import type { Logger } from "./log.js";

export interface Stoppable {
  stop(): Promise<void>;
  /** The step stop() is at. */
  readonly stage: string;
  /** Accepted messages whose sender has not been answered yet. */
  unsettled(): number;
}

export interface ShutdownOptions {
  timeoutMs: number;
  log: Logger;
  /** process.exit, or a test's stand-in. */
  exit(code: number): void;
}

/** Returns the handler for SIGTERM and SIGINT (call it with the signal's name). */
export function gracefulShutdown(target: Stoppable, opts: ShutdownOptions): (signal: string) => void {
  const { log, timeoutMs } = opts;
  let started = 0;
  let over = false;
  const finish = (code: number) => {
    if (over) return;
    over = true;
    opts.exit(code);
  };
  const left = () => ({ stage: target.stage, unanswered: target.unsettled(), elapsedMs: Date.now() - started });
  return (signal: string) => {
    if (over) return;
    if (started !== 0) {
      log.error({ signal, ...left() }, "second signal: exiting now, before the graceful stop finished");
      return finish(1);
    }
    started = Date.now();
    log.info({ signal, timeoutMs }, "shutting down: no new connections or messages; committing and answering what was accepted");
    const timer = setTimeout(() => {
      log.error({ ...left(), timeoutMs }, "graceful stop did not finish in time (TLIM_SHUTDOWN_TIMEOUT_S): exiting");
      finish(1);
    }, timeoutMs);
    target.stop().then(
      () => {
        clearTimeout(timer);
        log.info({ elapsedMs: Date.now() - started }, "graceful stop complete");
        finish(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        log.error({ err, ...left() }, "graceful stop failed");
        finish(1);
      },
    );
  };
}
