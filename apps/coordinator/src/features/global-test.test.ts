import { FeatureAttention, initialModuleState, predict } from '@facmic/learning';
import { encodeTensors, FEATURE_TENSOR_NAMES } from '@facmic/protocol';
import { describe, expect, it } from 'vitest';
import type { CoordinatorStore, FederationRecord } from '../store/store.ts';
import { initTfBackend } from '../tf-backend.ts';
import { GLOBAL_TEST_TENSORS } from './federation-data.ts';
import { createGlobalEvaluator } from './global-test.ts';

const dim = 8;
const classes = 3;

function values(count: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

function setUp(referenceLabels: Float32Array | null) {
  const text = values(classes * dim, 1);
  const reference = values(30 * dim, 2);
  const test = values(12 * dim, 3);
  const features = encodeTensors({
    [FEATURE_TENSOR_NAMES.text]: { shape: [classes, dim], data: text },
    [FEATURE_TENSOR_NAMES.reference]: { shape: [30, dim], data: reference },
  }).bytes;
  const globalTest = encodeTensors({
    [GLOBAL_TEST_TENSORS.features]: { shape: [12, dim], data: test },
    [GLOBAL_TEST_TENSORS.labels]: { shape: [12], data: Float32Array.from({ length: 12 }, (_, i) => i % classes) },
    ...(referenceLabels ? { [GLOBAL_TEST_TENSORS.referenceLabels]: { shape: [30], data: referenceLabels } } : {}),
  }).bytes;
  const store = { getGlobalTest: () => globalTest, getFederationFeatures: () => features } as unknown as CoordinatorStore;
  const federation = { id: 'f', encoder: { featureDim: dim }, settings: { method: 'facmic' } } as unknown as FederationRecord;
  return { store, federation, text, reference };
}

describe('global evaluator', () => {
  it('scores the pseudo labels on a labelled reference set: the share whose predicted class is the true one', async () => {
    await initTfBackend('cpu');
    const state = initialModuleState('facmic', dim, 7);
    const plain = setUp(null);
    const module = FeatureAttention.fromState('facmic', dim, state);
    const predicted = (await predict(module, { dim, features: plain.reference }, { dim, features: plain.text })).predictions;
    module.dispose();
    // True labels: the predicted class for 20 rows, another class for the first 10.
    const labels = Float32Array.from(predicted, (p, i) => (i < 10 ? (p + 1) % classes : p));
    const labelled = setUp(labels);
    const metrics = await createGlobalEvaluator(labelled.store)(labelled.federation, state);
    expect(metrics?.pseudoLabelAccuracy).toBeCloseTo(20 / 30, 10);
    expect(metrics?.samples).toBe(12);
    // An unlabelled reference set: no pseudo-label accuracy, the rest unchanged.
    const unlabelled = await createGlobalEvaluator(plain.store)(plain.federation, state);
    expect(unlabelled?.pseudoLabelAccuracy).toBeUndefined();
    expect(unlabelled?.accuracy).toBe(metrics?.accuracy);
  });
});
