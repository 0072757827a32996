import { describe, expect, it } from 'vitest';
import { chartPath, chartTicks } from './chart-scale.ts';

describe('chart scale', () => {
  it('gives nice ticks', () => {
    expect(chartTicks(0, 1, 5, false)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(chartTicks(1, 3, 6, true)).toEqual([1, 2, 3]);
    expect(chartTicks(1, 50, 5, true)).toEqual([10, 20, 30, 40, 50]);
    expect(chartTicks(2, 2, 5, true)).toEqual([2]);
  });

  it('draws a path in x order and breaks it at gaps', () => {
    const id = (v: number) => v;
    expect(chartPath([{ x: 2, y: 3 }, { x: 1, y: 1 }], id, id)).toBe('M1.0 1.0L2.0 3.0');
    expect(chartPath([{ x: 1, y: 1 }, { x: 2, y: Number.NaN }, { x: 3, y: 2 }], id, id)).toBe('M1.0 1.0M3.0 2.0');
  });
});
