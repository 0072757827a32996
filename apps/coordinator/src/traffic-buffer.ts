/**
 * Bytes sent to sites (models, features), counted in memory and written once a second in one transaction: a model
 * download is not worth a durable write (an fsync) of its own, and at the start of a round every site downloads one.
 * A kill -9 loses at most the last second of these counts, never an update.
 */
import type { CoordinatorStore } from './store/store.ts';

const FLUSH_MS = 1000;

export class TrafficBuffer {
  private readonly pending = new Map<string, { federationId: string; round: number; bytesSent: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: CoordinatorStore,
    private readonly onError: (error: unknown) => void,
  ) {}

  sent(federationId: string, round: number, bytes: number): void {
    const key = `${federationId}\u0000${round}`;
    const entry = this.pending.get(key);
    if (entry) entry.bytesSent += bytes;
    else this.pending.set(key, { federationId, round, bytesSent: bytes });
    if (this.timer === null) {
      this.timer = setTimeout(() => { this.flush(); }, FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes what is counted (also before reading the counts, and at shutdown). */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()];
    this.pending.clear();
    try {
      this.store.transaction(() => {
        for (const e of entries) if (this.store.getFederation(e.federationId)) this.store.addTraffic(e.federationId, e.round, { bytesReceived: 0, bytesSent: e.bytesSent });
      });
    } catch (error) {
      this.onError(error);
    }
  }

  /** A deleted federation's counts are dropped. */
  forget(federationId: string): void {
    for (const [key, entry] of this.pending) if (entry.federationId === federationId) this.pending.delete(key);
  }
}
