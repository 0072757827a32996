/**
 * Scores a global model on the federation's labelled global test set (the paper's global site), and its pseudo labels
 * on the reference set where the coordinator knows the reference rows' classes.
 */
import { evaluate, FeatureAttention, type ModuleState } from '@facmic/learning';
import { decodeTensors, FEATURE_TENSOR_NAMES, type EvalMetrics } from '@facmic/protocol';
import type { GlobalEvaluator } from '../global-evaluations.ts';
import type { CoordinatorStore, FederationRecord } from '../store/store.ts';
import { initTfBackend } from '../tf-backend.ts';
import { GLOBAL_TEST_TENSORS } from './federation-data.ts';

export function createGlobalEvaluator(store: CoordinatorStore): GlobalEvaluator {
  return async (federation: FederationRecord, state: ModuleState): Promise<EvalMetrics | null> => {
    const testFile = store.getGlobalTest(federation.id);
    const featuresFile = store.getFederationFeatures(federation.id);
    if (!testFile || !featuresFile) return null;
    await initTfBackend('cpu');
    const dim = federation.encoder.featureDim;
    const test = decodeTensors(testFile).tensors;
    const shared = decodeTensors(featuresFile).tensors;
    const text = shared[FEATURE_TENSOR_NAMES.text];
    const reference = shared[FEATURE_TENSOR_NAMES.reference];
    const features = test[GLOBAL_TEST_TENSORS.features];
    const labels = test[GLOBAL_TEST_TENSORS.labels];
    const referenceLabels = test[GLOBAL_TEST_TENSORS.referenceLabels];
    if (!text || !features || !labels) return null;
    const module = FeatureAttention.fromState(federation.settings.method, dim, state);
    try {
      const prompts = { dim, features: text.data };
      const result = await evaluate(module, { dim, features: features.data, labels: Int32Array.from(labels.data) }, prompts);
      const metrics: EvalMetrics = { accuracy: result.accuracy, balancedAccuracy: result.balancedAccuracy, samples: result.count };
      if (reference && referenceLabels && referenceLabels.data.length * dim === reference.data.length) {
        // A pseudo label is the predicted class, so their accuracy is this model's accuracy on the labelled reference rows.
        metrics.pseudoLabelAccuracy = (await evaluate(module, { dim, features: reference.data, labels: Int32Array.from(referenceLabels.data) }, prompts)).accuracy;
      }
      return metrics;
    } finally {
      module.dispose();
    }
  };
}
