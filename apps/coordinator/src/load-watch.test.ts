/** The admin hears of an overloaded coordinator: a blocked event loop turns into a warning and `overloaded`. */
import { describe, expect, it } from 'vitest';
import { LoadWatch } from './load-watch.ts';
import { createMemoryLogger } from './logger.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LoadWatch', () => {
  it('reports a blocked event loop as overloaded with a plain warning, and recovers', async () => {
    const logger = createMemoryLogger();
    const watch = new LoadWatch(logger, { windowMs: 300, limitMs: 50 });
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
});
