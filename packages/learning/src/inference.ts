/**
 * Inference: prediction = argmax of the cosine similarity between the (attended, eval-mode) image features and the
 * class-prompt features; probabilities = softmax(100 cos). With no module (zero-shot), the raw features are used.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FeatureAttention } from './attention.ts';
import { TrainingError } from './errors.ts';
import type { FeatureMatrix, FeatureSet, TextFeatures } from './features.ts';
import { LOGIT_SCALE, normalizeRows } from './losses.ts';
import type { ClassificationMetrics } from './metrics.ts';
import { classificationMetrics } from './metrics.ts';

export interface Predictions {
  readonly count: number;
  readonly numClasses: number;
  /** softmax(scale * cos) row-major [count, numClasses]. */
  readonly probabilities: Float32Array;
  /** Cosine similarities row-major [count, numClasses]. */
  readonly similarities: Float32Array;
  readonly predictions: Int32Array;
}

export interface PredictOptions {
  readonly logitScale?: number;
  /** Rows per forward pass (bounds memory), default 1024. */
  readonly batchSize?: number;
}

export async function predict(module: FeatureAttention | null, inputs: FeatureMatrix, textFeatures: TextFeatures, options: PredictOptions = {}): Promise<Predictions> {
  const dim = inputs.dim;
  if (module !== null && module.dim !== dim) throw new TrainingError('dimension-mismatch', `features have dimension ${dim}, the module ${module.dim}`);
  if (textFeatures.dim !== dim) throw new TrainingError('dimension-mismatch', `text features have dimension ${textFeatures.dim}, features ${dim}`);
  if (dim < 1 || inputs.features.length % dim !== 0) throw new TrainingError('invalid-features', `${inputs.features.length} values is not a multiple of dimension ${dim}`);
  const numClasses = textFeatures.features.length / dim;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new TrainingError('invalid-text-features', 'text features must hold at least one [dim] row');
  const count = inputs.features.length / dim;
  const logitScale = options.logitScale ?? LOGIT_SCALE;
  const batchSize = options.batchSize ?? 1024;
  const probabilities = new Float32Array(count * numClasses);
  const similarities = new Float32Array(count * numClasses);
  const text = tf.tidy(() => normalizeRows(tf.tensor2d(textFeatures.features, [numClasses, dim])));
  try {
    for (let start = 0; start < count; start += batchSize) {
      const rows = Math.min(batchSize, count - start);
      const [cosine, probs] = tf.tidy((): [tf.Tensor2D, tf.Tensor2D] => {
        const x = tf.tensor2d(inputs.features.subarray(start * dim, (start + rows) * dim), [rows, dim]);
        const attended = module === null ? x : tf.mul(module.forward(x, 'eval'), x);
        const cos = tf.matMul<tf.Tensor2D>(normalizeRows(attended as tf.Tensor2D), tf.transpose(text));
        return [cos, tf.softmax(tf.mul<tf.Tensor2D>(cos, logitScale))];
      });
      try {
        similarities.set(await cosine.data(), start * numClasses);
        probabilities.set(await probs.data(), start * numClasses);
      } finally {
        cosine.dispose();
        probs.dispose();
      }
    }
  } finally {
    text.dispose();
  }
  const predictions = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if ((similarities[i * numClasses + c] as number) > (similarities[i * numClasses + best] as number)) best = c;
    predictions[i] = best;
  }
  return { count, numClasses, probabilities, similarities, predictions };
}

export interface Evaluation extends ClassificationMetrics {
  readonly predictions: Int32Array;
}

/** Predicts `data` and scores it against its labels. */
export async function evaluate(module: FeatureAttention | null, data: FeatureSet, textFeatures: TextFeatures, options: PredictOptions = {}): Promise<Evaluation> {
  const result = await predict(module, data, textFeatures, options);
  return { ...classificationMetrics(data.labels, result.predictions, result.numClasses), predictions: result.predictions };
}
