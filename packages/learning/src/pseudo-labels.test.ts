import { describe, expect, it } from 'vitest';
import { MetricsError } from './errors.ts';
import { addTallies, oneHotProbabilities, pseudoLabelAccuracy, pseudoLabelsFromProbabilities, tallyPseudoLabels } from './pseudo-labels.ts';

describe('pseudo labels', () => {
  it('takes the argmax of each row, the first maximum on ties', () => {
    const probabilities = [
      0.7, 0.2, 0.1,
      0.1, 0.3, 0.6,
      0.4, 0.4, 0.2,
      0.2, 0.5, 0.3,
    ];
    expect(Array.from(pseudoLabelsFromProbabilities(probabilities, 3))).toEqual([0, 2, 0, 1]);
  });

  it('scores the share of reference rows whose pseudo label is the true label (hand case)', () => {
    // Rows 0 and 3 right, rows 1 and 2 wrong, and a second batch with 1 of 2 right: 3 of 6.
    const first = tallyPseudoLabels([0, 2, 0, 1], [0, 1, 2, 1]);
    expect(first).toEqual({ rows: 4, correct: 2 });
    expect(pseudoLabelAccuracy(first)).toBe(0.5);
    const both = addTallies([first, tallyPseudoLabels([1, 1], [1, 0])]);
    expect(both).toEqual({ rows: 6, correct: 3 });
    expect(pseudoLabelAccuracy(both)).toBe(0.5);
    expect(pseudoLabelAccuracy(tallyPseudoLabels([2, 2, 2], [2, 2, 0]))).toBeCloseTo(2 / 3, 12);
    expect(pseudoLabelAccuracy({ rows: 0, correct: 0 })).toBeNull();
    expect(() => tallyPseudoLabels([0, 1], [0])).toThrow(MetricsError);
  });

  it('writes one-hot rows for true labels and refuses labels outside the classes', () => {
    expect(Array.from(oneHotProbabilities([2, 0], 3))).toEqual([0, 0, 1, 1, 0, 0]);
    expect(() => oneHotProbabilities([3], 3)).toThrow(MetricsError);
  });
});
