/** The SVG line chart rendered to static markup: series with the same values stay visible (issue 12). */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { LineChart } from './line-chart.tsx';

/** Centre of every marker, per series, in drawing order. */
function markerCentres(html: string): { x: number; y: number }[][] {
  // The chart's own SVG only (the legend draws a marker per series too).
  const chart = html.slice(0, html.indexOf('</svg>'));
  const groups = chart.split('<g class="chart-series ').slice(1);
  return groups.map((group) => {
    const centres: { x: number; y: number }[] = [];
    for (const m of group.matchAll(/<circle cx="([\d.-]+)" cy="([\d.-]+)"/g)) centres.push({ x: Number(m[1]), y: Number(m[2]) });
    for (const m of group.matchAll(/<rect x="([\d.-]+)" y="([\d.-]+)" width="7" height="7"/g)) centres.push({ x: Number(m[1]) + 3.5, y: Number(m[2]) + 3.5 });
    for (const m of group.matchAll(/<path d="M([\d.-]+) ([\d.-]+)L[\d.-]+ [\d.-]+L[\d.-]+ [\d.-]+Z"/g)) centres.push({ x: Number(m[1]), y: Number(m[2]) + 4.5 });
    return centres.sort((a, b) => a.x - b.x);
  });
}

describe('line chart', () => {
  it('keeps series with identical values apart, so none hides behind another', () => {
    const points = [
      { x: 1, y: 0.25 },
      { x: 2, y: 0.25 },
      { x: 3, y: 0.5 },
    ];
    const html = renderToStaticMarkup(
      <LineChart title="Global model" xLabel="Round" xDomain={[1, 3]} series={[{ name: 'Accuracy', points }, { name: 'Balanced accuracy', points, dashed: true }, { name: 'Hospital C', points }]} />,
    );
    const [a = [], b = [], c = []] = markerCentres(html);
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(3);
    expect(c).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const pairs = [[a, b], [b, c], [a, c]] as const;
      for (const [p, q] of pairs) {
        const distance = Math.hypot((p[i]?.x ?? 0) - (q[i]?.x ?? 0), (p[i]?.y ?? 0) - (q[i]?.y ?? 0));
        expect(distance).toBeGreaterThanOrEqual(4);
      }
    }
  });

  it('draws distinct values where they are', () => {
    const html = renderToStaticMarkup(
      <LineChart title="t" xLabel="Round" xDomain={[1, 2]} series={[{ name: 'A', points: [{ x: 1, y: 0 }, { x: 2, y: 1 }] }, { name: 'B', points: [{ x: 1, y: 1 }, { x: 2, y: 0 }] }]} />,
    );
    const [a, b] = markerCentres(html);
    // Same rounds, opposite values: the markers sit on the grid's top and bottom lines.
    expect(a?.map((p) => p.y)).toEqual(b?.map((p) => p.y).reverse());
  });
});
