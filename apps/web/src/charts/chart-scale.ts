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

/** Spacing between series drawn apart because their values coincide (pixels), and when points count as coinciding. */
export const OVERLAP_SPACING_PX = 5;
export const OVERLAP_TOLERANCE_PX = 3;

/**
 * Every series' points in screen coordinates, where series that would be drawn on top of each other (the same x and
 * values within `tolerancePx` on screen) are spread vertically by `spacingPx` around their common position, in
 * series order, so that no series hides behind another (identical accuracy and balanced accuracy, two hospitals
 * with the same results). Non-finite values stay non-finite (gaps). `moved` says whether any point was moved.
 */
export function separateOverlaps(
  series: readonly (readonly ChartPoint[])[],
  sx: (x: number) => number,
  sy: (y: number) => number,
  spacingPx = OVERLAP_SPACING_PX,
  tolerancePx = OVERLAP_TOLERANCE_PX,
): { points: ChartPoint[][]; moved: boolean } {
  const points = series.map((list) => list.map((p) => ({ x: sx(p.x), y: Number.isFinite(p.y) ? sy(p.y) : Number.NaN })));
  const byX = new Map<number, { series: number; index: number }[]>();
  points.forEach((list, s) => {
    list.forEach((p, index) => {
      if (!Number.isFinite(p.y)) return;
      const at = byX.get(p.x);
      if (at) at.push({ series: s, index });
      else byX.set(p.x, [{ series: s, index }]);
    });
  });
  let moved = false;
  const yOf = (e: { series: number; index: number }) => points[e.series]?.[e.index]?.y ?? Number.NaN;
  for (const entries of byX.values()) {
    if (entries.length < 2) continue;
    const sorted = [...entries].sort((a, b) => yOf(a) - yOf(b));
    const clusters: (typeof entries)[] = [];
    for (const entry of sorted) {
      const last = clusters[clusters.length - 1];
      const previous = last?.[last.length - 1];
      if (last && previous && yOf(entry) - yOf(previous) < tolerancePx) last.push(entry);
      else clusters.push([entry]);
    }
    for (const cluster of clusters) {
      if (cluster.length < 2) continue;
      const centre = cluster.reduce((sum, e) => sum + yOf(e), 0) / cluster.length;
      const ordered = [...cluster].sort((a, b) => a.series - b.series);
      const shifted = ordered.map((e, k) => ({ e, y: centre + (k - (ordered.length - 1) / 2) * spacingPx }));
      for (const { e, y } of shifted) {
        const p = points[e.series]?.[e.index];
        if (p) p.y = y;
      }
      moved = true;
    }
  }
  return { points, moved };
}
