/** Seeded train / validation / test split of a labelled feature set. */
import type { FeatureSet } from '@facmic/learning';
import { SeededRandom } from '@facmic/learning/plain';
import type { SiteSplit } from './types.ts';

export const DEFAULT_SPLIT: readonly [number, number, number] = [0.8, 0.1, 0.1];

export function selectRows(set: FeatureSet, rows: ArrayLike<number>): FeatureSet {
  const features = new Float32Array(rows.length * set.dim);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as number;
    features.set(set.features.subarray(row * set.dim, (row + 1) * set.dim), i * set.dim);
    labels[i] = set.labels[row] as number;
  }
  return { dim: set.dim, features, labels };
}

/**
 * Shuffles with `seed` and cuts floor(n * train) rows for training, floor(n * val) for validation and the rest for
 * testing (so the test split is never empty when n >= 3).
 */
export function splitSite(set: FeatureSet, seed: number, fractions: readonly [number, number, number] = DEFAULT_SPLIT): SiteSplit {
  const [train, val, test] = fractions;
  if (![train, val, test].every((f) => f >= 0) || Math.abs(train + val + test - 1) > 1e-9) throw new RangeError(`split fractions must be non-negative and sum to 1, got ${fractions.join('/')}`);
  const count = set.labels.length;
  const order = new SeededRandom(seed).permutation(count);
  const trainCount = Math.floor(count * train);
  const valCount = Math.floor(count * val);
  return {
    train: selectRows(set, order.subarray(0, trainCount)),
    val: selectRows(set, order.subarray(trainCount, trainCount + valCount)),
    test: selectRows(set, order.subarray(trainCount + valCount)),
  };
}
