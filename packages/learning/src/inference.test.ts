import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../test/backend.ts';
import * as ref from '../test/reference.ts';
import { FeatureAttention } from './attention.ts';
import { TrainingError } from './errors.ts';
import { evaluate, predict } from './inference.ts';
import { initialModuleState } from './module-spec.ts';
import { SeededRandom } from './prng.ts';

beforeAll(async () => { await useBackend('cpu'); });

const DIM = 6;
const CLASSES = 3;
const ROWS = 11;
const random = new SeededRandom(21);
const features = Float32Array.from({ length: ROWS * DIM }, () => random.normal());
const textFeatures = Float32Array.from({ length: CLASSES * DIM }, () => random.normal());

function referenceCosine(weights: Float64Array | null): Float64Array {
  const x = Float64Array.from(features);
  const attended = weights === null ? x : ref.multiply(weights, x);
  return ref.matMulT(ref.normalizeRows(attended, ROWS), ROWS, ref.normalizeRows(Float64Array.from(textFeatures), CLASSES), CLASSES);
}

function argmaxRows(values: ArrayLike<number>): number[] {
  return Array.from({ length: ROWS }, (_, i) => {
    let best = 0;
    for (let c = 1; c < CLASSES; c++) if ((values[i * CLASSES + c] as number) > (values[i * CLASSES + best] as number)) best = c;
    return best;
  });
}

describe('predict', () => {
  it('zero-shot: argmax cosine of raw features, probabilities softmax(100 cos)', async () => {
    const result = await predict(null, { dim: DIM, features }, { dim: DIM, features: textFeatures });
    const cosine = referenceCosine(null);
    const probs = ref.softmaxRows(cosine.map((v) => 100 * v), ROWS);
    for (let i = 0; i < probs.length; i++) expect(result.probabilities[i]).toBeCloseTo(probs[i] as number, 5);
    expect([...result.predictions]).toEqual(argmaxRows(cosine));
  });

  it('with a module: eval mode (running statistics), batched or not', async () => {
    const state = initialModuleState('facmic', DIM, 4);
    state['1.running_mean']!.data.fill(0.3);
    state['1.running_var']!.data.fill(2);
    const module = FeatureAttention.fromState('facmic', DIM, state);
    const whole = await predict(module, { dim: DIM, features }, { dim: DIM, features: textFeatures });
    const batched = await predict(module, { dim: DIM, features }, { dim: DIM, features: textFeatures }, { batchSize: 4 });
    expect(batched).toEqual(whole);
    const cosine = referenceCosine(ref.attention('facmic', DIM, ref.toF64State(state), Float64Array.from(features), ROWS, 'eval').weights);
    for (let i = 0; i < cosine.length; i++) expect(whole.similarities[i]).toBeCloseTo(cosine[i] as number, 5);
    expect([...whole.predictions]).toEqual(argmaxRows(cosine));
    module.dispose();
  });

  it('evaluate scores predictions against labels and leaks no tensors', async () => {
    const module = FeatureAttention.create('fedclip', DIM, 2);
    const before = tf.memory().numTensors;
    const labels = Int32Array.from({ length: ROWS }, (_, i) => i % CLASSES);
    const result = await evaluate(module, { dim: DIM, features, labels }, { dim: DIM, features: textFeatures });
    expect(tf.memory().numTensors).toBe(before);
    const correct = [...result.predictions].filter((prediction, i) => prediction === labels[i]).length;
    expect(result.accuracy).toBeCloseTo(correct / ROWS, 12);
    expect(result.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(ROWS);
    module.dispose();
  });

  it('rejects mismatched dimensions', async () => {
    await expect(predict(null, { dim: DIM, features }, { dim: DIM + 1, features: new Float32Array(DIM + 1) })).rejects.toThrow(TrainingError);
    await expect(predict(null, { dim: DIM, features: new Float32Array(DIM + 1) }, { dim: DIM, features: textFeatures })).rejects.toThrow(/multiple/);
  });
});
