/**
 * torch.optim.Adam (torch 1.13, single-tensor path, amsgrad off) with L2 weight decay added to the gradient before the
 * moments: g = grad + wd * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). tfjs's own Adam has no weight decay.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdamOptions } from './adam-options.ts';
import { PAPER_ADAM } from './adam-options.ts';
import { TrainingError } from './errors.ts';

export type { AdamOptions } from './adam-options.ts';
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
