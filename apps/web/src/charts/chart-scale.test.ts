import { describe, expect, it } from 'vitest';
import { chartPath, chartTicks, separateOverlaps } from './chart-scale.ts';

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

describe('overlapping series', () => {
  const id = (v: number) => v;

  it('spreads series with the same values apart, in series order, around their common position', () => {
    const same = [{ x: 1, y: 100 }, { x: 2, y: 50 }];
    const { points, moved } = separateOverlaps([same, same, same], id, id);
    expect(moved).toBe(true);
    expect(points.map((p) => p.map((q) => q.y))).toEqual([
      [95, 45],
      [100, 50],
      [105, 55],
    ]);
  });

  it('leaves distinct values and gaps where they are', () => {
    const { points, moved } = separateOverlaps([[{ x: 1, y: 10 }, { x: 2, y: Number.NaN }], [{ x: 1, y: 60 }, { x: 2, y: 20 }]], id, id);
    expect(moved).toBe(false);
    expect(points[0]?.[0]?.y).toBe(10);
    expect(points[0]?.[1]?.y).toBeNaN();
    expect(points[1]?.map((p) => p.y)).toEqual([60, 20]);
  });

  it('moves only the points that coincide', () => {
    const { points } = separateOverlaps([[{ x: 1, y: 10 }, { x: 2, y: 30 }], [{ x: 1, y: 11 }, { x: 2, y: 80 }]], id, id);
    expect(points.map((p) => p.map((q) => q.y))).toEqual([
      [8, 30],
      [13, 80],
    ]);
  });
});
