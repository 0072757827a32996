/**
 * Model and feature downloads, answered a few per turn of the event loop. When a round starts, every site asks for
 * the global model at once; answering them all in the turn that read the requests writes N x 1-2 MiB to sockets
 * without a break (about 1.5 s at 1000 sites on loopback), and for that long no ack, no heartbeat and no API request
 * is served. Here each answer is produced when its turn comes (so it reflects the site's state then), at most
 * `perTurn` of them per turn, the rest after the loop has run its timers and I/O again (`setImmediate` queued from an
 * immediate runs in the next turn).
 */
export class DownloadPacer {
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  constructor(private readonly perTurn = 8) {}

  /** `produce()`'s result, once the earlier downloads were answered. */
  next<T>(produce: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => {
        try {
          resolve(produce());
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      this.schedule();
    });
  }

  /** Downloads waiting for their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.drain();
    });
  }

  private drain(): void {
    this.scheduled = false;
    for (const run of this.queue.splice(0, this.perTurn)) run();
    if (this.queue.length > 0) this.schedule();
  }
}
