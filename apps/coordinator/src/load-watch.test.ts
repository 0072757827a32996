/** The admin hears of an overloaded coordinator: a blocked event loop turns into a warning and `overloaded`. */
import { describe, expect, it } from 'vitest';
import { LoadWatch } from './load-watch.ts';
import { createMemoryLogger } from './logger.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LoadWatch', () => {
  it('reports a blocked event loop as overloaded with a plain warning, and recovers', async () => {
    const logger = createMemoryLogger();
    const watch = new LoadWatch(logger, { windowMs: 300, limitMs: 50, sustainWindows: 1 });
    expect(watch.status()).toEqual({ overloaded: false, loopDelayP99Ms: null });
    await sleep(50);
    const until = performance.now() + 250;
    while (performance.now() < until) {
      // a blocked event loop, as a too-large round would cause
    }
    // The window holding the block ends within 300 ms: the warning comes then.
    for (let i = 0; i < 40 && !logger.lines.some((l) => l.level === 'warn'); i++) await sleep(25);
    const warning = logger.lines.find((l) => l.level === 'warn');
    expect(warning?.message).toContain('overloaded');
    expect(warning?.message).toContain('fewer sites');
    // A quiet window later it keeps up again.
    for (let i = 0; i < 80 && !logger.lines.some((l) => l.message.includes('keeps up again')); i++) await sleep(25);
    expect(watch.status().overloaded).toBe(false);
    expect(logger.lines.some((l) => l.message.includes('keeps up again'))).toBe(true);
    watch.stop();
  });

  it('does not call one slow moment an overload, only a delay that lasts (default: two windows in a row)', async () => {
    const logger = createMemoryLogger();
    const watch = new LoadWatch(logger, { windowMs: 300, limitMs: 100 });
    await sleep(50);
    const block = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // busy
      }
    };
    block(250);
    // Two more windows: the block was one moment, no warning.
    await sleep(700);
    expect(logger.lines.some((l) => l.level === 'warn')).toBe(false);
    expect(watch.status().overloaded).toBe(false);
    // Blocked again and again for over two windows: an overload.
    const end = performance.now() + 2000;
    while (performance.now() < end && !logger.lines.some((l) => l.level === 'warn')) {
      block(200);
      await sleep(1);
    }
    for (let i = 0; i < 40 && !logger.lines.some((l) => l.level === 'warn'); i++) await sleep(25);
    expect(logger.lines.find((l) => l.level === 'warn')?.message).toContain('2 windows');
    watch.stop();
  });
});
