import { describe, expect, it } from 'vitest';
import { roundWork } from './round-words.ts';

describe('roundWork', () => {
  it('says what a round does', () => {
    expect(roundWork({ stepsPerRound: 199, localEpochs: null, batchSize: 32 })).toBe('199 steps of 32 images');
    expect(roundWork({ stepsPerRound: null, localEpochs: 1, batchSize: 32 }, 'your')).toBe('1 pass over your training images, in batches of 32');
    expect(roundWork({ stepsPerRound: 50, localEpochs: 2, batchSize: 8 })).toBe('50 steps of 8 images, or 2 passes over the training images if that comes first');
  });
});
