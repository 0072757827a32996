/**
 * The feature-attention modules on TensorFlow.js with PyTorch semantics and torch state names.
 *
 * - `facmic`: Linear(D,D) -> BatchNorm1d(D, eps 1e-5, momentum 0.1) -> LeakyReLU(0.01) -> Linear(D,D) -> Softmax(dim 1)
 * - `fedclip`: Linear(D,D) -> Tanh -> Linear(D,D) -> Softmax(dim 1)
 *
 * BatchNorm in train mode normalises with the biased batch variance; `trackBatch` then applies torch's side effect
 * (running_mean = 0.9 rm + 0.1 mean, running_var = 0.9 rv + 0.1 unbiased variance, num_batches_tracked += 1).
 * `apply` itself never changes the module, so callers decide when (and in which order) statistics move.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModuleStateError, TrainingError } from './errors.ts';
import type { ModuleKind, ModuleState } from './module-spec.ts';
import { initialModuleState, moduleSpec, validateModuleState } from './module-spec.ts';

export const BATCH_NORM_EPSILON = 1e-5;
export const BATCH_NORM_MOMENTUM = 0.1;
export const LEAKY_RELU_SLOPE = 0.01;

export type ForwardMode = 'train' | 'eval';

/** Batch statistics of a train-mode BatchNorm forward: per-feature mean and biased variance over `count` rows. */
export interface BatchStatistics {
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
  readonly count: number;
}

export interface AttentionOutput {
  /** Attention weights [N, D] (each row sums to 1). */
  readonly weights: tf.Tensor2D;
  /** BatchNorm batch statistics for a train-mode `facmic` forward, else null. */
  readonly batchStats: BatchStatistics | null;
}

/** Intermediate values of a train-mode forward, kept for `backward`. Dispose with `disposeForwardCache`. */
export interface ForwardCache {
  readonly rows: number;
  /** The input [N, D] (not owned by the cache). */
  readonly input: tf.Tensor2D;
  /** facmic: BatchNorm's normalised input x_hat; fedclip: tanh output. */
  readonly normalised: tf.Tensor2D;
  /** facmic: 1 / sqrt(var + eps) per feature; fedclip: unused (null). */
  readonly invStd: tf.Tensor1D | null;
  /** facmic: BatchNorm output (LeakyReLU input); fedclip: null. */
  readonly preActivation: tf.Tensor2D | null;
  /** Input of the last Linear. */
  readonly hidden: tf.Tensor2D;
  /** Softmax output (the attention weights). */
  readonly weights: tf.Tensor2D;
}

export function disposeForwardCache(cache: ForwardCache): void {
  for (const tensor of [cache.normalised, cache.invStd, cache.preActivation, cache.hidden]) tensor?.dispose();
}

/**
 * y = x W^T + b. Transposes explicitly: tfjs-backend-wasm's matMul with a transpose flag takes a slow path (about 10x
 * slower at 32x512x512 than transpose + plain matMul).
 */
function linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x as tf.Tensor2D, tf.transpose(weight as tf.Tensor2D)), bias);
}

function variableFrom(data: Float32Array, shape: number[], trainable: boolean): tf.Variable {
  const initial = tf.tensor(data, shape);
  const variable = tf.variable(initial, trainable);
  initial.dispose();
  return variable;
}

export class FeatureAttention {
  readonly kind: ModuleKind;
  readonly dim: number;
  private readonly parameters = new Map<string, tf.Variable>();
  private runningMean: tf.Variable | null = null;
  private runningVar: tf.Variable | null = null;
  private batchesTracked = 0;
  private disposed = false;

  private constructor(kind: ModuleKind, dim: number, state: ModuleState) {
    validateModuleState(kind, dim, state);
    this.kind = kind;
    this.dim = dim;
    for (const entry of moduleSpec(kind, dim)) {
      const tensor = state[entry.name] as ModuleState[string];
      if (entry.kind === 'parameter') {
        this.parameters.set(entry.name, variableFrom(tensor.data, entry.shape as number[], true));
      } else if (entry.kind === 'buffer') {
        const variable = variableFrom(tensor.data, entry.shape as number[], false);
        if (entry.name.endsWith('running_mean')) this.runningMean = variable;
        else this.runningVar = variable;
      } else {
        this.batchesTracked = tensor.data[0] ?? 0;
      }
    }
  }

  /** A module with torch's default initialisation from a seeded generator (see `initialModuleState`). */
  static create(kind: ModuleKind, dim: number, seed: number): FeatureAttention {
    return new FeatureAttention(kind, dim, initialModuleState(kind, dim, seed));
  }

  /** A module holding a copy of `state`. Throws ModuleStateError if the state does not fit kind and dim. */
  static fromState(kind: ModuleKind, dim: number, state: ModuleState): FeatureAttention {
    return new FeatureAttention(kind, dim, state);
  }

  /** Trainable parameters by torch name (BatchNorm running statistics are not among them). */
  trainableVariables(): Record<string, tf.Variable> {
    this.assertAlive();
    return Object.fromEntries(this.parameters);
  }

  get numBatchesTracked(): number {
    return this.batchesTracked;
  }

  private parameter(name: string): tf.Variable {
    const variable = this.parameters.get(name);
    if (variable === undefined) throw new ModuleStateError('missing-entry', `no parameter "${name}" in a ${this.kind} module`, name);
    return variable;
  }

  private assertAlive(): void {
    if (this.disposed) throw new ModuleStateError('missing-entry', 'this attention module was disposed');
  }

  /**
   * Attention weights for raw features `x` [N, D]. Train mode uses batch statistics (and returns them); eval mode uses
   * the running statistics. Pure: no state changes. A train-mode `facmic` forward needs N >= 2 (as torch).
   */
  apply(x: tf.Tensor2D, mode: ForwardMode): AttentionOutput {
    this.assertAlive();
    const [rows, columns] = x.shape;
    if (columns !== this.dim) throw new TrainingError('dimension-mismatch', `features have ${columns} dimensions, the module expects ${this.dim}`);
    if (this.kind === 'fedclip') {
      const weights = tf.tidy(() => {
        const hidden = tf.tanh(linear(x, this.parameter('0.weight'), this.parameter('0.bias')));
        return tf.softmax(linear(hidden, this.parameter('2.weight'), this.parameter('2.bias')));
      });
      return { weights, batchStats: null };
    }
    if (mode === 'train' && rows < 2) {
      throw new TrainingError('too-few-samples', `a train-mode BatchNorm forward needs at least 2 rows, got ${rows}`);
    }
    let batchStats: BatchStatistics | null = null;
    const weights = tf.tidy(() => {
      const hidden = linear(x, this.parameter('0.weight'), this.parameter('0.bias'));
      let mean: tf.Tensor1D;
      let variance: tf.Tensor1D;
      if (mode === 'train') {
        mean = tf.mean(hidden, 0);
        variance = tf.mean(tf.square(tf.sub(hidden, mean)), 0);
        batchStats = { mean: tf.keep(mean), variance: tf.keep(variance), count: rows };
      } else {
        mean = this.runningMean as tf.Variable as tf.Tensor1D;
        variance = this.runningVar as tf.Variable as tf.Tensor1D;
      }
      const invStd = tf.rsqrt(tf.add(variance, BATCH_NORM_EPSILON));
      const normalised = tf.add(tf.mul(tf.mul(tf.sub(hidden, mean), invStd), this.parameter('1.weight')), this.parameter('1.bias'));
      const activated = tf.leakyRelu(normalised, LEAKY_RELU_SLOPE);
      return tf.softmax(linear(activated, this.parameter('3.weight'), this.parameter('3.bias')));
    });
    return { weights, batchStats };
  }

  /**
   * Train-mode forward that also keeps what `backward` needs. The returned `weights` are the cache's own (dispose the
   * cache with `disposeForwardCache` and the weights separately).
   */
  forwardForTraining(x: tf.Tensor2D): { weights: tf.Tensor2D; batchStats: BatchStatistics | null; cache: ForwardCache } {
    this.assertAlive();
    const [rows, columns] = x.shape;
    if (columns !== this.dim) throw new TrainingError('dimension-mismatch', `features have ${columns} dimensions, the module expects ${this.dim}`);
    if (this.kind === 'fedclip') {
      const [hidden, weights] = tf.tidy((): [tf.Tensor2D, tf.Tensor2D] => {
        const activated = tf.tanh(linear(x, this.parameter('0.weight'), this.parameter('0.bias')));
        return [activated, tf.softmax(linear(activated, this.parameter('2.weight'), this.parameter('2.bias')))];
      });
      return { weights, batchStats: null, cache: { rows, input: x, normalised: hidden, invStd: null, preActivation: null, hidden, weights } };
    }
    if (rows < 2) throw new TrainingError('too-few-samples', `a train-mode BatchNorm forward needs at least 2 rows, got ${rows}`);
    const result = tf.tidy(() => {
      const h1 = linear(x, this.parameter('0.weight'), this.parameter('0.bias'));
      const mean = tf.mean<tf.Tensor1D>(h1, 0);
      const variance = tf.mean<tf.Tensor1D>(tf.square(tf.sub(h1, mean)), 0);
      const invStd = tf.rsqrt<tf.Tensor1D>(tf.add(variance, BATCH_NORM_EPSILON));
      const normalised = tf.mul<tf.Tensor2D>(tf.sub(h1, mean), invStd);
      const preActivation = tf.add<tf.Tensor2D>(tf.mul(normalised, this.parameter('1.weight')), this.parameter('1.bias'));
      const hidden = tf.leakyRelu<tf.Tensor2D>(preActivation, LEAKY_RELU_SLOPE);
      const weights = tf.softmax(linear(hidden, this.parameter('3.weight'), this.parameter('3.bias')));
      return { mean, variance, invStd, normalised, preActivation, hidden, weights };
    });
    const { mean, variance, invStd, normalised, preActivation, hidden, weights } = result;
    return {
      weights,
      batchStats: { mean, variance, count: rows },
      cache: { rows, input: x, normalised, invStd, preActivation, hidden, weights },
    };
  }

  /**
   * Gradients of a loss with respect to every trainable parameter, given the gradient `gradWeights` [N, D] of that
   * loss with respect to the attention weights of the train-mode forward that produced `cache`. Explicit backward
   * pass (torch's formulas for Linear, BatchNorm1d in train mode, LeakyReLU, Tanh and Softmax).
   */
  backward(cache: ForwardCache, gradWeights: tf.Tensor2D): Record<string, tf.Tensor> {
    this.assertAlive();
    return tf.tidy(() => {
      const { weights, hidden, input, rows } = cache;
      const lastLayer = this.kind === 'fedclip' ? '2' : '3';
      // Softmax: dz = a * (da - sum(da * a, row))
      const gradLogits = tf.mul(weights, tf.sub(gradWeights, tf.sum(tf.mul(gradWeights, weights), 1, true)));
      const grads: Record<string, tf.Tensor> = {
        [`${lastLayer}.weight`]: tf.matMul(tf.transpose(gradLogits), hidden),
        [`${lastLayer}.bias`]: tf.sum(gradLogits, 0),
      };
      const gradHidden = tf.matMul(gradLogits, this.parameter(`${lastLayer}.weight`));
      let gradFirst: tf.Tensor2D;
      if (this.kind === 'fedclip') {
        gradFirst = tf.mul(gradHidden, tf.sub(1, tf.square(hidden)));
      } else {
        const preActivation = cache.preActivation as tf.Tensor2D;
        const invStd = cache.invStd as tf.Tensor1D;
        const normalised = cache.normalised;
        const gradPre = tf.mul(gradHidden, tf.where(tf.greater(preActivation, 0), tf.onesLike(preActivation), tf.fill(preActivation.shape, LEAKY_RELU_SLOPE)));
        grads['1.weight'] = tf.sum(tf.mul(gradPre, normalised), 0);
        grads['1.bias'] = tf.sum(gradPre, 0);
        const gradNormalised = tf.mul(gradPre, this.parameter('1.weight'));
        // BatchNorm (train): dh = invStd / n * (n dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
        gradFirst = tf.mul(
          tf.div(invStd, rows),
          tf.sub(tf.sub(tf.mul(gradNormalised, rows), tf.sum(gradNormalised, 0)), tf.mul(normalised, tf.sum(tf.mul(gradNormalised, normalised), 0))),
        );
      }
      grads['0.weight'] = tf.matMul(tf.transpose(gradFirst), input);
      grads['0.bias'] = tf.sum(gradFirst, 0);
      return grads;
    });
  }

  /** `apply` without the statistics: the attention weights alone. */
  forward(x: tf.Tensor2D, mode: ForwardMode): tf.Tensor2D {
    const { weights, batchStats } = this.apply(x, mode);
    disposeBatchStatistics(batchStats);
    return weights;
  }

  /**
   * torch's train-mode side effect for one forward: moves the running statistics towards the batch statistics
   * (unbiased variance) and counts the batch. Does not dispose `stats`.
   */
  trackBatch(stats: BatchStatistics): void {
    this.assertAlive();
    if (this.runningMean === null || this.runningVar === null) return;
    const runningMean = this.runningMean;
    const runningVar = this.runningVar;
    const unbiasedScale = stats.count / (stats.count - 1);
    tf.tidy(() => {
      runningMean.assign(tf.add(tf.mul(runningMean, 1 - BATCH_NORM_MOMENTUM), tf.mul(stats.mean, BATCH_NORM_MOMENTUM)));
      runningVar.assign(tf.add(tf.mul(runningVar, 1 - BATCH_NORM_MOMENTUM), tf.mul(tf.mul(stats.variance, unbiasedScale), BATCH_NORM_MOMENTUM)));
    });
    this.batchesTracked += 1;
  }

  /** Replaces the whole state (validated first; on error nothing changes). */
  loadState(state: ModuleState): void {
    this.assertAlive();
    validateModuleState(this.kind, this.dim, state);
    for (const entry of moduleSpec(this.kind, this.dim)) {
      const tensor = state[entry.name] as ModuleState[string];
      if (entry.kind === 'parameter') {
        tf.tidy(() => { this.parameter(entry.name).assign(tf.tensor(tensor.data, entry.shape as number[])); });
      } else if (entry.kind === 'buffer') {
        const variable = entry.name.endsWith('running_mean') ? this.runningMean : this.runningVar;
        tf.tidy(() => { variable?.assign(tf.tensor1d(tensor.data)); });
      } else {
        this.batchesTracked = tensor.data[0] ?? 0;
      }
    }
  }

  private entryTensor(name: string): tf.Tensor | null {
    if (name.endsWith('running_mean')) return this.runningMean;
    if (name.endsWith('running_var')) return this.runningVar;
    return this.parameters.get(name) ?? null;
  }

  /** The state dict as plain Float32Arrays (a copy), read asynchronously (safe on WebGPU / WebGL). */
  async exportState(): Promise<ModuleState> {
    this.assertAlive();
    const state: ModuleState = {};
    for (const entry of moduleSpec(this.kind, this.dim)) {
      const tensor = this.entryTensor(entry.name);
      const data = tensor === null ? Float32Array.of(this.batchesTracked) : Float32Array.from(await tensor.data());
      state[entry.name] = { shape: [...entry.shape], data };
    }
    return state;
  }

  /** `exportState` with synchronous reads (CPU and WASM backends). */
  exportStateSync(): ModuleState {
    this.assertAlive();
    const state: ModuleState = {};
    for (const entry of moduleSpec(this.kind, this.dim)) {
      const tensor = this.entryTensor(entry.name);
      const data = tensor === null ? Float32Array.of(this.batchesTracked) : Float32Array.from(tensor.dataSync());
      state[entry.name] = { shape: [...entry.shape], data };
    }
    return state;
  }

  /** Frees the module's tensors. The module cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const variable of this.parameters.values()) variable.dispose();
    this.runningMean?.dispose();
    this.runningVar?.dispose();
    this.disposed = true;
  }
}

export function disposeBatchStatistics(stats: BatchStatistics | null): void {
  if (stats === null) return;
  stats.mean.dispose();
  stats.variance.dispose();
}
