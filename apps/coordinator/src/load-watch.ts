/**
 * Whether the coordinator keeps up: the event-loop delay over the last few seconds (`monitorEventLoopDelay`). When
 * its p99 passes the limit, the admin is told in plain words (a warning in the log, `load` in `/healthz`, the gauge
 * in `/metrics`) instead of finding sites that timed out: a round too large for this machine shows here first. Only
 * a sustained delay counts (`sustainWindows` windows in a row, default 2: 10 s): a single slow moment (the demo's
 * start, a model load, another program's burst) is not an overload.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from './logger.ts';

export interface LoadStatus {
  /** The event-loop delay p99 went past the limit in the last `sustainWindows` windows. */
  overloaded: boolean;
  /** Event-loop delay p99 of the last window, in milliseconds (null before the first window ends). */
  loopDelayP99Ms: number | null;
}

export class LoadWatch {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private state: LoadStatus = { overloaded: false, loopDelayP99Ms: null };

  constructor(logger: Logger, options: { windowMs?: number; limitMs?: number; sustainWindows?: number } = {}) {
    const windowMs = options.windowMs ?? 5000;
    const limitMs = options.limitMs ?? 100;
    const sustainWindows = options.sustainWindows ?? 2;
    let windowsOver = 0;
    this.histogram.enable();
    this.timer = setInterval(() => {
      const p99 = this.histogram.count > 0 ? this.histogram.percentile(99) / 1e6 : 0;
      this.histogram.reset();
      windowsOver = p99 > limitMs ? windowsOver + 1 : 0;
      const overloaded = windowsOver >= sustainWindows;
      if (overloaded && !this.state.overloaded) {
        logger.warn(
          `the coordinator is overloaded: its event loop was delayed by up to ${p99.toFixed(0)} ms (p99, ${sustainWindows} windows of ${windowMs / 1000} s in a row, limit ${limitMs} ms); ` +
            'acknowledgements are slow and sites may time out. Run fewer sites per round on this machine, or a faster one, or stop other programs that take its CPU (see the README on capacity).',
          { loopDelayP99Ms: Math.round(p99) },
        );
      } else if (!overloaded && this.state.overloaded) {
        logger.info('the coordinator keeps up again', { loopDelayP99Ms: Math.round(p99) });
      }
      this.state = { overloaded, loopDelayP99Ms: Math.round(p99 * 10) / 10 };
    }, windowMs);
    this.timer.unref();
  }

  status(): LoadStatus {
    return this.state;
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
