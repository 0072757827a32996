/**
 * Pseudo labels of the reference (target) set, as LMMD sees them, and their quality where the truth is known (in
 * simulation). tfjs-free.
 */
import { MetricsError } from './errors.ts';

/** The argmax class of each row of `probabilities` [N, C] (first maximum on ties, as LMMD's `cal_weight`). */
export function pseudoLabelsFromProbabilities(probabilities: ArrayLike<number>, numClasses: number): Int32Array {
  const rows = Math.floor(probabilities.length / numClasses);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if ((probabilities[i * numClasses + c] as number) > (probabilities[i * numClasses + best] as number)) best = c;
    labels[i] = best;
  }
  return labels;
}

/**
 * One-hot rows [N, C] of class indices: the "probabilities" of a perfectly labelled reference batch, which the oracle
 * LMMD uses in place of the module's pseudo-label probabilities.
 */
export function oneHotProbabilities(labels: ArrayLike<number>, numClasses: number): Float32Array {
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    if (!(Number.isInteger(label) && label >= 0 && label < numClasses)) throw new MetricsError('invalid-label', `label ${label} is not a class index in [0, ${numClasses})`);
    out[i * numClasses + label] = 1;
  }
  return out;
}

/** Reference rows pseudo-labelled, and how many of them got their true label. */
export interface PseudoLabelTally {
  readonly rows: number;
  readonly correct: number;
}

/** Counts the rows whose pseudo label equals the true label. */
export function tallyPseudoLabels(pseudoLabels: ArrayLike<number>, trueLabels: ArrayLike<number>): PseudoLabelTally {
  if (pseudoLabels.length !== trueLabels.length) throw new MetricsError('length-mismatch', `${pseudoLabels.length} pseudo labels for ${trueLabels.length} true labels`);
  let correct = 0;
  for (let i = 0; i < pseudoLabels.length; i++) if (pseudoLabels[i] === trueLabels[i]) correct += 1;
  return { rows: pseudoLabels.length, correct };
}

/** Sum of tallies (e.g. over a round's steps and sites). */
export function addTallies(tallies: readonly PseudoLabelTally[]): PseudoLabelTally {
  return tallies.reduce((sum, t) => ({ rows: sum.rows + t.rows, correct: sum.correct + t.correct }), { rows: 0, correct: 0 });
}

/** Pseudo-label accuracy: correct / rows; null when no row was pseudo-labelled. */
export function pseudoLabelAccuracy(tally: PseudoLabelTally): number | null {
  return tally.rows === 0 ? null : tally.correct / tally.rows;
}
