/**
 * The local round, as the paper's code runs it (`utils/training.py`: `for batch, batch_t in zip(data_loader,
 * testloader)`, breaking at `i == n_iter`): `steps` steps (default 199 = the paper's n_iter 200 - 1), each on a batch of
 * 32 from an endless stream of the site's training rows, reshuffled at each pass, without replacement, drop_last
 * (`ShuffledBatches`, the paper's InfiniteDataLoader), zipped with an endless reshuffled stream of unlabelled reference
 * batches (FACMIC's LMMD). After the last step, one more source and reference batch is drawn and thrown away, as the
 * paper's `zip` does before it breaks, so a stream kept across rounds (`sourceBatches`, `referenceBatches`) is where
 * the paper's would be. With `epochs`, the round also stops after that many passes (floor(N / batch) steps each):
 * `epochs` alone is facmic's former "one data epoch per round"; both: whichever comes first.
 *
 * The batch order is injectable: pass `sourceBatches` / `referenceBatches` (a `BatchOrder`) to keep streams across
 * rounds (`simulate`), or to replay recorded row indices (`RecordedBatches`: the parity replay runs this very loop).
 *
 * Edge cases (documented behaviour):
 * - fewer training samples than a batch (but at least 2): every batch is all samples, reshuffled (one step per epoch
 *   with `epochs`), rather than zero steps; fewer than 2 samples: TrainingError 'too-few-samples' (BatchNorm cannot
 *   train on one row, as torch);
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
import type { LocalStepDiagnostics, StepLosses } from './local-step.ts';
import { localStep } from './local-step.ts';
import { SeededRandom } from './prng.ts';
import type { PseudoLabelTally } from './pseudo-labels.ts';
import { tallyPseudoLabels } from './pseudo-labels.ts';

import { DEFAULT_BATCH_SIZE, DEFAULT_STEPS_PER_ROUND } from './round-settings.ts';

export { DEFAULT_BATCH_SIZE, DEFAULT_STEPS_PER_ROUND } from './round-settings.ts';

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
  /** Rows of the training set in this step's source batch, and of the reference set in its reference batch. */
  readonly sourceRows: Int32Array;
  readonly referenceRows: Int32Array | null;
  /** With `diagnostics: true`: the step's intermediate values (pseudo-label probabilities, gradients). */
  readonly diagnostics?: LocalStepDiagnostics;
}

export interface LocalTrainingOptions {
  /** Raw class-prompt features [C, D]. */
  readonly textFeatures: TextFeatures;
  /** Add the LMMD loss against `reference` (FACMIC); off for FedCLIP. */
  readonly lmmd: boolean;
  /** Unlabelled reference (target) features; required when `lmmd`. */
  readonly reference?: FeatureMatrix | null;
  /**
   * True class of each reference row, where known (simulation): the round then tallies how many of the pseudo labels
   * LMMD saw were right, and `oracle` can use them.
   */
  readonly referenceLabels?: ArrayLike<number> | null;
  /** LMMD weights the reference rows by their true labels (`referenceLabels`, one-hot) instead of pseudo labels. */
  readonly oracle?: boolean;
  /** λ, the weight of the LMMD term (default 1, the paper's code). */
  readonly lmmdWeight?: number;
  readonly seed: number;
  readonly batchSize?: number;
  /** Steps in the round (default DEFAULT_STEPS_PER_ROUND when `epochs` is absent, else no bound). */
  readonly steps?: number;
  /** Passes over the training set, floor(N / batch) steps each; with `steps` too, whichever comes first. */
  readonly epochs?: number;
  /** The source stream (rows of `data`), e.g. kept across rounds or recorded; default a new seeded ShuffledBatches. */
  readonly sourceBatches?: BatchOrder;
  /** The reference stream (rows of `reference`); default a new seeded ShuffledBatches. */
  readonly referenceBatches?: BatchOrder;
  /** Hand each step's diagnostics to `onStep` (slower: reads tensors back). */
  readonly diagnostics?: boolean;
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
  /** Reference rows pseudo-labelled over the round, and how many correctly; null without LMMD or `referenceLabels`. */
  readonly pseudoLabels: PseudoLabelTally | null;
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

/** The order in which a round draws batches: each `next()` is the rows (of the set it was made for) of one batch. */
export interface BatchOrder {
  next(): Int32Array;
}

/**
 * The paper's InfiniteDataLoader over `rows` rows: endless, reshuffled at each pass, without replacement, drop_last.
 * With fewer rows than a batch (at least 2), every batch is all rows, reshuffled.
 */
export class ShuffledBatches implements BatchOrder {
  private order: Int32Array;
  private position = 0;
  readonly batchRows: number;

  constructor(private readonly rows: number, batchSize: number, private readonly random: SeededRandom) {
    if (!(Number.isInteger(rows) && rows >= 2)) throw new TrainingError('invalid-options', `a batch stream needs at least 2 rows, got ${rows}`);
    this.batchRows = Math.min(batchSize, rows);
    this.order = random.permutation(rows);
  }

  next(): Int32Array {
    if (this.position + this.batchRows > this.rows) {
      this.order = this.random.permutation(this.rows);
      this.position = 0;
    }
    const batch = this.order.slice(this.position, this.position + this.batchRows);
    this.position += this.batchRows;
    return batch;
  }
}

/** Batches given in advance (recorded row indices, e.g. a parity file's); drawing past the last is an error. */
export class RecordedBatches implements BatchOrder {
  private position = 0;

  constructor(private readonly batches: readonly ArrayLike<number>[]) {}

  get remaining(): number {
    return this.batches.length - this.position;
  }

  next(): Int32Array {
    const batch = this.batches[this.position];
    if (batch === undefined) throw new TrainingError('invalid-options', `the recorded batch order has only ${this.batches.length} batches`);
    this.position += 1;
    return Int32Array.from(batch);
  }
}

function checkBatch(rows: Int32Array, count: number, what: string): void {
  if (rows.length < 2) throw new TrainingError('invalid-options', `a ${what} batch needs at least 2 rows, got ${rows.length}`);
  for (const row of rows) if (!(row >= 0 && row < count)) throw new TrainingError('invalid-options', `${what} batch row ${row} is not a row of the ${count}-row set`);
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
  const epochs = options.epochs ?? Number.POSITIVE_INFINITY;
  if (!(epochs === Number.POSITIVE_INFINITY || (Number.isInteger(epochs) && epochs >= 1))) throw new TrainingError('invalid-options', `epochs must be a positive integer, got ${epochs}`);
  const stepLimit = options.steps ?? (options.epochs === undefined ? DEFAULT_STEPS_PER_ROUND : Number.POSITIVE_INFINITY);
  if (!(stepLimit === Number.POSITIVE_INFINITY || (Number.isInteger(stepLimit) && stepLimit >= 1))) {
    throw new TrainingError('invalid-options', `steps must be a positive integer, got ${stepLimit}`);
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
  const sourceBatches = options.sourceBatches ?? new ShuffledBatches(count, batchSize, random.fork(1));
  let referenceBatches: BatchOrder | null = null;
  let reference: FeatureMatrix | null = null;
  let referenceCount = 0;
  if (options.lmmd) {
    reference = options.reference ?? null;
    if (reference === null) throw new TrainingError('missing-reference', 'LMMD training needs an unlabelled reference set');
    referenceCount = checkMatrix(reference, dim, 'reference features', 'invalid-features');
    if (referenceCount < 2) throw new TrainingError('reference-too-small', `the reference set needs at least 2 rows, got ${referenceCount}`);
    referenceBatches = options.referenceBatches ?? new ShuffledBatches(referenceCount, batchSize, random.fork(2));
  }
  const referenceLabels = options.lmmd ? options.referenceLabels ?? null : null;
  if (referenceLabels !== null && referenceLabels.length !== referenceCount) {
    throw new TrainingError('invalid-labels', `${referenceLabels.length} reference labels for ${referenceCount} reference rows`);
  }
  if (options.oracle === true && options.lmmd && referenceLabels === null) throw new TrainingError('invalid-options', 'the oracle LMMD needs the reference set\'s true labels');
  const tally = { rows: 0, correct: 0 };
  const perEpoch = stepsPerEpoch(count, batchSize);
  const totalSteps = Math.min(stepLimit, perEpoch * epochs);
  const optimizer = options.optimizer ?? new AdamL2(options.adam);
  const text = tf.tensor2d(options.textFeatures.features, [numClasses, dim]);
  const losses: StepLosses[] = [];
  try {
    let lastYield = Date.now();
    for (let step = 0; step < totalSteps; step++) {
      if (Date.now() - lastYield >= YIELD_INTERVAL_MS) {
        await yieldToEventLoop();
        lastYield = Date.now();
      }
      if (options.signal?.aborted === true) throw abortError(options.signal, step);
      const sourceRows = sourceBatches.next();
      checkBatch(sourceRows, count, 'source');
      const referenceRows = referenceBatches === null ? null : referenceBatches.next();
      if (referenceRows !== null) checkBatch(referenceRows, referenceCount, 'reference');
      const labels = new Int32Array(sourceRows.length);
      for (let i = 0; i < sourceRows.length; i++) labels[i] = data.labels[sourceRows[i] as number] as number;
      const source = tf.tensor2d(gatherRows(data.features, dim, sourceRows, 0, sourceRows.length), [sourceRows.length, dim]);
      const referenceBatch = reference === null || referenceRows === null ? null : tf.tensor2d(gatherRows(reference.features, dim, referenceRows, 0, referenceRows.length), [referenceRows.length, dim]);
      try {
        const referenceBatchLabels = referenceLabels === null || referenceRows === null ? null : Int32Array.from(referenceRows, (row) => referenceLabels[row] as number);
        const stepOptions = {
          lmmd: options.lmmd,
          ...(options.lmmdWeight === undefined ? {} : { lmmdWeight: options.lmmdWeight }),
          ...(options.logitScale === undefined ? {} : { logitScale: options.logitScale }),
          ...(options.diagnostics === true ? { diagnostics: true } : {}),
        };
        const oracleLabels = options.oracle === true ? referenceBatchLabels : null;
        const result = await localStep(module, optimizer, text, { source, labels, reference: referenceBatch, referenceLabels: oracleLabels }, stepOptions);
        losses.push(result.losses);
        if (result.pseudoLabels !== null && referenceBatchLabels !== null) {
          const counted = tallyPseudoLabels(result.pseudoLabels, referenceBatchLabels);
          tally.rows += counted.rows;
          tally.correct += counted.correct;
        }
        options.onStep?.({
          step: step + 1,
          totalSteps,
          epoch: Math.floor(step / perEpoch),
          losses: result.losses,
          sourceRows,
          referenceRows,
          ...(result.diagnostics === undefined ? {} : { diagnostics: result.diagnostics }),
        });
      } finally {
        source.dispose();
        referenceBatch?.dispose();
      }
    }
    // The paper's zip draws the pair for i == n_iter before it breaks: a step-bounded round throws one pair away.
    if (totalSteps === stepLimit && totalSteps > 0) {
      sourceBatches.next();
      referenceBatches?.next();
    }
    return { losses, steps: losses.length, numSamples: count, pseudoLabels: referenceLabels === null ? null : tally };
  } finally {
    text.dispose();
    if (options.optimizer === undefined) optimizer.dispose();
  }
}
