import { describe, expect, it } from 'vitest';
import { MetricsError } from './errors.ts';
import { accuracy, balancedAccuracy, classificationMetrics, confusionMatrix } from './metrics.ts';

describe('classification metrics', () => {
  it('computes accuracy, per-class recall, balanced accuracy and the confusion matrix', () => {
    const yTrue = [0, 0, 0, 0, 1, 1, 2, 2];
    const yPred = [0, 0, 0, 1, 1, 0, 2, 1];
    const metrics = classificationMetrics(yTrue, yPred, 3);
    expect(metrics.accuracy).toBeCloseTo(5 / 8, 12);
    expect(metrics.perClassRecall).toEqual([0.75, 0.5, 0.5]);
    expect(metrics.balancedAccuracy).toBeCloseTo((0.75 + 0.5 + 0.5) / 3, 12);
    expect(metrics.confusionMatrix).toEqual([[3, 1, 0], [1, 1, 0], [0, 1, 1]]);
    expect(metrics.support).toEqual([4, 2, 2]);
  });

  it('leaves classes absent from yTrue out of balanced accuracy (as scikit-learn)', () => {
    // class 2 is predicted but never true; class 3 neither
    const metrics = classificationMetrics([0, 0, 1, 1], [0, 2, 1, 1], 4);
    expect(metrics.perClassRecall).toEqual([0.5, 1, null, null]);
    expect(metrics.balancedAccuracy).toBeCloseTo(0.75, 12);
    expect(balancedAccuracy([0, 0, 1, 1], [0, 2, 1, 1], 4)).toBeCloseTo(0.75, 12);
    expect(accuracy([0, 0, 1, 1], [0, 2, 1, 1], 4)).toBeCloseTo(0.75, 12);
  });

  it('rejects empty, mismatched or out-of-range labels', () => {
    expect(() => confusionMatrix([], [], 2)).toThrow(MetricsError);
    expect(() => confusionMatrix([0], [0, 1], 2)).toThrow(/yPred 2/);
    expect(() => confusionMatrix([0, 3], [0, 1], 2)).toThrow(/yTrue\[1\] = 3/);
    expect(() => confusionMatrix([0], [-1], 2)).toThrow(/yPred\[0\]/);
  });
});
