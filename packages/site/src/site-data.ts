/** A site's local data as features, and the checks that it fits the federation before it takes part. */
import type { FeatureMatrix, FeatureSet, TextFeatures } from '@facmic/learning';
import type { EvalMetrics, FederationConfig } from '@facmic/protocol';
import { SiteError } from './events.ts';

/** A site's data as features (labels are indices into the federation's `classNames`). */
export interface SiteData {
  train: FeatureSet;
  /** Local test split for evaluating the global and local models; null to skip evaluation. */
  test: FeatureSet | null;
}

/** What the coordinator sends every site: the class prompts' text features and the unlabelled reference set. */
export interface FederationFeatures {
  text: TextFeatures;
  reference: FeatureMatrix;
  checksum: string;
}

export function rowsOf(set: FeatureSet): number {
  return set.dim > 0 ? Math.floor(set.features.length / set.dim) : 0;
}

export function toEvalMetrics(evaluation: { accuracy: number; balancedAccuracy: number; count: number }): EvalMetrics {
  return { accuracy: evaluation.accuracy, balancedAccuracy: evaluation.balancedAccuracy, samples: evaluation.count };
}

/** Throws `LOCAL_DATA_INVALID` unless the data has the encoder's dimension, one label per row and enough rows. */
export function checkData(data: SiteData, federation: FederationConfig): void {
  const dim = federation.encoder.featureDim;
  const classes = federation.classNames.length;
  const check = (set: FeatureSet, what: string, minRows: number) => {
    if (set.dim !== dim) throw new SiteError('LOCAL_DATA_INVALID', `${what} features have dimension ${set.dim}; the federation's encoder gives ${dim}`);
    const rows = rowsOf(set);
    if (set.features.length !== rows * dim || set.labels.length !== rows) throw new SiteError('LOCAL_DATA_INVALID', `${what}: ${set.labels.length} labels for ${rows} feature rows`);
    if (rows < minRows) throw new SiteError('LOCAL_DATA_INVALID', `${what} has ${rows} images; at least ${minRows} are needed`);
    for (const label of set.labels) {
      if (!(label >= 0 && label < classes)) throw new SiteError('LOCAL_DATA_INVALID', `${what}: label ${label} is not one of the federation's ${classes} classes`);
    }
  };
  check(data.train, 'training data', 2);
  if (data.test) check(data.test, 'test data', 1);
}
