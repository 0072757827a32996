/**
 * torch.optim.Adam (torch 1.13, single-tensor path, amsgrad off) with L2 weight decay added to the gradient before the
 * moments: g = grad + wd * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). tfjs's own Adam has no weight decay.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdamOptions, AdamState } from './adam-options.ts';
import { PAPER_ADAM } from './adam-options.ts';
import { TrainingError } from './errors.ts';

export type { AdamOptions, AdamState } from './adam-options.ts';
export { PAPER_ADAM } from './adam-options.ts';

function checkOptions(options: AdamOptions): void {
  const { learningRate, beta1, beta2, epsilon, weightDecay } = options;
  const problems: string[] = [];
  if (!(Number.isFinite(learningRate) && learningRate >= 0)) problems.push(`learningRate ${learningRate}`);
  if (!(beta1 >= 0 && beta1 < 1)) problems.push(`beta1 ${beta1}`);
  if (!(beta2 >= 0 && beta2 < 1)) problems.push(`beta2 ${beta2}`);
  if (!(Number.isFinite(epsilon) && epsilon >= 0)) problems.push(`epsilon ${epsilon}`);
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) problems.push(`weightDecay ${weightDecay}`);
  if (problems.length > 0) throw new TrainingError('invalid-options', `invalid Adam settings: ${problems.join(', ')}`);
}

export class AdamL2 {
  readonly options: Readonly<AdamOptions>;
  private readonly firstMoments = new Map<string, tf.Tensor>();
  private readonly secondMoments = new Map<string, tf.Tensor>();
  private steps = 0;

  constructor(options: Partial<AdamOptions> = {}) {
    this.options = Object.freeze({ ...PAPER_ADAM, ...options });
    checkOptions(this.options);
  }

  /** Number of optimiser steps taken (torch's `state['step']`). */
  get stepCount(): number {
    return this.steps;
  }

  /** One update of every variable that has a gradient in `gradients` (keys are the variables' names in `variables`). */
  applyGradients(variables: Readonly<Record<string, tf.Variable>>, gradients: Readonly<Record<string, tf.Tensor>>): void {
    const { learningRate, beta1, beta2, epsilon, weightDecay } = this.options;
    this.steps += 1;
    const stepSize = learningRate / (1 - beta1 ** this.steps);
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** this.steps);
    for (const [name, variable] of Object.entries(variables)) {
      const gradient = gradients[name];
      if (gradient === undefined) continue;
      tf.tidy(() => {
        const g = weightDecay === 0 ? gradient : tf.add(gradient, tf.mul(variable, weightDecay));
        const previousM = this.firstMoments.get(name);
        const previousV = this.secondMoments.get(name);
        const m = tf.add(previousM === undefined ? tf.zerosLike(g) : tf.mul(previousM, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(previousV === undefined ? tf.zerosLike(g) : tf.mul(previousV, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const denominator = tf.add(tf.div(tf.sqrt(v), biasCorrection2Sqrt), epsilon);
        variable.assign(tf.sub(variable, tf.mul(tf.div(m, denominator), stepSize)));
        previousM?.dispose();
        previousV?.dispose();
        this.firstMoments.set(name, tf.keep(m));
        this.secondMoments.set(name, tf.keep(v));
      });
    }
  }

  /** The step count and moments (copies), to keep across rounds or store (see AdamState). */
  async exportState(): Promise<AdamState> {
    const read = async (moments: Map<string, tf.Tensor>): Promise<AdamState['firstMoments']> => {
      const out: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (const [name, tensor] of moments) out[name] = { shape: [...tensor.shape], data: Float32Array.from(await tensor.data()) };
      return out;
    };
    return { step: this.steps, firstMoments: await read(this.firstMoments), secondMoments: await read(this.secondMoments) };
  }

  /**
   * Continues from a stored state (replacing the current one). Throws TrainingError('invalid-options') when the state is
   * not one Adam can have: a negative or fractional step, moments of different names or shapes, values that are not
   * finite, a negative second moment. With `expectedShapes`, every moment must also have its parameter's shape.
   */
  loadState(state: AdamState, expectedShapes?: Readonly<Record<string, readonly number[]>>): void {
    const invalid = (why: string): TrainingError => new TrainingError('invalid-options', `Adam state: ${why}`);
    if (!(Number.isInteger(state.step) && state.step >= 0)) throw invalid(`step ${state.step} is not a non-negative integer`);
    const names = Object.keys(state.firstMoments).sort();
    if (names.join('\n') !== Object.keys(state.secondMoments).sort().join('\n')) throw invalid('first and second moments name different parameters');
    if (state.step === 0 && names.length > 0) throw invalid('moments without a step');
    for (const name of names) {
      const m = state.firstMoments[name];
      const v = state.secondMoments[name];
      if (m === undefined || v === undefined) throw invalid(`no moments for ${name}`);
      const size = m.shape.reduce((a, b) => a * b, 1);
      if (m.shape.join(',') !== v.shape.join(',') || m.data.length !== size || v.data.length !== size) throw invalid(`moments of ${name} do not match their shape`);
      const expected = expectedShapes?.[name];
      if (expectedShapes !== undefined && (expected === undefined || expected.join(',') !== m.shape.join(','))) throw invalid(`${name} is not a parameter of this module, or has another shape`);
      for (const value of m.data) if (!Number.isFinite(value)) throw invalid(`a first moment of ${name} is not finite`);
      for (const value of v.data) if (!(Number.isFinite(value) && value >= 0)) throw invalid(`a second moment of ${name} is negative or not finite`);
    }
    this.reset();
    for (const name of names) {
      const m = state.firstMoments[name];
      const v = state.secondMoments[name];
      if (m === undefined || v === undefined) continue;
      this.firstMoments.set(name, tf.tensor(m.data, [...m.shape]));
      this.secondMoments.set(name, tf.tensor(v.data, [...v.shape]));
    }
    this.steps = state.step;
  }

  /** Forgets the moments and the step count. */
  reset(): void {
    for (const tensor of this.firstMoments.values()) tensor.dispose();
    for (const tensor of this.secondMoments.values()) tensor.dispose();
    this.firstMoments.clear();
    this.secondMoments.clear();
    this.steps = 0;
  }

  dispose(): void {
    this.reset();
  }
}
