/**
 * Rényi-DP accountant for DP-FedAvg without client sampling (every site takes part in every round, so there is no
 * amplification by sampling): round r is one Gaussian mechanism with noise multiplier sigma_r (noise std / L2
 * sensitivity), whose RDP at order alpha is alpha / (2 sigma_r^2) (Mironov 2017, "Rényi Differential Privacy",
 * Table II / Proposition 7); RDP adds up over rounds (Proposition 1), so R rounds give rho * alpha with
 * rho = sum_r 1 / (2 sigma_r^2). The curve is converted to (epsilon, delta)-DP by
 *
 * - `classic`: epsilon = rdp(alpha) + log(1/delta) / (alpha - 1) (Mironov 2017, Proposition 3), minimised over alpha:
 *   for the Gaussian curve in closed form, epsilon = rho + 2 sqrt(rho log(1/delta)) at alpha = 1 + sqrt(log(1/delta)/rho);
 * - `improved` (default): epsilon = rdp(alpha) + log((alpha-1)/alpha) - (log delta + log alpha) / (alpha - 1)
 *   (Canonne, Kamath & Steinke 2020, Proposition 12; Balle et al. 2020, Theorem 21), what TensorFlow Privacy's and
 *   Opacus's `get_privacy_spent` compute; always at most the classic value.
 *
 * `epsilonFromRdp` converts a curve given at a list of orders exactly as those libraries do (for checks against
 * them); the ledger functions minimise over alpha continuously.
 */
import { DifferentialPrivacyError } from '../errors.ts';

export type RdpConversion = 'classic' | 'improved';

/** Opacus's DEFAULT_ALPHAS: 1.1, 1.2, ..., 10.9, then 12, 13, ..., 63. */
export const DEFAULT_RDP_ORDERS: readonly number[] = [...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10), ...Array.from({ length: 52 }, (_, x) => 12 + x)];

function checkDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) throw new DifferentialPrivacyError('invalid-parameters', `delta must lie in (0, 1), got ${delta}`);
}

function checkNoiseMultiplier(noiseMultiplier: number): void {
  if (!(noiseMultiplier > 0) || !Number.isFinite(noiseMultiplier)) throw new DifferentialPrivacyError('invalid-parameters', `the noise multiplier must be positive and finite, got ${noiseMultiplier}`);
}

/** RDP of the Gaussian mechanism at `order`: alpha / (2 sigma^2). */
export function gaussianRdp(order: number, noiseMultiplier: number): number {
  checkNoiseMultiplier(noiseMultiplier);
  if (!(order > 1)) throw new DifferentialPrivacyError('invalid-parameters', `Rényi orders are above 1, got ${order}`);
  return order / (2 * noiseMultiplier * noiseMultiplier);
}

/** epsilon at one order (TensorFlow Privacy's `_compute_eps` per order). */
function epsilonAtOrder(order: number, rdp: number, delta: number, conversion: RdpConversion): number {
  if (conversion === 'classic') return rdp - Math.log(delta) / (order - 1);
  // For tiny rdp the KL bound delta <= sqrt(1 - exp(-rdp)) already gives epsilon = 0.
  if (delta * delta + Math.expm1(-rdp) >= 0) return 0;
  if (order <= 1.01) return Number.POSITIVE_INFINITY; // numerically unstable near 1, and never optimal there
  return rdp + Math.log1p(-1 / order) - Math.log(delta * order) / (order - 1);
}

/** The best epsilon over a list of orders with their RDP values, and the order that gives it. */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number, conversion: RdpConversion = 'improved'): { epsilon: number; order: number } {
  checkDelta(delta);
  if (orders.length === 0 || orders.length !== rdp.length) throw new DifferentialPrivacyError('invalid-parameters', 'orders and RDP values must be non-empty lists of the same length');
  let best = { epsilon: Number.POSITIVE_INFINITY, order: orders[0] as number };
  for (const [i, order] of orders.entries()) {
    const value = rdp[i] as number;
    if (!(order > 1) || !(value >= 0)) throw new DifferentialPrivacyError('invalid-parameters', `order ${order} with RDP ${value}: orders are above 1, RDP is non-negative`);
    const epsilon = epsilonAtOrder(order, value, delta, conversion);
    if (epsilon < best.epsilon) best = { epsilon, order };
  }
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}

/**
 * epsilon of the Gaussian RDP curve rho * alpha, minimised over alpha > 1 (classic: closed form; improved: a
 * log-spaced scan then golden-section refinement, the function being unimodal in log(alpha - 1)).
 */
export function gaussianCurveEpsilon(rho: number, delta: number, conversion: RdpConversion = 'improved'): { epsilon: number; order: number } {
  checkDelta(delta);
  if (!(rho >= 0) || !Number.isFinite(rho)) throw new DifferentialPrivacyError('invalid-parameters', `rho must be finite and non-negative, got ${rho}`);
  if (rho === 0) return { epsilon: 0, order: Number.POSITIVE_INFINITY };
  const logInverseDelta = -Math.log(delta);
  if (conversion === 'classic') return { epsilon: rho + 2 * Math.sqrt(rho * logInverseDelta), order: 1 + Math.sqrt(logInverseDelta / rho) };
  const at = (logExcess: number) => epsilonAtOrder(1 + Math.exp(logExcess), rho * (1 + Math.exp(logExcess)), delta, 'improved');
  const low = Math.log(0.011);
  const high = Math.log(1e8);
  const steps = 400;
  let bestStep = 0;
  let bestValue = Number.POSITIVE_INFINITY;
  for (let i = 0; i <= steps; i++) {
    const value = at(low + ((high - low) * i) / steps);
    if (value < bestValue) {
      bestValue = value;
      bestStep = i;
    }
  }
  let a = low + ((high - low) * Math.max(0, bestStep - 1)) / steps;
  let b = low + ((high - low) * Math.min(steps, bestStep + 1)) / steps;
  const ratio = (Math.sqrt(5) - 1) / 2;
  let c = b - ratio * (b - a);
  let d = a + ratio * (b - a);
  for (let i = 0; i < 200 && b - a > 1e-12; i++) {
    if (at(c) < at(d)) b = d;
    else a = c;
    c = b - ratio * (b - a);
    d = a + ratio * (b - a);
  }
  const logExcess = (a + b) / 2;
  const epsilon = Math.min(at(logExcess), bestValue);
  return { epsilon: Math.max(0, epsilon), order: 1 + Math.exp(logExcess) };
}

/** One accounted round: the Gaussian mechanism with the noise multiplier that round actually had. */
export interface LedgerEntry {
  readonly round: number;
  readonly noiseMultiplier: number;
}

/** What the coordinator persists per federation: every round that released a noisy aggregate. */
export interface PrivacyLedger {
  readonly entries: readonly LedgerEntry[];
}

export const EMPTY_LEDGER: PrivacyLedger = { entries: [] };

export function recordRound(ledger: PrivacyLedger, entry: LedgerEntry): PrivacyLedger {
  checkNoiseMultiplier(entry.noiseMultiplier);
  if (ledger.entries.some((existing) => existing.round === entry.round)) throw new DifferentialPrivacyError('invalid-parameters', `round ${entry.round} is already accounted`);
  return { entries: [...ledger.entries, entry] };
}

/** rho = sum_r 1 / (2 sigma_r^2): the slope of the composed RDP curve. */
export function ledgerRho(ledger: PrivacyLedger): number {
  return ledger.entries.reduce((sum, entry) => sum + 1 / (2 * entry.noiseMultiplier * entry.noiseMultiplier), 0);
}

/** epsilon spent so far, for `delta`. */
export function epsilonSpent(ledger: PrivacyLedger, delta: number, conversion: RdpConversion = 'improved'): number {
  return gaussianCurveEpsilon(ledgerRho(ledger), delta, conversion).epsilon;
}

export interface PrivacyBudget {
  readonly epsilon: number;
  readonly delta: number;
}

/** Whether one more round with `noiseMultiplier` keeps the total within the budget (the coordinator stops otherwise). */
export function fitsBudget(ledger: PrivacyLedger, noiseMultiplier: number, budget: PrivacyBudget, conversion: RdpConversion = 'improved'): boolean {
  checkNoiseMultiplier(noiseMultiplier);
  const rho = ledgerRho(ledger) + 1 / (2 * noiseMultiplier * noiseMultiplier);
  return gaussianCurveEpsilon(rho, budget.delta, conversion).epsilon <= budget.epsilon * (1 + 1e-9);
}

/**
 * The smallest noise multiplier with which `rounds` rounds spend at most `epsilon` (for `delta`): the inverse of the
 * accountant, by bisection on log sigma (epsilon decreases with sigma). Classic conversion has a closed form:
 * rho = (sqrt(L + epsilon) - sqrt(L))^2 with L = log(1/delta), sigma = sqrt(R / (2 rho)).
 */
export function noiseMultiplierForBudget(budget: PrivacyBudget & { rounds: number }, conversion: RdpConversion = 'improved'): number {
  const { epsilon, delta, rounds } = budget;
  checkDelta(delta);
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new DifferentialPrivacyError('invalid-parameters', `epsilon must be positive and finite, got ${epsilon}`);
  if (!Number.isSafeInteger(rounds) || rounds < 1) throw new DifferentialPrivacyError('invalid-parameters', `rounds must be a positive integer, got ${rounds}`);
  if (conversion === 'classic') {
    const logInverseDelta = -Math.log(delta);
    const rho = (Math.sqrt(logInverseDelta + epsilon) - Math.sqrt(logInverseDelta)) ** 2;
    return Math.sqrt(rounds / (2 * rho));
  }
  const spent = (sigma: number) => gaussianCurveEpsilon(rounds / (2 * sigma * sigma), delta, 'improved').epsilon;
  let low = Math.log(1e-4);
  let high = Math.log(1e6);
  if (spent(Math.exp(high)) > epsilon) throw new DifferentialPrivacyError('budget-unreachable', `epsilon ${epsilon} cannot be met in ${rounds} rounds`);
  for (let i = 0; i < 200 && high - low > 1e-12; i++) {
    const middle = (low + high) / 2;
    if (spent(Math.exp(middle)) > epsilon) low = middle;
    else high = middle;
  }
  return Math.exp(high);
}
