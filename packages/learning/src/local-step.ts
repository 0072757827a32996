/**
 * One local optimisation step of FACMIC (or FedCLIP when `lmmd` is off), as in the paper's `train()`:
 *
 * 1. source forward (train mode): image = normalise(attn(source) * source); the running statistics move.
 * 2. target forward (train mode, no gradient): pseudo labels = softmax(100 cos(attn(target) * target, text));
 *    the running statistics move again (after the source's).
 * 3. loss = contrastive(image, normalise(text[labels])) + lmmdWeight * LMMD(image, normalise(target), labels, pseudo
 *    labels); lmmdWeight (λ) is 1 in the paper's code.
 * 4. Adam with L2 weight decay.
 *
 * The oracle (simulation only, `referenceLabels`): LMMD weights the target rows by their one-hot true labels instead of
 * the pseudo-label probabilities; the target forward still runs (its statistics move, its pseudo labels are reported).
 *
 * The target forward runs first here (its pseudo labels are read asynchronously, WebGPU-safe), but its statistics are
 * applied after the source's, so the running statistics end exactly as in torch. Gradients come from the explicit
 * backward passes of the losses and of the module (no tfjs autodiff).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdamL2 } from './adam.ts';
import type { BatchStatistics, FeatureAttention } from './attention.ts';
import { disposeBatchStatistics, disposeForwardCache } from './attention.ts';
import { TrainingError } from './errors.ts';
import type { KernelOptions, LmmdWeights } from './losses.ts';
import { LOGIT_SCALE, contrastiveLossWithGradient, cosineProbabilities, lmmdLossWithGradient, normalizeRows, normalizeRowsBackward } from './losses.ts';
import type { ModuleState } from './module-spec.ts';
import { oneHotProbabilities, pseudoLabelsFromProbabilities } from './pseudo-labels.ts';

export interface StepLosses {
  readonly contrastive: number;
  /** 0 when LMMD is off. */
  readonly lmmd: number;
  readonly total: number;
}

export interface LocalStepBatch {
  /** Raw image features [B, D]. */
  readonly source: tf.Tensor2D;
  /** Class index of each source row. */
  readonly labels: Int32Array;
  /** Raw unlabelled reference features [Bt, D]; required when LMMD is on. */
  readonly reference?: tf.Tensor2D | null;
  /**
   * True class of each reference row: LMMD then uses them (one-hot) instead of the pseudo labels (the oracle; only a
   * simulation knows them).
   */
  readonly referenceLabels?: ArrayLike<number> | null;
}

export interface LocalStepOptions extends KernelOptions {
  readonly lmmd: boolean;
  readonly logitScale?: number;
  /** Weight of the LMMD term in the total loss (the paper: 1). */
  readonly lmmdWeight?: number;
  /** Also return the attended source, the pseudo labels and the raw gradients (for parity checks). */
  readonly diagnostics?: boolean;
}

export interface LocalStepDiagnostics {
  /** Train-mode attention weights of the source [B, D]. */
  readonly attentionSource: Float32Array;
  /** Pseudo-label probabilities of the reference batch [Bt, C], or null without LMMD. */
  readonly pseudoLabelProbs: Float32Array | null;
  /** The class weights LMMD used (from the pseudo labels, or the true labels for the oracle), or null without LMMD. */
  readonly lmmdWeights: LmmdWeights | null;
  /** Gradients of the total loss per trainable parameter, before weight decay. */
  readonly gradients: ModuleState;
}

export interface LocalStepResult {
  readonly losses: StepLosses;
  /** The argmax pseudo label of each reference row, or null without LMMD. */
  readonly pseudoLabels: Int32Array | null;
  readonly diagnostics?: LocalStepDiagnostics;
}

/**
 * One optimisation step. `textFeatures` are the raw class-prompt features [C, D]. Throws TrainingError on
 * inconsistent shapes or labels; on error the module and optimiser are unchanged.
 */
export async function localStep(
  module: FeatureAttention,
  optimizer: AdamL2,
  textFeatures: tf.Tensor2D,
  batch: LocalStepBatch,
  options: LocalStepOptions,
): Promise<LocalStepResult> {
  const logitScale = options.logitScale ?? LOGIT_SCALE;
  const lmmdWeight = options.lmmdWeight ?? 1;
  const [rows, dim] = batch.source.shape;
  const [numClasses, textDim] = textFeatures.shape;
  if (dim !== module.dim || textDim !== module.dim) {
    throw new TrainingError('dimension-mismatch', `source has ${dim} dimensions, text ${textDim}, the module ${module.dim}`);
  }
  if (batch.labels.length !== rows) throw new TrainingError('invalid-labels', `${batch.labels.length} labels for ${rows} source rows`);
  for (const label of batch.labels) {
    if (!(label >= 0 && label < numClasses)) throw new TrainingError('invalid-labels', `label ${label} is not a class index in [0, ${numClasses})`);
  }
  const reference = options.lmmd ? batch.reference ?? null : null;
  if (options.lmmd) {
    if (reference === null) throw new TrainingError('missing-reference', 'LMMD needs a batch of reference (target) features');
    if (reference.shape[1] !== module.dim) throw new TrainingError('dimension-mismatch', `reference has ${reference.shape[1]} dimensions, the module ${module.dim}`);
  }
  if (!(Number.isFinite(lmmdWeight) && lmmdWeight >= 0)) throw new TrainingError('invalid-options', `lmmdWeight must be a finite number >= 0, got ${lmmdWeight}`);
  const referenceLabels = reference === null ? null : batch.referenceLabels ?? null;
  if (reference !== null && referenceLabels !== null) {
    if (referenceLabels.length !== reference.shape[0]) throw new TrainingError('invalid-labels', `${referenceLabels.length} reference labels for ${reference.shape[0]} reference rows`);
    for (let i = 0; i < referenceLabels.length; i++) {
      const label = referenceLabels[i] as number;
      if (!(Number.isInteger(label) && label >= 0 && label < numClasses)) throw new TrainingError('invalid-labels', `reference label ${label} is not a class index in [0, ${numClasses})`);
    }
  }

  const normalisedText = normalizeRows(textFeatures);
  let targetStats: BatchStatistics | null = null;
  let pseudoLabelProbs: Float32Array | null = null;
  let lmmdWeights: LmmdWeights | null = null;
  const kept: tf.Tensor[] = [normalisedText];
  try {
    if (reference !== null) {
      const { weights, batchStats } = module.apply(reference, 'train');
      targetStats = batchStats;
      const probabilities = tf.tidy(() => cosineProbabilities(normalizeRows(tf.mul(weights, reference)), normalisedText, logitScale));
      weights.dispose();
      kept.push(probabilities);
      pseudoLabelProbs = (await probabilities.data()) as Float32Array;
    }
    const forward = module.forwardForTraining(batch.source);
    kept.push(forward.weights);
    if (forward.batchStats !== null) {
      module.trackBatch(forward.batchStats);
      disposeBatchStatistics(forward.batchStats);
    }
    if (targetStats !== null) module.trackBatch(targetStats);
    let computed: { contrastive: tf.Scalar; lmmd: tf.Scalar; total: tf.Scalar; grads: Record<string, tf.Tensor> };
    try {
      computed = tf.tidy(() => {
        const attended = tf.mul<tf.Tensor2D>(forward.weights, batch.source);
        const image = normalizeRows(attended);
        const text = tf.gather<tf.Tensor2D>(normalisedText, tf.tensor1d(batch.labels, 'int32'));
        const contrastive = contrastiveLossWithGradient(image, text, logitScale);
        let lmmd = tf.scalar(0);
        let gradImage = contrastive.gradImage;
        if (reference !== null && pseudoLabelProbs !== null) {
          const targetProbabilities = referenceLabels === null ? pseudoLabelProbs : oneHotProbabilities(referenceLabels, numClasses);
          const result = lmmdLossWithGradient(image, normalizeRows(reference), batch.labels, targetProbabilities, numClasses, options);
          lmmdWeights = result.weights;
          lmmd = result.loss;
          gradImage = tf.add(gradImage, tf.mul(result.gradSource, lmmdWeight));
        }
        const gradWeights = tf.mul<tf.Tensor2D>(normalizeRowsBackward(attended, gradImage), batch.source);
        const grads = module.backward(forward.cache, gradWeights);
        return { contrastive: contrastive.loss, lmmd, total: tf.add<tf.Scalar>(contrastive.loss, tf.mul(lmmd, lmmdWeight)), grads };
      });
    } finally {
      disposeForwardCache(forward.cache);
    }
    kept.push(computed.contrastive, computed.lmmd, computed.total, ...Object.values(computed.grads));
    const variables = module.trainableVariables();
    const namedGrads = computed.grads;
    let diagnostics: LocalStepDiagnostics | undefined;
    if (options.diagnostics === true) {
      const gradients: ModuleState = {};
      for (const [name, gradient] of Object.entries(namedGrads)) {
        gradients[name] = { shape: [...gradient.shape], data: Float32Array.from(await gradient.data()) };
      }
      diagnostics = { attentionSource: Float32Array.from(await forward.weights.data()), pseudoLabelProbs, lmmdWeights, gradients };
    }
    optimizer.applyGradients(variables, namedGrads);
    const contrastiveValue = (await computed.contrastive.data())[0] ?? Number.NaN;
    const lmmdValue = (await computed.lmmd.data())[0] ?? Number.NaN;
    const totalValue = (await computed.total.data())[0] ?? Number.NaN;
    const losses = { contrastive: contrastiveValue, lmmd: lmmdValue, total: totalValue };
    const pseudoLabels = pseudoLabelProbs === null ? null : pseudoLabelsFromProbabilities(pseudoLabelProbs, numClasses);
    return diagnostics === undefined ? { losses, pseudoLabels } : { losses, pseudoLabels, diagnostics };
  } finally {
    disposeBatchStatistics(targetStats);
    for (const tensor of kept) tensor.dispose();
  }
}
