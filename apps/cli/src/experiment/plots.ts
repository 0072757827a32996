/**
 * The experiment's plots as SVG, rendered in Node by Vega-Lite (compiled to Vega, drawn by Vega's headless SVG
 * renderer: no browser, no native canvas). Chosen because it is declarative (a plot is a JSON spec that can be read
 * and tested), maintained (the UW Interactive Data Lab, used by Altair and Observable), has error bands and facets
 * built in, and renders SVG with pure JavaScript.
 */
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';
import type { RoundResult } from '../simulation/index.ts';
import { seriesLabel } from './grid.ts';
import type { CellRecord } from './store.ts';
import { roundScores } from './summary.ts';

export interface PlotFile {
  readonly name: string;
  readonly svg: string;
}

interface RoundPoint {
  readonly series: string;
  readonly batch: number;
  readonly seed: number;
  readonly round: number;
  readonly scope: string;
  readonly accuracy: number;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const SERIES = { field: 'series', type: 'nominal', title: 'method', legend: { labelLimit: 400 } } as const;

/**
 * Mean line with a ±1 sample-standard-deviation band over seeds, per series. The line comes first so the shared
 * legend takes its solid symbols; the y scale fits the data (differences between methods are often a few points).
 */
function bandLayers(x: object, y: string, yTitle: string): object[] {
  return [
    { mark: { type: 'line', point: true }, encoding: { x, y: { aggregate: 'mean', field: y, type: 'quantitative', title: yTitle, scale: { zero: false } }, color: SERIES } },
    { mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 }, encoding: { x, y: { field: y, type: 'quantitative', title: yTitle }, color: SERIES } },
  ];
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function roundPoints(records: readonly CellRecord[]): RoundPoint[] {
  return records.flatMap((record) => record.result.rounds.flatMap((round: RoundResult) => {
    const scores = roundScores(round);
    const base = { series: seriesLabel(record.cell), batch: record.cell.batchSize, seed: record.cell.seed, round: round.round };
    return [
      { ...base, scope: 'global site', accuracy: scores.global_acc ?? 0 },
      { ...base, scope: 'training sites (mean)', accuracy: scores.sites_acc ?? 0 },
    ];
  }));
}

/** The three plots for one partition's records; `note` goes under each title (e.g. "tiny random CLIP"). */
export async function experimentPlots(records: readonly CellRecord[], note: string, suffix = ''): Promise<PlotFile[]> {
  const round = { field: 'round', type: 'quantitative', title: 'round', axis: { tickMinStep: 1, format: 'd' } };
  const curves: TopLevelSpec = {
    $schema: SCHEMA,
    title: { text: 'Accuracy per round (mean ± sd over seeds)', subtitle: note },
    data: { values: roundPoints(records) },
    facet: { row: { field: 'scope', title: null }, column: { field: 'batch', title: 'batch size' } },
    spec: { width: 260, height: 180, layer: bandLayers(round, 'accuracy', 'accuracy') },
  } as TopLevelSpec;
  const pseudoValues = records.flatMap((record) => record.result.rounds
    .filter((r) => r.diagnostics.pseudoLabelAccuracy !== null)
    .map((r) => ({ series: seriesLabel(record.cell), batch: record.cell.batchSize, seed: record.cell.seed, round: r.round, pseudo: r.diagnostics.pseudoLabelAccuracy })));
  const pseudo: TopLevelSpec = {
    $schema: SCHEMA,
    title: { text: 'Pseudo-label accuracy on the reference rows LMMD drew (mean ± sd over seeds)', subtitle: records.some((record) => record.cell.method === 'facmic-oracle') ? [note, "facmic-oracle: the module's own pseudo labels, which its LMMD does not use"] : note },
    data: { values: pseudoValues },
    facet: { column: { field: 'batch', title: 'batch size' } },
    spec: { width: 260, height: 200, layer: bandLayers(round, 'pseudo', 'pseudo-label accuracy') },
  } as TopLevelSpec;
  const finals = records.flatMap((record) => {
    const last = record.result.rounds[record.result.rounds.length - 1];
    if (last === undefined) return [];
    const scores = roundScores(last);
    const base = { series: seriesLabel(record.cell), batch: record.cell.batchSize, seed: record.cell.seed };
    return [{ ...base, scope: 'global site', accuracy: scores.global_acc ?? 0 }, { ...base, scope: 'training sites (mean)', accuracy: scores.sites_acc ?? 0 }];
  });
  const batch = { field: 'batch', type: 'ordinal', title: 'batch size', axis: { labelAngle: 0 } };
  const versusBatch: TopLevelSpec = {
    $schema: SCHEMA,
    title: { text: 'Final-round accuracy against batch size (mean ± sd over seeds; λ = LMMD weight)', subtitle: note },
    data: { values: finals },
    facet: { column: { field: 'scope', title: null } },
    spec: {
      width: 220,
      height: 220,
      layer: [
        { mark: { type: 'line', point: true }, encoding: { x: batch, y: { aggregate: 'mean', field: 'accuracy', type: 'quantitative', title: 'final accuracy', scale: { zero: false } }, color: SERIES } },
        { mark: { type: 'errorbar', extent: 'stdev' }, encoding: { x: batch, y: { field: 'accuracy', type: 'quantitative', title: 'final accuracy' }, color: SERIES } },
      ],
    },
  } as TopLevelSpec;
  const plots: PlotFile[] = [
    { name: `accuracy-curves${suffix}.svg`, svg: await renderSvg(curves) },
    { name: `accuracy-vs-batch-size${suffix}.svg`, svg: await renderSvg(versusBatch) },
  ];
  if (pseudoValues.length > 0) plots.push({ name: `pseudo-label-accuracy${suffix}.svg`, svg: await renderSvg(pseudo) });
  return plots;
}
