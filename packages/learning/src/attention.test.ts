import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../test/backend.ts';
import * as ref from '../test/reference.ts';
import { FeatureAttention, disposeBatchStatistics, disposeForwardCache } from './attention.ts';
import { ModuleStateError, TrainingError } from './errors.ts';
import type { ModuleKind } from './module-spec.ts';
import { initialModuleState, moduleSpec } from './module-spec.ts';
import { SeededRandom } from './prng.ts';

function randomMatrix(random: SeededRandom, count: number): Float32Array {
  return Float32Array.from({ length: count }, () => random.normal());
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)) / Math.max(1, Math.abs(expected[i] as number)));
  expect(worst).toBeLessThan(tolerance);
}

/** A state with non-trivial BatchNorm parameters and running statistics. */
function randomState(kind: ModuleKind, dim: number, seed: number): ReturnType<typeof initialModuleState> {
  const state = initialModuleState(kind, dim, seed);
  const random = new SeededRandom(seed + 1);
  if (kind === 'facmic') {
    for (const name of ['1.weight', '1.running_var']) state[name]!.data.forEach((_, i, data) => { data[i] = random.uniform(0.5, 1.5); });
    for (const name of ['1.bias', '1.running_mean']) state[name]!.data.forEach((_, i, data) => { data[i] = 0.2 * random.normal(); });
  }
  return state;
}

beforeAll(async () => { await useBackend('cpu'); });

describe.each(['facmic', 'fedclip'] as const)('FeatureAttention (%s)', (kind) => {
  const dim = 9;
  const rows = 6;

  it('matches the float64 reference in train and eval mode', () => {
    const state = randomState(kind, dim, 3);
    const module = FeatureAttention.fromState(kind, dim, state);
    const x = randomMatrix(new SeededRandom(4), rows * dim);
    const input = tf.tensor2d(x, [rows, dim]);
    for (const mode of ['train', 'eval'] as const) {
      const expected = ref.attention(kind, dim, ref.toF64State(state), Float64Array.from(x), rows, mode);
      const { weights, batchStats } = module.apply(input, mode);
      expectClose(weights.dataSync(), expected.weights, 1e-5);
      if (kind === 'facmic' && mode === 'train') {
        expectClose(batchStats!.mean.dataSync(), expected.mean!, 1e-5);
        expectClose(batchStats!.variance.dataSync(), expected.variance!, 1e-5);
      } else {
        expect(batchStats).toBeNull();
      }
      const rowSums = tf.sum(weights, 1).dataSync();
      for (const sum of rowSums) expect(sum).toBeCloseTo(1, 5);
      weights.dispose();
      disposeBatchStatistics(batchStats);
    }
    input.dispose();
    module.dispose();
  });

  it('backward gives the gradient of sum(G * weights) for any G (central differences of the reference)', () => {
    const state = randomState(kind, dim, 5);
    const module = FeatureAttention.fromState(kind, dim, state);
    const random = new SeededRandom(6);
    const x = randomMatrix(random, rows * dim);
    const g = randomMatrix(random, rows * dim);
    const input = tf.tensor2d(x, [rows, dim]);
    const forward = module.forwardForTraining(input);
    const grads = module.backward(forward.cache, tf.tensor2d(g, [rows, dim]));
    const f64 = ref.toF64State(state);
    const objective = (): number => {
      const weights = ref.attention(kind, dim, f64, Float64Array.from(x), rows, 'train').weights;
      return weights.reduce((sum, w, i) => sum + w * (g[i] as number), 0);
    };
    for (const entry of moduleSpec(kind, dim).filter((spec) => spec.kind === 'parameter')) {
      const numeric = ref.numericGradient(f64[entry.name]!, objective);
      const analytic = grads[entry.name]!.dataSync();
      const scale = Math.max(...numeric.map(Math.abs), 1e-3);
      for (let i = 0; i < numeric.length; i++) expect(Math.abs((analytic[i] as number) - (numeric[i] as number)) / scale, `${entry.name}[${i}]`).toBeLessThan(1e-4);
    }
    disposeForwardCache(forward.cache);
    forward.weights.dispose();
    disposeBatchStatistics(forward.batchStats);
    for (const grad of Object.values(grads)) grad.dispose();
    input.dispose();
    module.dispose();
  });

  it('exports exactly the state it was given and validates what it loads', async () => {
    const state = randomState(kind, dim, 8);
    const module = FeatureAttention.fromState(kind, dim, state);
    expect(await module.exportState()).toEqual(state);
    expect(module.exportStateSync()).toEqual(state);
    const broken = randomState(kind, dim, 9);
    broken['0.bias'] = { shape: [dim + 1], data: new Float32Array(dim + 1) };
    expect(() => { module.loadState(broken); }).toThrow(ModuleStateError);
    expect(await module.exportState()).toEqual(state); // nothing changed
    const other = randomState(kind, dim, 10);
    module.loadState(other);
    expect(await module.exportState()).toEqual(other);
    module.dispose();
  });

  it('rejects features of the wrong dimension', () => {
    const module = FeatureAttention.create(kind, dim, 1);
    const input = tf.zeros<tf.Rank.R2>([4, dim + 1]);
    expect(() => module.apply(input, 'eval')).toThrow(TrainingError);
    input.dispose();
    module.dispose();
  });
});

describe('FeatureAttention BatchNorm statistics', () => {
  it('moves running statistics like torch (momentum 0.1, unbiased variance) and counts batches', async () => {
    const dim = 5;
    const rows = 4;
    const state = initialModuleState('facmic', dim, 2);
    const module = FeatureAttention.fromState('facmic', dim, state);
    const x = randomMatrix(new SeededRandom(3), rows * dim);
    const input = tf.tensor2d(x, [rows, dim]);
    const f64 = ref.toF64State(state);
    for (let repeat = 0; repeat < 2; repeat++) {
      const { weights, batchStats } = module.apply(input, 'train');
      module.trackBatch(batchStats!);
      disposeBatchStatistics(batchStats);
      weights.dispose();
      const expected = ref.attention('facmic', dim, f64, Float64Array.from(x), rows, 'train');
      ref.trackBatch(f64, { mean: expected.mean!, variance: expected.variance! }, rows);
    }
    const exported = await module.exportState();
    expectClose(exported['1.running_mean']!.data, f64['1.running_mean']!, 1e-6);
    expectClose(exported['1.running_var']!.data, f64['1.running_var']!, 1e-6);
    expect(exported['1.num_batches_tracked']!.data[0]).toBe(2);
    expect(module.numBatchesTracked).toBe(2);
    input.dispose();
    module.dispose();
  });

  it('refuses a train-mode forward of one row (as torch)', () => {
    const module = FeatureAttention.create('facmic', 3, 1);
    const input = tf.ones<tf.Rank.R2>([1, 3]);
    expect(() => module.apply(input, 'train')).toThrow(/at least 2 rows/);
    const weights = module.forward(input, 'eval');
    expect(weights.shape).toEqual([1, 3]);
    weights.dispose();
    input.dispose();
    module.dispose();
  });

  it('frees all of its tensors on dispose', () => {
    const before = tf.memory().numTensors;
    const module = FeatureAttention.create('facmic', 6, 1);
    expect(tf.memory().numTensors).toBe(before + 8);
    module.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
