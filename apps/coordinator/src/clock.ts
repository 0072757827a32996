/** Time, injected: the coordinator reads the time and sets deadline timers only through a Clock. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once after `ms` milliseconds. */
  setTimer(ms: number, callback: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, callback) {
    // setTimeout overflows above 2^31-1 ms (about 24.8 days); deadlines are capped at 7 days.
    const handle = setTimeout(callback, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    handle.unref();
    return { cancel: () => { clearTimeout(handle); } };
  },
};

/** A clock that only moves when told: tests drive deadlines with `advance`. */
export class FakeClock implements Clock {
  private time: number;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 0;

  constructor(start = Date.UTC(2025, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(ms: number, callback: () => void): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ at: this.time + Math.max(0, ms), callback, id });
    return { cancel: () => { this.timers = this.timers.filter((t) => t.id !== id); } };
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t.id !== due.id);
      this.time = Math.max(this.time, due.at);
      due.callback();
    }
    this.time = target;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}
