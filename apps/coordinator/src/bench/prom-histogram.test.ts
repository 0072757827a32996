import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseHistogram, windowQuantile } from './prom-histogram.ts';

async function exposition(observe: (h: Histogram) => void, registry = new Registry(), histogram?: Histogram): Promise<{ text: string; registry: Registry; histogram: Histogram }> {
  const h = histogram ?? new Histogram({ name: 'lag_seconds', help: 'test', buckets: [0.01, 0.02, 0.05, 0.1], registers: [registry] });
  observe(h);
  return { text: await registry.metrics(), registry, histogram: h };
}

describe('windowQuantile', () => {
  it('reads the buckets prom-client writes and interpolates inside the bucket, as histogram_quantile does', async () => {
    const { text } = await exposition((h) => {
      for (let i = 0; i < 98; i++) h.observe(0.005);
      h.observe(0.03);
      h.observe(0.04);
    });
    const buckets = parseHistogram(text, 'lag_seconds');
    expect(buckets.map((b) => b.le)).toEqual([0.01, 0.02, 0.05, 0.1, Number.POSITIVE_INFINITY]);
    expect(windowQuantile(0.5, buckets, null)).toBeCloseTo(0.01 * (50 / 98), 12);
    // Rank 99 of 100 is the first of the two observations in (0.02, 0.05]: halfway through that bucket.
    expect(windowQuantile(0.99, buckets, null)).toBeCloseTo(0.035, 12);
  });

  it('counts only what was observed between the two scrapes', async () => {
    const first = await exposition((h) => {
      for (let i = 0; i < 30; i++) h.observe(0.09); // a slow start-up, before the window
    });
    const before = parseHistogram(first.text, 'lag_seconds');
    const second = await exposition((h) => {
      for (let i = 0; i < 1000; i++) h.observe(0.011);
    }, first.registry, first.histogram);
    const after = parseHistogram(second.text, 'lag_seconds');
    expect(windowQuantile(0.99, after, null)).toBeGreaterThan(0.05); // since the start, the start-up dominates
    expect(windowQuantile(0.99, after, before)).toBeLessThanOrEqual(0.02);
  });

  it('is NaN over an empty window and a lower bound in the +Inf bucket', async () => {
    const { text } = await exposition((h) => {
      h.observe(3);
    });
    const buckets = parseHistogram(text, 'lag_seconds');
    expect(windowQuantile(0.99, buckets, buckets)).toBeNaN();
    expect(windowQuantile(0.99, buckets, null)).toBe(0.1);
    expect(parseHistogram('nothing here', 'lag_seconds')).toEqual([]);
  });
});
