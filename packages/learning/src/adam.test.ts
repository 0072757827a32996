import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../test/backend.ts';
import * as ref from '../test/reference.ts';
import { AdamL2, PAPER_ADAM } from './adam.ts';
import { TrainingError } from './errors.ts';
import { SeededRandom } from './prng.ts';

beforeAll(async () => { await useBackend('cpu'); });

describe('AdamL2', () => {
  it.each([
    { learningRate: 5e-5, beta1: 0.9, beta2: 0.98, epsilon: 1e-6, weightDecay: 0.02 },
    { learningRate: 1e-2, beta1: 0.8, beta2: 0.9, epsilon: 1e-8, weightDecay: 0 },
  ])('follows torch Adam with L2 weight decay over several steps (%o)', (options) => {
    const random = new SeededRandom(1);
    const initial = Float32Array.from({ length: 12 }, () => random.normal());
    const variable = tf.variable(tf.tensor(initial, [3, 4]));
    const optimizer = new AdamL2(options);
    const state: ref.F64State = { w: Float64Array.from(initial) };
    const moments = { step: 0, m: {} as ref.F64State, v: {} as ref.F64State };
    for (let step = 0; step < 4; step++) {
      const grad = Float32Array.from({ length: 12 }, () => random.normal() * 10 ** (step - 2));
      const gradTensor = tf.tensor(grad, [3, 4]);
      optimizer.applyGradients({ w: variable }, { w: gradTensor });
      gradTensor.dispose();
      ref.adamStep(state, { w: Float64Array.from(grad) }, moments, { lr: options.learningRate, beta1: options.beta1, beta2: options.beta2, eps: options.epsilon, weightDecay: options.weightDecay });
      const actual = variable.dataSync();
      for (let i = 0; i < 12; i++) expect(Math.abs((actual[i] as number) - (state.w![i] as number))).toBeLessThan(1e-6 * Math.max(1, Math.abs(state.w![i] as number)));
    }
    expect(optimizer.stepCount).toBe(4);
    optimizer.dispose();
    variable.dispose();
  });

  it('defaults to the paper settings and keeps no tensors after dispose', () => {
    expect(new AdamL2().options).toEqual(PAPER_ADAM);
    const before = tf.memory().numTensors;
    const variable = tf.tidy(() => tf.variable(tf.zeros([2])));
    const optimizer = new AdamL2();
    const grad = tf.ones([2]);
    optimizer.applyGradients({ w: variable }, { w: grad });
    grad.dispose();
    optimizer.dispose();
    variable.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects invalid settings', () => {
    expect(() => new AdamL2({ learningRate: -1 })).toThrow(TrainingError);
    expect(() => new AdamL2({ beta2: 1 })).toThrow(/beta2/);
  });
});
