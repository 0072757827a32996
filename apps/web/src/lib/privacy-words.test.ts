import { describe, expect, it } from 'vitest';
import { NO_PRIVACY, privacySettingsSchema } from '@facmic/protocol';
import { privacySettingsWords, privacySpentLine } from './privacy-words.ts';

describe('privacy words', () => {
  it('says the coordinator sees each update when nothing is on', () => {
    expect(privacySettingsWords(NO_PRIVACY)).toEqual(['no secure aggregation, no differential privacy: the coordinator sees each hospital’s update']);
  });

  it('names the threshold and the budget', () => {
    const words = privacySettingsWords(privacySettingsSchema.parse({ secureAggregation: { enabled: true, threshold: 3 }, differentialPrivacy: { epsilon: 8, delta: 1e-5, clipNorm: 0.05, noise: 'distributed' } }));
    expect(words[0]).toContain('at least 3 hospitals');
    expect(words[1]).toContain('budget ε 8');
    expect(words[1]).toContain('by every hospital');
  });

  it('names the 8-bit encoding, which secure aggregation replaces', () => {
    expect(privacySettingsWords(privacySettingsSchema.parse({ updateEncoding: 'int8' }))).toEqual(['updates sent as 8-bit changes from the round’s model (a quarter of the upload, rounded at random)']);
    expect(privacySettingsWords(privacySettingsSchema.parse({ updateEncoding: 'int8', secureAggregation: { enabled: true } })).join(' ')).not.toContain('8-bit');
  });

  it('shows epsilon spent of the budget', () => {
    expect(privacySpentLine({ epsilonSpent: 2.314, epsilonBudget: 8, delta: 1e-5, roundsAccounted: 3, noiseMultiplier: 1.2 })).toBe('privacy budget: ε 2.31 of 8 spent (δ 0.00001), after 3 rounds');
  });
});
