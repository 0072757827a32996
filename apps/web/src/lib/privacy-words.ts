/** The privacy settings and the budget spent, in the words the dashboard and the hospital page use. */
import type { PrivacySettings, PrivacySpent } from '@facmic/protocol';

/** e.g. "ε 2.31 of 8 spent (δ 1e-5), after 3 rounds". */
export function privacySpentLine(spent: PrivacySpent): string {
  const rounds = spent.roundsAccounted === 1 ? '1 round' : `${spent.roundsAccounted} rounds`;
  return `privacy budget: ε ${spent.epsilonSpent.toFixed(2)} of ${spent.epsilonBudget} spent (δ ${spent.delta}), after ${rounds}`;
}

/** One sentence per setting that is on ("none" when all are off). */
export function privacySettingsWords(privacy: PrivacySettings): string[] {
  const words: string[] = [];
  const secure = privacy.secureAggregation;
  if (secure.enabled) {
    words.push(
      `secure aggregation: the coordinator sees only the sum of the hospitals’ updates, never one hospital’s; a round completes with at least ${secure.threshold ?? 'more than half of its'} hospitals`,
    );
  }
  const dp = privacy.differentialPrivacy;
  if (dp) {
    words.push(
      `differential privacy: budget ε ${dp.epsilon} (δ ${dp.delta}) for the whole federation; each hospital’s change is limited to size ${dp.clipNorm} and noise is added ${dp.noise === 'distributed' ? 'by every hospital (its share)' : 'by the coordinator'}`,
    );
  }
  if (!secure.enabled && privacy.updateEncoding === 'float16') words.push('updates sent as 16-bit numbers (half the upload)');
  if (!secure.enabled && privacy.updateEncoding === 'int8') words.push('updates sent as 8-bit changes from the round’s model (a quarter of the upload, rounded at random)');
  return words.length > 0 ? words : ['no secure aggregation, no differential privacy: the coordinator sees each hospital’s update'];
}
