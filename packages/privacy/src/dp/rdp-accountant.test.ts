/**
 * The accountant against published values. Expected numbers come from:
 * - Mironov 2017 ("Rényi Differential Privacy", CSF), Table II: the Gaussian mechanism's RDP is alpha / (2 sigma^2);
 * - TensorFlow Privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py: test_compute_rdp_no_sampling
 *   (compute_rdp(q=1, sigma=10, steps=1, order=20) == 0.1) and test_get_privacy_spent_check_target_delta (constant
 *   RDP 1.1 over orders 2..32 at delta 1e-5 gives epsilon 1.32783806176 at order 32; sigma 4.530877117 without
 *   sampling is exactly (1, 1e-6)-DP over a fine grid of orders);
 * - the no-sampling case of TF Privacy / Opacus compute_rdp + get_privacy_spent over Opacus's DEFAULT_ALPHAS,
 *   recomputed independently in numpy by accountant-reference.py beside this file (printed values pasted here);
 * - the classic conversion's closed form for a Gaussian curve, epsilon = rho + 2 sqrt(rho log(1/delta)).
 */
import { describe, expect, it } from 'vitest';
import { DifferentialPrivacyError } from '../errors.ts';
import { composedGaussianMu, gaussianMechanismEpsilon } from './analytic-gaussian.ts';
import {
  DEFAULT_RDP_ORDERS,
  EMPTY_LEDGER,
  epsilonFromRdp,
  epsilonSpent,
  fitsBudget,
  gaussianCurveEpsilon,
  gaussianRdp,
  ledgerRho,
  noiseMultiplierForBudget,
  recordRound,
  type PrivacyLedger,
} from './rdp-accountant.ts';

function ledgerOf(noiseMultiplier: number, rounds: number): PrivacyLedger {
  let ledger = EMPTY_LEDGER;
  for (let round = 1; round <= rounds; round++) ledger = recordRound(ledger, { round, noiseMultiplier });
  return ledger;
}

describe('Gaussian RDP (Mironov 2017, Table II)', () => {
  it('is alpha / (2 sigma^2): compute_rdp(1, 10, 1, 20) == 0.1 in TF Privacy', () => {
    expect(gaussianRdp(20, 10)).toBe(0.1);
    expect(gaussianRdp(2, 1)).toBe(1);
    expect(() => gaussianRdp(1, 1)).toThrow(DifferentialPrivacyError);
    expect(() => gaussianRdp(2, 0)).toThrow(DifferentialPrivacyError);
  });
});

describe('RDP to (epsilon, delta)', () => {
  it('matches TF Privacy test_get_privacy_spent_check_target_delta (constant RDP 1.1, orders 2..32)', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const { epsilon, order } = epsilonFromRdp(orders, orders.map(() => 1.1), 1e-5);
    expect(order).toBe(32);
    expect(epsilon).toBeCloseTo(1.32783806176, 10);
  });

  it('matches TF Privacy: sigma 4.530877117 without sampling is exactly (1, 1e-6)-DP', () => {
    const { epsilon } = gaussianCurveEpsilon(1 / (2 * 4.530877117 ** 2), 1e-6);
    expect(epsilon).toBeCloseTo(1, 7);
    const fine = Array.from({ length: 98_999 }, (_, i) => 1.001 + i * 0.001);
    expect(epsilonFromRdp(fine, fine.map((order) => gaussianRdp(order, 4.530877117)), 1e-6).epsilon).toBeCloseTo(1.0000000002681213, 9);
  });

  it('matches compute_rdp(q=1) + get_privacy_spent over Opacus DEFAULT_ALPHAS (numpy reference)', () => {
    const cases = [
      { sigma: 1, rounds: 1, delta: 1e-5, improved: [4.728507067217623, 5.4], classic: [5.298526138535465, 5.8] },
      { sigma: 1.1, rounds: 50, delta: 1e-5, improved: [49.925659767016505, 1.7], classic: [51.571003320677654, 1.7] },
      { sigma: 5, rounds: 50, delta: 1e-5, improved: [7.077391578166641, 4.2], classic: [7.786154548520655, 4.4] },
      { sigma: 20, rounds: 200, delta: 1e-6, improved: [3.5423612316217303, 7.9], classic: [3.966960886211388, 8.4] },
    ];
    for (const { sigma, rounds, delta, improved, classic } of cases) {
      const rdp = DEFAULT_RDP_ORDERS.map((order) => rounds * gaussianRdp(order, sigma));
      const got = epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, delta, 'improved');
      expect(got.epsilon).toBeCloseTo(improved[0]!, 9);
      expect(got.order).toBeCloseTo(improved[1]!, 9);
      const gotClassic = epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, delta, 'classic');
      expect(gotClassic.epsilon).toBeCloseTo(classic[0]!, 9);
      expect(gotClassic.order).toBeCloseTo(classic[1]!, 9);
      // The continuous optimum is at most the grid's, and close to it.
      const continuous = epsilonSpent(ledgerOf(sigma, rounds), delta);
      expect(continuous).toBeLessThanOrEqual(improved[0]! + 1e-12);
      expect(continuous).toBeGreaterThan(improved[0]! * 0.99);
    }
  });

  it('classic conversion of a Gaussian curve has the closed form rho + 2 sqrt(rho log(1/delta))', () => {
    const rho = 50 / (2 * 25);
    const { epsilon, order } = gaussianCurveEpsilon(rho, 1e-5, 'classic');
    expect(epsilon).toBeCloseTo(rho + 2 * Math.sqrt(rho * Math.log(1e5)), 12);
    expect(order).toBeCloseTo(1 + Math.sqrt(Math.log(1e5) / rho), 12);
    // ... which the grid approaches from above.
    expect(epsilon).toBeLessThanOrEqual(7.786154548520655);
    expect(epsilon).toBeGreaterThan(7.786154548520655 - 1e-3);
  });

  it('is an upper bound on the exact (analytic Gaussian) epsilon, and not a loose one', () => {
    for (const [sigma, rounds, delta] of [[1, 1, 1e-5], [5, 50, 1e-5], [20, 200, 1e-6], [0.8, 3, 1e-5]] as const) {
      const accounted = epsilonSpent(ledgerOf(sigma, rounds), delta);
      const exact = gaussianMechanismEpsilon(composedGaussianMu(Array.from({ length: rounds }, () => sigma)), delta);
      expect(accounted).toBeGreaterThanOrEqual(exact);
      expect(accounted).toBeLessThan(exact * 1.2);
    }
  });
});

describe('the ledger and the inverse', () => {
  it('adds RDP over rounds with their realised noise multipliers', () => {
    let ledger = recordRound(EMPTY_LEDGER, { round: 1, noiseMultiplier: 2 });
    ledger = recordRound(ledger, { round: 2, noiseMultiplier: 4 });
    expect(ledgerRho(ledger)).toBeCloseTo(1 / 8 + 1 / 32, 15);
    expect(() => recordRound(ledger, { round: 2, noiseMultiplier: 4 })).toThrow(/already accounted/);
    expect(epsilonSpent(EMPTY_LEDGER, 1e-5)).toBe(0);
    expect(epsilonSpent(ledger, 1e-5)).toBeGreaterThan(epsilonSpent(recordRound(EMPTY_LEDGER, { round: 1, noiseMultiplier: 2 }), 1e-5));
  });

  it('finds the noise multiplier that spends the target epsilon over the planned rounds', () => {
    for (const [epsilon, delta, rounds] of [[8, 1e-5, 50], [1, 1e-5, 50], [2, 1e-6, 3], [30, 1e-5, 200]] as const) {
      const sigma = noiseMultiplierForBudget({ epsilon, delta, rounds });
      const spent = epsilonSpent(ledgerOf(sigma, rounds), delta);
      expect(spent).toBeLessThanOrEqual(epsilon * (1 + 1e-9));
      expect(spent).toBeGreaterThan(epsilon * (1 - 1e-6));
      // The improved conversion needs less noise than the classic one, whose inverse is closed-form.
      const classic = noiseMultiplierForBudget({ epsilon, delta, rounds }, 'classic');
      expect(epsilonSpent(ledgerOf(classic, rounds), delta, 'classic')).toBeCloseTo(epsilon, 9);
      expect(sigma).toBeLessThan(classic);
    }
  });

  it('tells the coordinator when one more round would exceed the budget', () => {
    const budget = { epsilon: 8, delta: 1e-5 };
    const sigma = noiseMultiplierForBudget({ ...budget, rounds: 10 });
    const nine = ledgerOf(sigma, 9);
    expect(fitsBudget(nine, sigma, budget)).toBe(true);
    expect(fitsBudget(ledgerOf(sigma, 10), sigma, budget)).toBe(false);
    expect(fitsBudget(nine, sigma * 0.9, budget)).toBe(false);
  });

  it('refuses nonsense parameters', () => {
    expect(() => epsilonSpent(EMPTY_LEDGER, 0)).toThrow(DifferentialPrivacyError);
    expect(() => noiseMultiplierForBudget({ epsilon: 0, delta: 1e-5, rounds: 5 })).toThrow(DifferentialPrivacyError);
    expect(() => noiseMultiplierForBudget({ epsilon: 1, delta: 1e-5, rounds: 0 })).toThrow(DifferentialPrivacyError);
    expect(() => epsilonFromRdp([2, 3], [1], 1e-5)).toThrow(DifferentialPrivacyError);
  });
});
