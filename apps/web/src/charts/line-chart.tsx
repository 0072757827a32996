import { useId } from 'react';
import { useElementWidth } from '../components/use-element-width.ts';
import { chartTicks, chartPath, separateOverlaps, type ChartSeries } from './chart-scale.ts';

export interface LineChartProps {
  /** A short title, also read out by screen readers. */
  readonly title: string;
  readonly series: readonly ChartSeries[];
  readonly xLabel: string;
  /** Values are fractions in [0, 1] shown as percentages, unless `yFormat` says otherwise. */
  readonly yDomain?: readonly [number, number];
  readonly yFormat?: (value: number) => string;
  /** The x range; defaults to the data's. */
  readonly xDomain?: readonly [number, number];
  readonly emptyText?: string;
}

const MARGIN = { top: 12, right: 16, bottom: 40, left: 48 };

const percent = (value: number) => `${Math.round(value * 100)}%`;

/**
 * A small dependency-free SVG line chart: scales with its container, one colour and marker shape per series, a
 * legend, and the numbers as a table under a disclosure for keyboard and screen-reader users.
 */
export function LineChart({ title, series, xLabel, yDomain = [0, 1], yFormat = percent, xDomain, emptyText = 'No data yet.' }: LineChartProps) {
  const titleId = useId();
  // Drawn at its real width, so text keeps its size on a phone.
  const [frameRef, measured] = useElementWidth<HTMLElement>(560);
  const WIDTH = Math.max(260, measured);
  const HEIGHT = Math.round(Math.min(260, Math.max(180, WIDTH * 0.45)));
  const points = series.flatMap((s) => s.points);
  const xs = points.map((p) => p.x);
  const [x0, x1] = xDomain ?? [Math.min(1, ...xs), Math.max(1, ...xs)];
  const xMin = x0;
  const xMax = x1 > x0 ? x1 : x0 + 1;
  const [yMin, yMax] = yDomain;
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * innerW;
  const sy = (y: number) => MARGIN.top + (1 - (y - yMin) / (yMax - yMin || 1)) * innerH;
  const xTicks = chartTicks(xMin, xMax, Math.max(2, Math.floor(innerW / 60)), true);
  const yTicks = chartTicks(yMin, yMax, 5, false);
  const rounds = [...new Set(xs)].sort((a, b) => a - b);
  // Series with the same values are drawn a few pixels apart, so none hides behind another.
  const drawn = separateOverlaps(
    series.map((s) => s.points),
    sx,
    sy,
  );
  const screen = (v: number) => v;

  return (
    <figure className="chart" ref={frameRef}>
      <figcaption id={titleId} className="chart-title">
        {title}
      </figcaption>
      {points.length === 0 ? (
        <p className="chart-empty">{emptyText}</p>
      ) : (
        <>
          <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width={WIDTH} height={HEIGHT} role="img" aria-labelledby={titleId} className="chart-svg" preserveAspectRatio="xMidYMid meet">
            {yTicks.map((t) => (
              <g key={`y${t}`}>
                <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={sy(t)} y2={sy(t)} className="chart-grid" />
                <text x={MARGIN.left - 6} y={sy(t)} className="chart-tick" textAnchor="end" dominantBaseline="middle">
                  {yFormat(t)}
                </text>
              </g>
            ))}
            {xTicks.map((t) => (
              <text key={`x${t}`} x={sx(t)} y={HEIGHT - MARGIN.bottom + 16} className="chart-tick" textAnchor="middle">
                {t}
              </text>
            ))}
            <text x={MARGIN.left + innerW / 2} y={HEIGHT - 6} className="chart-axis-label" textAnchor="middle">
              {xLabel}
            </text>
            {series.map((s, index) => {
              const points = drawn.points[index] ?? [];
              return (
                <g key={s.name} className={`chart-series chart-series-${index % 8}`} style={s.color ? { color: s.color } : undefined}>
                  <path d={chartPath(points, screen, screen)} className={s.dashed ? 'chart-line chart-line-dashed' : 'chart-line'} />
                  {points.map((p) => (Number.isFinite(p.y) ? <Marker key={p.x} shape={index % 3} cx={p.x} cy={p.y} /> : null))}
                </g>
              );
            })}
          </svg>
          <ul className="chart-legend">
            {series.map((s, index) => (
              <li key={s.name} className={`chart-series-${index % 8}`} style={s.color ? { color: s.color } : undefined}>
                <svg width="28" height="12" aria-hidden="true">
                  <line x1="2" x2="26" y1="6" y2="6" className={s.dashed ? 'chart-line chart-line-dashed' : 'chart-line'} />
                  <Marker shape={index % 3} cx={14} cy={6} />
                </svg>
                <span>{s.name}</span>
              </li>
            ))}
          </ul>
          {drawn.moved && <p className="chart-note">Lines with the same values are drawn slightly apart, so each stays visible; the numbers are below.</p>}
          <details className="chart-table">
            <summary>Show the numbers</summary>
            <div className="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{xLabel}</th>
                    {series.map((s) => (
                      <th scope="col" key={s.name}>
                        {s.name}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rounds.map((x) => (
                    <tr key={x}>
                      <th scope="row">{x}</th>
                      {series.map((s) => {
                        const p = s.points.find((q) => q.x === x);
                        return <td key={s.name}>{p ? yFormat(p.y) : '–'}</td>;
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </figure>
  );
}

function Marker({ shape, cx, cy }: { shape: number; cx: number; cy: number }) {
  if (shape === 1) return <rect x={cx - 3.5} y={cy - 3.5} width={7} height={7} className="chart-marker" />;
  if (shape === 2) return <path d={`M${cx} ${cy - 4.5}L${cx + 4.5} ${cy + 3.5}L${cx - 4.5} ${cy + 3.5}Z`} className="chart-marker" />;
  return <circle cx={cx} cy={cy} r={3.5} className="chart-marker" />;
}
