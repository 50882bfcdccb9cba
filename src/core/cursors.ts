// Device cursors (docs/protocol.md "Devices: online, offline and acknowledgements"): the highest inbox seq a device has. Advances are kept in memory
// and written in one transaction every `flushMs`, so a live push does not cost a database write.
// Losing unflushed advances in a crash only means those messages are sent again (at least once).
import type { Store } from "../store/types.js";

const key = (userId: string, device: string) => `${userId}\u0000${device}`;

export class CursorBook {
  private pending = new Map<string, { userId: string; device: string; seq: number }>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly flushMs = 1000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Monotonic: a lower seq than already known is ignored. */
  advance(userId: string, device: string, seq: number): void {
    const k = key(userId, device);
    const cur = this.pending.get(k);
    if (cur && cur.seq >= seq) return;
    this.pending.set(k, { userId, device, seq });
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  async get(userId: string, device: string): Promise<number> {
    await this.flushing; // an advance being written is in neither place otherwise
    const stored = await this.store.cursorGet(userId, device);
    return Math.max(stored, this.pending.get(key(userId, device))?.seq ?? 0);
  }

  /** All of a user's device cursors, pending advances included. */
  async all(userId: string): Promise<Record<string, number>> {
    await this.flushing;
    const rows = await this.store.cursorsOf(userId);
    for (const p of this.pending.values()) {
      if (p.userId === userId) rows[p.device] = Math.max(rows[p.device] ?? 0, p.seq);
    }
    return rows;
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = [...this.pending.values()];
    this.pending.clear();
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.store.cursorAdvance(batch);
      } catch {
        // One bad row must not cost the others their advance: write them one by one.
        for (const p of batch) {
          try {
            await this.store.cursorAdvance([p]);
          } catch (err) {
            this.onError(err);
          }
        }
      }
    });
    return this.flushing;
  }
}
