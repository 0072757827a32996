/** The DP budget rules: each round's multiplier spends the budget over the planned rounds, and no further. */
import { epsilonSpent } from '@facmic/privacy';
import { describe, expect, it } from 'vitest';
import { extensionOverspend, ledgerOf, nextNoiseMultiplier, roundFits } from './privacy-budget.ts';

const dp = { epsilon: 8, delta: 1e-5, clipNorm: 0.05, noise: 'central' as const };
const accounted = (rounds: number, sigma: number) => ledgerOf(Array.from({ length: rounds }, (_, i) => ({ round: i + 1, noiseMultiplier: sigma, contributors: 5, epsilonSpent: 0, recordedAt: 0 })));

describe('privacy budget', () => {
  it('the planned rounds spend the whole budget, one more does not fit', () => {
    const sigma = nextNoiseMultiplier(dp, 3);
    expect(epsilonSpent(accounted(3, sigma), dp.delta)).toBeCloseTo(8, 6);
    expect(roundFits(dp, 3, accounted(2, sigma))).toBe(true);
    expect(roundFits(dp, 3, accounted(3, sigma))).toBe(false);
  });

  it('extending is refused once rounds were spent at the smaller noise, allowed before any', () => {
    const sigma = nextNoiseMultiplier(dp, 3);
    expect(extensionOverspend(dp, 6, accounted(0, sigma))).toBeNull();
    const over = extensionOverspend(dp, 6, accounted(3, sigma));
    expect(over).not.toBeNull();
    expect(over as number).toBeGreaterThan(8);
  });
});
