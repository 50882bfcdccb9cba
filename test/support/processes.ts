// What the throwaway servers of the tests (prosody.ts, ejabberd.ts, mariadbd.ts) share: free
// loopback ports, a readiness probe, and a watchdog that cleans up after a test worker that died.
import { sleep } from "../../src/demo/processes.js";

// Shared with `tlim demo` (src/demo/processes.ts).
export { canConnect, freePort, sleep, spawnWatchdog } from "../../src/demo/processes.js";

/**
 * Starts a server again on the ports it had: both Prosody and ejabberd set SO_REUSEADDR, so
 * TIME_WAIT is no obstacle, but the old listening socket may linger a moment; `spawnAndWait`
 * rejects with `portInUse` set then, and is retried briefly.
 */
export async function respawnOnSamePorts(spawnAndWait: () => Promise<void>): Promise<void> {
  let lastErr: unknown;
  for (let i = 0; i < 5; i++) {
    try {
      await spawnAndWait();
      return;
    } catch (e) {
      lastErr = e;
      if (!(e as { portInUse?: boolean }).portInUse) throw e;
      await sleep(200);
    }
  }
  throw lastErr;
}
