/**
 * Cached CLIP features as plain data. tfjs-free.
 */

/** Row-major [count, dim] features without labels (the unlabelled reference set, evaluation inputs). */
export interface FeatureMatrix {
  readonly dim: number;
  readonly features: Float32Array;
}

/** Labelled features: `labels[i]` is the class index of row i. */
export interface FeatureSet extends FeatureMatrix {
  readonly labels: Int32Array;
}

/** Class-prompt text features, row-major [numClasses, dim], raw (normalised where used). */
export interface TextFeatures {
  readonly dim: number;
  readonly features: Float32Array;
}

export function rowCount(matrix: FeatureMatrix): number {
  return matrix.dim > 0 ? Math.floor(matrix.features.length / matrix.dim) : 0;
}

/** The rows `rows` of `set`, in that order. */
export function selectRows(set: FeatureSet, rows: ArrayLike<number>): FeatureSet {
  const count = rowCount(set);
  const features = new Float32Array(rows.length * set.dim);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as number;
    if (!(Number.isInteger(row) && row >= 0 && row < count)) throw new RangeError(`row ${row} is not a row of a ${count}-row feature set`);
    features.set(set.features.subarray(row * set.dim, (row + 1) * set.dim), i * set.dim);
    labels[i] = set.labels[row] as number;
  }
  return { dim: set.dim, features, labels };
}
