/** Scores a global model on the federation's labelled global test set (the paper's global site). */
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
    const text = decodeTensors(featuresFile).tensors[FEATURE_TENSOR_NAMES.text];
    const features = test[GLOBAL_TEST_TENSORS.features];
    const labels = test[GLOBAL_TEST_TENSORS.labels];
    if (!text || !features || !labels) return null;
    const module = FeatureAttention.fromState(federation.settings.method, dim, state);
    try {
      const result = await evaluate(module, { dim, features: features.data, labels: Int32Array.from(labels.data) }, { dim, features: text.data });
      return { accuracy: result.accuracy, balancedAccuracy: result.balancedAccuracy, samples: result.count };
    } finally {
      module.dispose();
    }
  };
}
