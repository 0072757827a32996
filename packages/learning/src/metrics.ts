/**
 * Classification metrics over integer labels. tfjs-free. Balanced accuracy follows scikit-learn: the mean recall over
 * the classes present in `yTrue` (classes that are only predicted are left out).
 */
import { MetricsError } from './errors.ts';

export interface ClassificationMetrics {
  readonly count: number;
  readonly accuracy: number;
  /** Mean per-class recall over classes present in yTrue. */
  readonly balancedAccuracy: number;
  /** Recall per class; null for classes absent from yTrue. */
  readonly perClassRecall: (number | null)[];
  /** confusionMatrix[trueClass][predictedClass] = count. */
  readonly confusionMatrix: number[][];
  /** Number of yTrue samples per class. */
  readonly support: number[];
}

function checkLabels(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new MetricsError('invalid-label', `numClasses must be a positive integer, got ${numClasses}`);
  if (yTrue.length !== yPred.length) throw new MetricsError('length-mismatch', `yTrue has ${yTrue.length} labels, yPred ${yPred.length}`);
  if (yTrue.length === 0) throw new MetricsError('empty', 'no samples to score');
  for (const [name, labels] of [['yTrue', yTrue], ['yPred', yPred]] as const) {
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i] as number;
      if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
        throw new MetricsError('invalid-label', `${name}[${i}] = ${label} is not a class index in [0, ${numClasses})`);
      }
    }
  }
}

export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): number[][] {
  checkLabels(yTrue, yPred, numClasses);
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const row = matrix[yTrue[i] as number] as number[];
    const predicted = yPred[i] as number;
    row[predicted] = (row[predicted] as number) + 1;
  }
  return matrix;
}

export function classificationMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): ClassificationMetrics {
  const matrix = confusionMatrix(yTrue, yPred, numClasses);
  let correct = 0;
  const support: number[] = [];
  const perClassRecall: (number | null)[] = [];
  let recallSum = 0;
  let presentClasses = 0;
  matrix.forEach((row, classIndex) => {
    const rowTotal = row.reduce((sum, count) => sum + count, 0);
    const hits = row[classIndex] as number;
    correct += hits;
    support.push(rowTotal);
    if (rowTotal === 0) {
      perClassRecall.push(null);
    } else {
      const recall = hits / rowTotal;
      perClassRecall.push(recall);
      recallSum += recall;
      presentClasses += 1;
    }
  });
  return {
    count: yTrue.length,
    accuracy: correct / yTrue.length,
    balancedAccuracy: recallSum / presentClasses,
    perClassRecall,
    confusionMatrix: matrix,
    support,
  };
}

export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): number {
  return classificationMetrics(yTrue, yPred, numClasses).accuracy;
}

export function balancedAccuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): number {
  return classificationMetrics(yTrue, yPred, numClasses).balancedAccuracy;
}
