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
