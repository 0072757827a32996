/**
 * A federation's differential privacy budget: the noise multiplier of its next round, the epsilon spent so far (the
 * Rényi-DP accountant of `@facmic/privacy` over the stored ledger), whether one more round fits, and whether an admin
 * may extend the federation. The coordinator stops a federation, and refuses to extend one, rather than exceed it.
 */
import { epsilonSpent, fitsBudget, noiseMultiplierForBudget, type PrivacyLedger } from '@facmic/privacy';
import type { DifferentialPrivacySettings, PrivacySpent } from '@facmic/protocol';
import type { LedgerRow } from './store/privacy-store.ts';
import type { CoordinatorStore, FederationRecord } from './store/store.ts';

export function ledgerOf(rows: readonly LedgerRow[]): PrivacyLedger {
  return { entries: rows.map((row) => ({ round: row.round, noiseMultiplier: row.noiseMultiplier })) };
}

function remainingLedger(ledger: PrivacyLedger, sigma: number, rounds: number): PrivacyLedger {
  const extra = Array.from({ length: Math.max(0, rounds) }, (_, i) => ({ round: -1 - i, noiseMultiplier: sigma }));
  return { entries: [...ledger.entries, ...extra] };
}

/** sigma of every round: the smallest multiplier with which the federation's rounds spend at most its epsilon. */
export function nextNoiseMultiplier(dp: DifferentialPrivacySettings, rounds: number): number {
  const key = `${dp.epsilon}/${dp.delta}/${rounds}`;
  let sigma = multipliers.get(key);
  if (sigma === undefined) {
    sigma = noiseMultiplierForBudget({ epsilon: dp.epsilon, delta: dp.delta, rounds });
    if (multipliers.size > 1000) multipliers.clear();
    multipliers.set(key, sigma);
  }
  return sigma;
}

/** sigma by budget and rounds (the inverse of the accountant is a bisection: computed once per setting). */
const multipliers = new Map<string, number>();

/** Whether round `round` may run: its noise keeps the total within the budget. */
export function roundFits(dp: DifferentialPrivacySettings, rounds: number, ledger: PrivacyLedger): boolean {
  return fitsBudget(ledger, nextNoiseMultiplier(dp, rounds), { epsilon: dp.epsilon, delta: dp.delta });
}

/**
 * Whether `rounds` in all stay within the budget, with the rounds already accounted and the rest at the multiplier
 * the new round count gives; null when they do, else the epsilon they would spend.
 */
export function extensionOverspend(dp: DifferentialPrivacySettings, rounds: number, ledger: PrivacyLedger): number | null {
  const sigma = nextNoiseMultiplier(dp, rounds);
  const total = epsilonSpent(remainingLedger(ledger, sigma, rounds - ledger.entries.length), dp.delta);
  return total <= dp.epsilon * (1 + 1e-9) ? null : total;
}

/** What the dashboard and the hospital page show. */
export function privacySpentView(federation: FederationRecord, rows: readonly LedgerRow[]): PrivacySpent | null {
  const dp = federation.settings.privacy.differentialPrivacy;
  if (!dp) return null;
  const ended = federation.status === 'finished' || federation.status === 'stopped';
  return {
    // Written with each round's publication (the accountant over the ledger up to that round).
    epsilonSpent: rows.at(-1)?.epsilonSpent ?? 0,
    epsilonBudget: dp.epsilon,
    delta: dp.delta,
    roundsAccounted: rows.length,
    noiseMultiplier: ended ? null : nextNoiseMultiplier(dp, federation.settings.rounds),
  };
}

/** Writes the ledger row of a published round (inside the publication's transaction); returns epsilon spent after it. */
export function recordPublishedRound(store: CoordinatorStore, federation: FederationRecord, round: number, noiseMultiplier: number, contributors: number, now: number): number | null {
  const dp = federation.settings.privacy.differentialPrivacy;
  if (!dp) return null;
  const rows = store.privacy.ledger(federation.id);
  const spent = epsilonSpent(ledgerOf([...rows, { round, noiseMultiplier, contributors, epsilonSpent: 0, recordedAt: now }]), dp.delta);
  store.privacy.appendLedger(federation.id, { round, noiseMultiplier, contributors, epsilonSpent: spent, recordedAt: now });
  return spent;
}
