import { describe, expect, it } from 'vitest';
import type { RoundResult, SiteRoundResult } from '../simulation/index.ts';
import { buildGrid } from './grid.ts';
import type { CellRecord } from './store.ts';
import { bestValidationRound, formatPercent, meanStd, summarize } from './summary.ts';
import { summaryMarkdown, toCsv } from './tables.ts';

function site(name: string, accuracy: number, validation: number | null): SiteRoundResult {
  return {
    site: name, accuracy, balancedAccuracy: accuracy / 2, count: 10, validation: validation === null ? null : { accuracy: validation, balancedAccuracy: validation, count: 5 },
    meanLoss: null, meanContrastiveLoss: null, meanLmmdLoss: null, pseudoLabels: null, steps: 0, bytesSent: 0,
  };
}

function round(index: number, global: number, sites: [number, number | null][]): RoundResult {
  return {
    round: index, sites: sites.map(([a, v], k) => site(`s${k}`, a, v)), global: { accuracy: global, balancedAccuracy: global, count: 20 },
    diagnostics: { pseudoLabelAccuracy: null, meanContrastiveLoss: null, meanLmmdLoss: null, bytesSentPerSite: 0 }, durationMs: 0,
  };
}

function record(seed: number, rounds: RoundResult[]): CellRecord {
  const cell = { id: `c${seed}`, method: 'facmic' as const, seed, batchSize: 8, partition: 'iid', lmmdWeight: 1 };
  return {
    cell,
    options: { method: 'facmic', rounds: rounds.length - 1, globalSite: 2, seed, batchSize: 8, learningRate: 1e-3 },
    result: { method: 'facmic', lmmdWeight: 1, description: '', globalSite: 'g', trainingSites: [], referenceSize: 0, globalTestSize: 20, globalEvaluation: '', rounds, wallTimeMs: 0 },
  };
}

describe('experiment summary', () => {
  it('is the mean ± sample standard deviation (hand case)', () => {
    // 0.5, 0.7, 0.9: mean 0.7; squared deviations 0.04 + 0 + 0.04 over n - 1 = 2: variance 0.04, sd 0.2.
    const value = meanStd([0.5, 0.7, 0.9]);
    expect(value.mean).toBeCloseTo(0.7, 12);
    expect(value.std).toBeCloseTo(0.2, 12);
    expect(value.n).toBe(3);
    expect(meanStd([0.4])).toEqual({ mean: 0.4, std: 0, n: 1 });
    expect(formatPercent(value)).toBe('70.0 ± 20.0');
    expect(() => meanStd([])).toThrow(RangeError);
  });

  it('takes the best validation round per run (earliest on ties) and the final round, over seeds', () => {
    const a = [round(0, 0.1, [[0.2, 0.1], [0.4, 0.3]]), round(1, 0.5, [[0.6, 0.9], [0.6, 0.7]]), round(2, 0.3, [[0.8, 0.9], [0.6, 0.7]])];
    const b = [round(0, 0.3, [[0.2, 0.5], [0.4, 0.5]]), round(1, 0.9, [[0.6, 0.4], [0.6, 0.4]]), round(2, 0.7, [[0.4, 0.2], [0.2, 0.2]])];
    expect(bestValidationRound(a).round).toBe(1);
    expect(bestValidationRound(b).round).toBe(0);
    expect(bestValidationRound([round(0, 0.1, [[0.2, null]]), round(1, 0.2, [[0.3, null]])]).round).toBe(1);
    const rows = summarize([record(1, a), record(2, b)]);
    expect(rows.map((row) => row.at)).toEqual(['final', 'best-val']);
    const [final, best] = rows;
    expect(final?.seeds).toBe(2);
    expect(final?.metrics.global_acc?.mean).toBeCloseTo(0.5, 12);
    expect(final?.metrics.global_acc?.std).toBeCloseTo(Math.sqrt(0.08), 12);
    expect(final?.metrics.sites_acc?.mean).toBeCloseTo((0.7 + 0.3) / 2, 12);
    expect(final?.metrics.s0_bacc?.mean).toBeCloseTo((0.4 + 0.2) / 2, 12);
    expect(best?.round.mean).toBe(0.5);
    expect(best?.metrics.global_acc?.mean).toBeCloseTo((0.5 + 0.3) / 2, 12);
    const markdown = summaryMarkdown(rows, { provenance: 'Accuracies come from the tiny random CLIP', settings: 'test' });
    expect(markdown).toContain('**Accuracies come from the tiny random CLIP**');
    expect(markdown).toContain('| iid | facmic | 1 | 8 | 2 | 50.0 ± 28.3 |');
  });

  it('quotes CSV fields that need it', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"'], [null, 2]])).toBe('a,b\n"x,y","say ""hi"""\n,2\n');
  });

  it('runs λ only for the methods with LMMD', () => {
    const cells = buildGrid({ methods: ['zeroshot', 'facmic'], seeds: [1, 2], batchSizes: [8], partitions: ['iid'], lmmdWeights: [1, 0.5] });
    expect(cells.map((cell) => cell.id)).toEqual(['iid_zeroshot_b8_l1_s1', 'iid_zeroshot_b8_l1_s2', 'iid_facmic_b8_l1_s1', 'iid_facmic_b8_l1_s2', 'iid_facmic_b8_l0.5_s1', 'iid_facmic_b8_l0.5_s2']);
    expect(buildGrid({ methods: ['facmic'], seeds: [1], batchSizes: [8], partitions: ['dirichlet:0.5'], lmmdWeights: [1] })[0]?.id).toBe('dirichlet-0.5_facmic_b8_l1_s1');
  });
});
