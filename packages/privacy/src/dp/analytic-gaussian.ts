/**
 * The exact privacy curve of the Gaussian mechanism (Balle & Wang, ICML 2018, "Improving the Gaussian Mechanism for
 * Differential Privacy", Theorem 8): with sensitivity Delta and noise sigma, mu = Delta / sigma, the mechanism is
 * (epsilon, delta)-DP exactly for delta >= Phi(mu/2 - epsilon/mu) - e^epsilon Phi(-mu/2 - epsilon/mu).
 * R rounds with noise multipliers sigma_r compose exactly into one Gaussian mechanism with
 * mu = sqrt(sum 1/sigma_r^2) (Dong, Roth & Su 2019, Gaussian DP), so this is the tight reference the RDP accountant
 * (an upper bound) is checked against.
 */
import { DifferentialPrivacyError } from '../errors.ts';
import { logNormalCdf } from './normal-distribution.ts';

/** The smallest delta for which the Gaussian mechanism with mu = Delta/sigma is (epsilon, delta)-DP. */
export function gaussianMechanismDelta(epsilon: number, mu: number): number {
  if (!(mu > 0) || !Number.isFinite(mu)) throw new DifferentialPrivacyError('invalid-parameters', `mu must be positive, got ${mu}`);
  if (!(epsilon >= 0)) throw new DifferentialPrivacyError('invalid-parameters', `epsilon must be non-negative, got ${epsilon}`);
  const first = Math.exp(logNormalCdf(mu / 2 - epsilon / mu));
  const second = Math.exp(epsilon + logNormalCdf(-mu / 2 - epsilon / mu));
  return Math.max(0, first - second);
}

/** The smallest epsilon for which the Gaussian mechanism with mu = Delta/sigma is (epsilon, delta)-DP (bisection). */
export function gaussianMechanismEpsilon(mu: number, delta: number): number {
  if (!(delta > 0 && delta < 1)) throw new DifferentialPrivacyError('invalid-parameters', `delta must lie in (0, 1), got ${delta}`);
  if (gaussianMechanismDelta(0, mu) <= delta) return 0;
  let low = 0;
  let high = 1;
  while (gaussianMechanismDelta(high, mu) > delta) {
    high *= 2;
    if (high > 1e6) throw new DifferentialPrivacyError('budget-unreachable', `no epsilon below 1e6 reaches delta ${delta} for mu ${mu}`);
  }
  for (let i = 0; i < 200 && high - low > 1e-13 * high; i++) {
    const middle = (low + high) / 2;
    if (gaussianMechanismDelta(middle, mu) > delta) low = middle;
    else high = middle;
  }
  return high;
}

/** mu of R composed Gaussian mechanisms with noise multipliers sigma_r: sqrt(sum_r 1 / sigma_r^2). */
export function composedGaussianMu(noiseMultipliers: readonly number[]): number {
  return Math.sqrt(noiseMultipliers.reduce((sum, sigma) => sum + 1 / (sigma * sigma), 0));
}
