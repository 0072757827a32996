/**
 * Scores of finished runs: at the final round and at the best validation round (the round with the highest mean
 * validation accuracy over the training sites, the earliest on ties), grouped over seeds as mean ± sample standard
 * deviation. Pure functions of the stored records.
 */
import type { RoundResult } from '../simulation/index.ts';
import type { ExperimentCell } from './grid.ts';
import { seriesLabel } from './grid.ts';
import type { CellRecord } from './store.ts';

export interface MeanStd {
  readonly mean: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  readonly std: number;
  readonly n: number;
}

export function meanStd(values: readonly number[]): MeanStd {
  if (values.length === 0) throw new RangeError('mean ± std of no values');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length === 1) return { mean, std: 0, n: 1 };
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance), n: values.length };
}

/** One run's scores at one round, by metric name (`global_acc`, `sites_bacc`, `<site>_acc`, ...). */
export type Scores = Readonly<Record<string, number>>;

export function roundScores(round: RoundResult): Scores {
  const scores: Record<string, number> = {
    global_acc: round.global.accuracy,
    global_bacc: round.global.balancedAccuracy,
    sites_acc: round.sites.reduce((s, site) => s + site.accuracy, 0) / round.sites.length,
    sites_bacc: round.sites.reduce((s, site) => s + site.balancedAccuracy, 0) / round.sites.length,
  };
  for (const site of round.sites) {
    scores[`${site.site}_acc`] = site.accuracy;
    scores[`${site.site}_bacc`] = site.balancedAccuracy;
  }
  return scores;
}

/** Mean validation accuracy over the training sites, or null when no site has a validation split. */
export function validationAccuracy(round: RoundResult): number | null {
  const values = round.sites.map((site) => site.validation?.accuracy).filter((v): v is number => v !== undefined);
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The round with the best mean validation accuracy (earliest on ties); the final round without validation data. */
export function bestValidationRound(rounds: readonly RoundResult[]): RoundResult {
  let best: RoundResult | undefined;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const round of rounds) {
    const value = validationAccuracy(round);
    if (value !== null && value > bestValue) {
      best = round;
      bestValue = value;
    }
  }
  const last = rounds[rounds.length - 1];
  if (last === undefined) throw new RangeError('a run with no rounds');
  return best ?? last;
}

export type Moment = 'final' | 'best-val';

export interface SummaryRow {
  readonly partition: string;
  readonly method: string;
  readonly series: string;
  readonly lmmdWeight: number;
  readonly batchSize: number;
  readonly seeds: number;
  readonly at: Moment;
  /** Mean round number the scores were taken at (the final round, or the mean best validation round). */
  readonly round: MeanStd;
  readonly metrics: Readonly<Record<string, MeanStd>>;
}

type GroupKey = Pick<ExperimentCell, 'partition' | 'method' | 'lmmdWeight' | 'batchSize'>;

function groupKey(cell: GroupKey): string {
  return JSON.stringify([cell.partition, cell.method, cell.lmmdWeight, cell.batchSize]);
}

/** Summary rows per (partition, method, λ, batch size) and moment, in the order the groups first appear. */
export function summarize(records: readonly CellRecord[]): SummaryRow[] {
  const groups = new Map<string, CellRecord[]>();
  for (const record of records) {
    const key = groupKey(record.cell);
    groups.set(key, [...(groups.get(key) ?? []), record]);
  }
  const rows: SummaryRow[] = [];
  for (const members of groups.values()) {
    const first = (members[0] as CellRecord).cell;
    for (const at of ['final', 'best-val'] as const) {
      const picked = members.map((record) => {
        const rounds = record.result.rounds;
        return at === 'final' ? (rounds[rounds.length - 1] as RoundResult) : bestValidationRound(rounds);
      });
      const scores = picked.map(roundScores);
      const names = [...new Set(scores.flatMap((s) => Object.keys(s)))];
      const metrics: Record<string, MeanStd> = {};
      for (const name of names) {
        const values = scores.map((s) => s[name]).filter((v): v is number => v !== undefined);
        if (values.length > 0) metrics[name] = meanStd(values);
      }
      rows.push({
        partition: first.partition,
        method: first.method,
        series: seriesLabel(first),
        lmmdWeight: first.lmmdWeight,
        batchSize: first.batchSize,
        seeds: members.length,
        at,
        round: meanStd(picked.map((round) => round.round)),
        metrics,
      });
    }
  }
  return rows;
}

/** "71.3 ± 2.4" in percent. */
export function formatPercent(value: MeanStd | undefined): string {
  if (value === undefined) return '-';
  return `${(100 * value.mean).toFixed(1)} ± ${(100 * value.std).toFixed(1)}`;
}
