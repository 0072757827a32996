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

  it('exports its state and continues from a loaded one exactly as if it had never stopped', async () => {
    const random = new SeededRandom(3);
    const initial = Float32Array.from({ length: 6 }, () => random.normal());
    const grads = Array.from({ length: 4 }, () => Float32Array.from({ length: 6 }, () => random.normal()));
    const run = async (split: boolean): Promise<Float32Array> => {
      const variable = tf.variable(tf.tensor(initial, [2, 3]));
      let optimizer = new AdamL2();
      for (const [step, grad] of grads.entries()) {
        if (split && step === 2) {
          const state = await optimizer.exportState();
          expect(state.step).toBe(2);
          optimizer.dispose();
          optimizer = new AdamL2();
          optimizer.loadState(state, { w: [2, 3] });
          expect(optimizer.stepCount).toBe(2);
        }
        const g = tf.tensor(grad, [2, 3]);
        optimizer.applyGradients({ w: variable }, { w: g });
        g.dispose();
      }
      const out = Float32Array.from(variable.dataSync());
      optimizer.dispose();
      variable.dispose();
      return out;
    };
    expect(await run(true)).toEqual(await run(false));
  });

  it('refuses a state it cannot have had', async () => {
    const optimizer = new AdamL2();
    const variable = tf.variable(tf.zeros([2]));
    const g = tf.ones([2]);
    optimizer.applyGradients({ w: variable }, { w: g });
    const good = await optimizer.exportState();
    expect(() => { optimizer.loadState({ ...good, step: -1 }); }).toThrow(TrainingError);
    expect(() => { optimizer.loadState({ ...good, secondMoments: { w: { shape: [2], data: Float32Array.from([-1, 0]) } } }); }).toThrow(/negative/);
    expect(() => { optimizer.loadState({ ...good, secondMoments: {} }); }).toThrow(/different parameters/);
    expect(() => { optimizer.loadState(good, { w: [3] }); }).toThrow(/another shape/);
    expect(optimizer.stepCount).toBe(1); // a refused state changes nothing
    optimizer.loadState({ step: 0, firstMoments: {}, secondMoments: {} });
    expect(optimizer.stepCount).toBe(0);
    g.dispose();
    variable.dispose();
    optimizer.dispose();
  });
});
