/**
 * Local training over cached features: seeded shuffling, batches of 32 with drop_last, each source batch paired with
 * the next batch of an endless, reshuffled stream of unlabelled reference (target) features.
 *
 * Edge cases (documented behaviour):
 * - fewer training samples than a batch (but at least 2): one smaller batch of all samples per epoch, rather than
 *   zero steps; fewer than 2 samples: TrainingError 'too-few-samples' (BatchNorm cannot train on one row, as torch);
 * - a reference set smaller than a batch (but at least 2 rows): every reference batch is the whole set, reshuffled;
 *   fewer than 2 rows with LMMD on: TrainingError 'reference-too-small';
 * - a batch with a single class: trained normally (contrastive targets are per image; LMMD uses common classes, and is
 *   0 when source and pseudo labels share none);
 * - abort: the trainer stops before the next step and rejects with TrainingError 'aborted' (cause: the signal's
 *   reason); the module keeps the steps completed so far.
 * - the event loop: on CPU and WASM backends a step never awaits real work, so the trainer yields a macrotask at least
 *   every YIELD_INTERVAL_MS; sockets in the same thread (Socket.IO heartbeats) and other sites keep running.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdamOptions } from './adam.ts';
import { AdamL2 } from './adam.ts';
import type { FeatureAttention } from './attention.ts';
import { TrainingError } from './errors.ts';
import type { FeatureMatrix, FeatureSet, TextFeatures } from './features.ts';
import type { StepLosses } from './local-step.ts';
import { localStep } from './local-step.ts';
import { SeededRandom } from './prng.ts';

export const DEFAULT_BATCH_SIZE = 32;

/** Longest stretch of training without handing the event loop back. */
export const YIELD_INTERVAL_MS = 50;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export interface TrainingProgress {
  /** Steps completed, 1-based. */
  readonly step: number;
  readonly totalSteps: number;
  /** Epoch of this step, 0-based. */
  readonly epoch: number;
  readonly losses: StepLosses;
}

export interface LocalTrainingOptions {
  /** Raw class-prompt features [C, D]. */
  readonly textFeatures: TextFeatures;
  /** Add the LMMD loss against `reference` (FACMIC); off for FedCLIP. */
  readonly lmmd: boolean;
  /** Unlabelled reference (target) features; required when `lmmd`. */
  readonly reference?: FeatureMatrix | null;
  readonly seed: number;
  readonly batchSize?: number;
  /** Passes over the training set (default 1 when `maxSteps` is absent). */
  readonly epochs?: number;
  /** Upper bound on steps; with `epochs` too, whichever comes first. */
  readonly maxSteps?: number;
  /** An optimiser to continue (its moments persist across rounds, as in the paper); else a new one from `adam`. */
  readonly optimizer?: AdamL2;
  readonly adam?: Partial<AdamOptions>;
  readonly logitScale?: number;
  readonly onStep?: (progress: TrainingProgress) => void;
  readonly signal?: AbortSignal;
}

export interface LocalTrainingResult {
  /** Losses of every step, in order. */
  readonly losses: StepLosses[];
  readonly steps: number;
  /** Number of training samples: the FedAvg weight of this update. */
  readonly numSamples: number;
}

function checkMatrix(matrix: FeatureMatrix, dim: number, what: string, code: 'invalid-features' | 'invalid-text-features'): number {
  if (matrix.dim !== dim) throw new TrainingError('dimension-mismatch', `${what} have dimension ${matrix.dim}, the module ${dim}`);
  if (matrix.features.length % dim !== 0) throw new TrainingError(code, `${what}: ${matrix.features.length} values is not a multiple of dimension ${dim}`);
  for (const value of matrix.features) if (!Number.isFinite(value)) throw new TrainingError(code, `${what} hold a non-finite value`);
  return matrix.features.length / dim;
}

function gatherRows(features: Float32Array, dim: number, order: Int32Array, start: number, count: number): Float32Array {
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const row = order[start + i] as number;
    out.set(features.subarray(row * dim, (row + 1) * dim), i * dim);
  }
  return out;
}

/** Endless stream of shuffled reference batches; reshuffles when fewer than a batch remain. */
export class ReferenceBatches {
  private order: Int32Array;
  private position = 0;
  readonly batchRows: number;
  private readonly rows: number;

  constructor(private readonly matrix: FeatureMatrix, batchSize: number, private readonly random: SeededRandom) {
    this.rows = Math.floor(matrix.features.length / matrix.dim);
    if (this.rows < 2) throw new TrainingError('reference-too-small', `the reference set needs at least 2 rows, got ${this.rows}`);
    this.batchRows = Math.min(batchSize, this.rows);
    this.order = random.permutation(this.rows);
  }

  next(): Float32Array {
    if (this.position + this.batchRows > this.rows) {
      this.order = this.random.permutation(this.rows);
      this.position = 0;
    }
    const batch = gatherRows(this.matrix.features, this.matrix.dim, this.order, this.position, this.batchRows);
    this.position += this.batchRows;
    return batch;
  }
}

/** Steps in one epoch for `count` samples: floor(count / batch), or 1 when 2 <= count < batch. */
export function stepsPerEpoch(count: number, batchSize: number): number {
  if (count < 2) return 0;
  return count < batchSize ? 1 : Math.floor(count / batchSize);
}

function abortError(signal: AbortSignal, steps: number): TrainingError {
  return new TrainingError('aborted', `local training aborted after ${steps} steps`, { cause: signal.reason });
}

/** Trains `module` in place on `data`. */
export async function trainLocal(module: FeatureAttention, data: FeatureSet, options: LocalTrainingOptions): Promise<LocalTrainingResult> {
  const dim = module.dim;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 2) throw new TrainingError('invalid-options', `batchSize must be an integer >= 2, got ${batchSize}`);
  const epochs = options.epochs ?? (options.maxSteps === undefined ? 1 : Number.POSITIVE_INFINITY);
  if (!(epochs === Number.POSITIVE_INFINITY || (Number.isInteger(epochs) && epochs >= 1))) throw new TrainingError('invalid-options', `epochs must be a positive integer, got ${epochs}`);
  if (options.maxSteps !== undefined && !(Number.isInteger(options.maxSteps) && options.maxSteps >= 1)) {
    throw new TrainingError('invalid-options', `maxSteps must be a positive integer, got ${options.maxSteps}`);
  }
  const count = checkMatrix(data, dim, 'training features', 'invalid-features');
  const numClasses = checkMatrix(options.textFeatures, dim, 'text features', 'invalid-text-features');
  if (numClasses < 1) throw new TrainingError('invalid-text-features', 'no class-prompt features');
  if (data.labels.length !== count) throw new TrainingError('invalid-labels', `${data.labels.length} labels for ${count} feature rows`);
  for (const label of data.labels) {
    if (!(label >= 0 && label < numClasses)) throw new TrainingError('invalid-labels', `label ${label} is not a class index in [0, ${numClasses})`);
  }
  if (count < 2) throw new TrainingError('too-few-samples', `local training needs at least 2 samples, got ${count}`);
  const random = new SeededRandom(options.seed);
  const sourceRandom = random.fork(1);
  let references: ReferenceBatches | null = null;
  if (options.lmmd) {
    const reference = options.reference ?? null;
    if (reference === null) throw new TrainingError('missing-reference', 'LMMD training needs an unlabelled reference set');
    checkMatrix(reference, dim, 'reference features', 'invalid-features');
    references = new ReferenceBatches(reference, batchSize, random.fork(2));
  }
  const perEpoch = stepsPerEpoch(count, batchSize);
  const sourceRows = Math.min(batchSize, count);
  const totalSteps = Math.min(options.maxSteps ?? Number.POSITIVE_INFINITY, perEpoch * epochs);
  const optimizer = options.optimizer ?? new AdamL2(options.adam);
  const text = tf.tensor2d(options.textFeatures.features, [numClasses, dim]);
  const losses: StepLosses[] = [];
  try {
    let order = sourceRandom.permutation(count);
    let lastYield = Date.now();
    for (let step = 0; step < totalSteps; step++) {
      if (Date.now() - lastYield >= YIELD_INTERVAL_MS) {
        await yieldToEventLoop();
        lastYield = Date.now();
      }
      if (options.signal?.aborted === true) throw abortError(options.signal, step);
      const epoch = Math.floor(step / perEpoch);
      const indexInEpoch = step % perEpoch;
      if (indexInEpoch === 0 && step > 0) order = sourceRandom.permutation(count);
      const sourceData = gatherRows(data.features, dim, order, indexInEpoch * sourceRows, sourceRows);
      const labels = new Int32Array(sourceRows);
      for (let i = 0; i < sourceRows; i++) labels[i] = data.labels[order[indexInEpoch * sourceRows + i] as number] as number;
      const source = tf.tensor2d(sourceData, [sourceRows, dim]);
      const reference = references === null ? null : tf.tensor2d(references.next(), [references.batchRows, dim]);
      try {
        const stepOptions = options.logitScale === undefined ? { lmmd: options.lmmd } : { lmmd: options.lmmd, logitScale: options.logitScale };
        const result = await localStep(module, optimizer, text, { source, labels, reference }, stepOptions);
        losses.push(result.losses);
        options.onStep?.({ step: step + 1, totalSteps, epoch, losses: result.losses });
      } finally {
        source.dispose();
        reference?.dispose();
      }
    }
    return { losses, steps: losses.length, numSamples: count };
  } finally {
    text.dispose();
    if (options.optimizer === undefined) optimizer.dispose();
  }
}
