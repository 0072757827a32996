/** The results folder's tables: runs.csv, rounds.csv, summary.csv and summary.md. */
import type { RoundResult } from '../simulation/index.ts';
import type { CellRecord } from './store.ts';
import type { SummaryRow } from './summary.ts';
import { bestValidationRound, formatPercent, roundScores, validationAccuracy } from './summary.ts';

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  return `${[header, ...rows].map((row) => row.map(csvField).join(',')).join('\n')}\n`;
}

function siteNames(records: readonly CellRecord[]): string[] {
  return [...new Set(records.flatMap((record) => record.result.trainingSites.map((site) => site.name)))];
}

const CELL_COLUMNS = ['id', 'partition', 'method', 'lmmd_weight', 'batch_size', 'seed'] as const;

function cellValues(record: CellRecord): (string | number)[] {
  const { cell } = record;
  return [cell.id, cell.partition, cell.method, cell.lmmdWeight, cell.batchSize, cell.seed];
}

/** One line per run: its scores at the final and at the best validation round, and its wall time. */
export function runsCsv(records: readonly CellRecord[]): string {
  const metrics = ['global_acc', 'global_bacc', 'sites_acc', 'sites_bacc'];
  const header = [...CELL_COLUMNS, 'rounds', ...metrics.map((m) => `final_${m}`), 'best_val_round', ...metrics.map((m) => `best_val_${m}`), 'wall_s'];
  const rows = records.map((record) => {
    const rounds = record.result.rounds;
    const final = roundScores(rounds[rounds.length - 1] as RoundResult);
    const bestRound = bestValidationRound(rounds);
    const best = roundScores(bestRound);
    return [...cellValues(record), rounds.length - 1, ...metrics.map((m) => final[m] ?? null), bestRound.round, ...metrics.map((m) => best[m] ?? null), Number((record.result.wallTimeMs / 1000).toFixed(2))];
  });
  return toCsv(header, rows);
}

/** One line per run and round, with the round's diagnostics and every site's scores. */
export function roundsCsv(records: readonly CellRecord[]): string {
  const sites = siteNames(records);
  const header = [...CELL_COLUMNS, 'round', 'global_acc', 'global_bacc', 'sites_acc', 'sites_bacc', 'val_acc', 'pseudo_label_acc', 'contrastive_loss', 'lmmd_loss', 'bytes_sent_per_site', ...sites.flatMap((s) => [`${s}_acc`, `${s}_bacc`])];
  const rows = records.flatMap((record) => record.result.rounds.map((round) => {
    const scores = roundScores(round);
    const d = round.diagnostics;
    return [
      ...cellValues(record), round.round, scores.global_acc ?? null, scores.global_bacc ?? null, scores.sites_acc ?? null, scores.sites_bacc ?? null, validationAccuracy(round),
      d.pseudoLabelAccuracy, d.meanContrastiveLoss, d.meanLmmdLoss, d.bytesSentPerSite,
      ...sites.flatMap((s) => [scores[`${s}_acc`] ?? null, scores[`${s}_bacc`] ?? null]),
    ];
  }));
  return toCsv(header, rows);
}

/** The summary in long form: one line per group, moment and metric. */
export function summaryCsv(rows: readonly SummaryRow[]): string {
  const header = ['partition', 'method', 'lmmd_weight', 'batch_size', 'seeds', 'at', 'round_mean', 'metric', 'mean', 'std'];
  const lines = rows.flatMap((row) => Object.entries(row.metrics).map(([metric, value]) => [row.partition, row.method, row.lmmdWeight, row.batchSize, row.seeds, row.at, row.round.mean, metric, value.mean, value.std]));
  return toCsv(header, lines);
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

export interface SummaryContext {
  /** What the accuracies come from, for the header (e.g. the tiny random CLIP). */
  readonly provenance: string;
  readonly settings: string;
}

export function summaryMarkdown(rows: readonly SummaryRow[], context: SummaryContext): string {
  const groupColumns = ['partition', 'method', 'λ', 'batch', 'seeds'];
  const groupCells = (row: SummaryRow): string[] => [row.partition, row.method, String(row.lmmdWeight), String(row.batchSize), String(row.seeds)];
  const scoreColumns = ['global acc', 'global bacc', 'sites acc', 'sites bacc'];
  const scoreCells = (row: SummaryRow): string[] => ['global_acc', 'global_bacc', 'sites_acc', 'sites_bacc'].map((m) => formatPercent(row.metrics[m]));
  const final = rows.filter((row) => row.at === 'final');
  const best = rows.filter((row) => row.at === 'best-val');
  const sites = [...new Set(final.flatMap((row) => Object.keys(row.metrics).filter((m) => m.endsWith('_acc') && !['global_acc', 'sites_acc'].includes(m)).map((m) => m.slice(0, -4))))];
  return [
    '# Experiment summary',
    '',
    `**${context.provenance}**`,
    '',
    context.settings,
    '',
    'Accuracy (acc) and balanced accuracy (bacc) in percent, mean ± sample standard deviation over seeds. "global": the held-out global site; "sites": the mean over the training sites\' test splits.',
    '',
    '## At the final round',
    '',
    markdownTable([...groupColumns, ...scoreColumns], final.map((row) => [...groupCells(row), ...scoreCells(row)])),
    '',
    '## At the best validation round',
    '',
    'The round with the highest mean validation accuracy over the training sites, chosen per run.',
    '',
    markdownTable([...groupColumns, 'round', ...scoreColumns], best.map((row) => [...groupCells(row), `${row.round.mean.toFixed(1)} ± ${row.round.std.toFixed(1)}`, ...scoreCells(row)])),
    '',
    '## Per training site, at the final round (acc / bacc)',
    '',
    markdownTable([...groupColumns, ...sites], final.map((row) => [...groupCells(row), ...sites.map((s) => `${formatPercent(row.metrics[`${s}_acc`])} / ${formatPercent(row.metrics[`${s}_bacc`])}`)])),
    '',
  ].join('\n');
}
