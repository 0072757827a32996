/**
 * The analytic Gaussian mechanism (Balle & Wang 2018, Theorem 8) and the normal CDF under it. Expected values:
 * scipy.stats.norm / scipy.optimize.brentq and Python's math.erfc, printed by accountant-reference.py beside this
 * file; and TF Privacy's test_get_privacy_spent_gaussian, which checks that RDP's delta is never below this one.
 */
import { describe, expect, it } from 'vitest';
import { composedGaussianMu, gaussianMechanismDelta, gaussianMechanismEpsilon } from './analytic-gaussian.ts';
import { erfc, normalCdf } from './normal-distribution.ts';
import { gaussianCurveEpsilon } from './rdp-accountant.ts';

describe('erfc and the normal CDF', () => {
  it('match Python math.erfc to 2e-13 relative, far tails included (computed in log space)', () => {
    const reference: [number, number][] = [
      [-3, 1.9999779095030015],
      [-0.5, 1.5204998778130465],
      [0, 1],
      [0.7, 0.32219880616258156],
      [1.9, 0.0072095707647425325],
      [2, 0.004677734981047265],
      [5, 1.5374597944280351e-12],
      [10, 2.088487583762545e-45],
      [26, 5.663192408856143e-296],
    ];
    for (const [x, expected] of reference) expect(Math.abs(erfc(x) - expected) / expected).toBeLessThan(2e-13);
    expect(normalCdf(0)).toBeCloseTo(0.5, 15);
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 14);
  });
});

describe('analytic Gaussian mechanism (Balle & Wang 2018, Theorem 8)', () => {
  it('gives delta(epsilon) as scipy does', () => {
    expect(gaussianMechanismDelta(1, 1)).toBeCloseTo(0.12693673750664392, 14);
    expect(gaussianMechanismDelta(0.5, 0.5)).toBeCloseTo(0.05244032328766951, 14);
    expect(gaussianMechanismDelta(3, 2)).toBeCloseTo(0.1838130765444722, 14);
  });

  it('gives the exact epsilon for one round (and for R rounds composed, mu = sqrt(R) / sigma)', () => {
    const reference: [number, number, number][] = [
      [1, 1e-5, 4.377178095681223],
      [0.25, 1e-5, 0.9263415039982309],
      [2, 1e-6, 10.997151214220654],
      [composedGaussianMu(Array.from({ length: 50 }, () => 5)), 1e-5, 6.572970067030335],
    ];
    for (const [mu, delta, expected] of reference) expect(gaussianMechanismEpsilon(mu, delta)).toBeCloseTo(expected, 9);
  });

  it('is never above what RDP accounts (TF Privacy test_get_privacy_spent_gaussian, sigma = 1)', () => {
    for (let epsilon = 0.1; epsilon < 20; epsilon += 0.7) {
      const delta = gaussianMechanismDelta(epsilon, 1);
      if (delta <= 1e-300) break;
      expect(gaussianCurveEpsilon(0.5, delta).epsilon).toBeGreaterThanOrEqual(epsilon - 1e-9);
    }
  });
});
