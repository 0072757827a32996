/** Pure helpers for the SVG charts: ticks and paths. */

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly ChartPoint[];
  /** A CSS colour; by default the series takes the palette colour of its position. */
  readonly color?: string;
  readonly dashed?: boolean;
}

/**
 * About `count` evenly spaced ticks from `min` to `max` on "nice" steps (1, 2, 5 × 10^k). With `integers`, steps are
 * whole numbers (rounds).
 */
export function chartTicks(min: number, max: number, count: number, integers: boolean): number[] {
  if (!(max > min) || count < 1) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step0 = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const step = integers ? Math.max(1, Math.round(step0)) : step0;
  const start = Math.ceil(min / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = start; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  return ticks;
}

/** An SVG path through the points in x order; gaps (non-finite y) break the line. */
export function chartPath(points: readonly ChartPoint[], sx: (x: number) => number, sy: (y: number) => number): string {
  const sorted = [...points].sort((a, b) => a.x - b.x);
  let d = '';
  let pen = false;
  for (const p of sorted) {
    if (!Number.isFinite(p.y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`;
    pen = true;
  }
  return d;
}
