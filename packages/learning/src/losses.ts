/**
 * FACMIC's losses on TensorFlow.js.
 *
 * - CLIP's symmetric in-batch contrastive loss (one prompt per image, duplicates included).
 * - LMMD as in DSAN / jindongwang/transferlearning `LMMD_loss` (the code the paper uses): multi-bandwidth Gaussian
 *   kernel over concat(source, target), class-conditional weights from source labels and target pseudo-label
 *   probabilities, restricted to classes present on both sides.
 *
 * Each loss comes with its gradient with respect to the (normalised) image features, written out explicitly: tfjs-core
 * registers its autodiff gradients only through a bundler-only side-effect module, so this package does not rely on
 * tfjs autodiff and trains the same way in Node, workers and browsers.
 */
import * as tf from '@tensorflow/tfjs-core';

export const LOGIT_SCALE = 100;
export const LMMD_KERNEL_MUL = 2;
export const LMMD_KERNEL_NUM = 5;

/** x / ||x||_2 per row (torch: `x / x.norm(dim=1, keepdim=True)`). */
export function normalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.sum(tf.square(x), 1, true))));
}

/** Backward of `normalizeRows`: du = (df - f * sum(df * f, row)) / ||u||, with f = u / ||u||. */
export function normalizeRowsBackward(u: tf.Tensor2D, gradNormalised: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(u), 1, true));
    const f = tf.div(u, norm);
    return tf.div(tf.sub(gradNormalised, tf.mul(f, tf.sum(tf.mul(gradNormalised, f), 1, true))), norm);
  });
}

/**
 * Symmetric contrastive loss: logits = scale * image @ text^T with row i of `text` the prompt of image i;
 * (CE(logits, arange) + CE(logits^T, arange)) / 2. Both inputs already normalised, [B, D].
 */
export function contrastiveLoss(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D, logitScale = LOGIT_SCALE): tf.Scalar {
  const { loss, gradImage } = contrastiveLossWithGradient(imageFeatures, textFeatures, logitScale);
  gradImage.dispose();
  return loss;
}

/**
 * `contrastiveLoss` and its gradient with respect to `imageFeatures`:
 * dS = ((softmax_rows(S) - I) + (softmax_columns(S) - I)) / (2B), d image = scale * dS @ text.
 */
export function contrastiveLossWithGradient(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D, logitScale = LOGIT_SCALE): { loss: tf.Scalar; gradImage: tf.Tensor2D } {
  return tf.tidy(() => {
    const logits = tf.mul<tf.Tensor2D>(tf.matMul(imageFeatures, tf.transpose(textFeatures)), logitScale);
    const rows = logits.shape[0];
    const identity = tf.eye(rows);
    const rowLogProbs = tf.logSoftmax(logits);
    const columnLogProbs = tf.logSoftmax(tf.transpose(logits));
    const loss = tf.div<tf.Scalar>(
      tf.add(tf.neg(tf.mean(tf.sum(tf.mul(rowLogProbs, identity), 1))), tf.neg(tf.mean(tf.sum(tf.mul(columnLogProbs, identity), 1)))),
      2,
    );
    const gradLogits = tf.div<tf.Tensor2D>(tf.sub(tf.add(tf.exp(rowLogProbs), tf.transpose(tf.exp(columnLogProbs))), tf.mul(identity, 2)), 2 * rows);
    const gradImage = tf.mul<tf.Tensor2D>(tf.matMul(gradLogits, textFeatures), logitScale);
    return { loss, gradImage };
  });
}

/** softmax(scale * cos(features, text)) for already normalised features [N, D] and text [C, D]. */
export function cosineProbabilities(normalisedFeatures: tf.Tensor2D, normalisedText: tf.Tensor2D, logitScale = LOGIT_SCALE): tf.Tensor2D {
  return tf.tidy(() => tf.softmax(tf.mul(tf.matMul(normalisedFeatures, tf.transpose(normalisedText)), logitScale)));
}

export interface KernelOptions {
  readonly kernelMul?: number;
  readonly kernelNum?: number;
}

/**
 * Sum over i < kernelNum of exp(-L2 / (bw * kernelMul^i)) on concat(source, target), with L2 the squared Euclidean
 * distance matrix and bw = sum(L2) / (n^2 - n) / kernelMul^(kernelNum // 2), a constant for the gradient (torch takes
 * it from `L2_distance.data`). Also returns the distances and the bandwidth (0 when all points coincide: the
 * caller treats that as torch's NaN case).
 */
export function gaussianKernel(source: tf.Tensor2D, target: tf.Tensor2D, options: KernelOptions = {}): { kernel: tf.Tensor2D; distances: tf.Tensor2D; bandwidth: tf.Scalar } {
  const kernelMul = options.kernelMul ?? LMMD_KERNEL_MUL;
  const kernelNum = options.kernelNum ?? LMMD_KERNEL_NUM;
  return tf.tidy(() => {
    const total = tf.concat([source, target], 0);
    const n = total.shape[0];
    const distances = tf.sum<tf.Tensor2D>(tf.squaredDifference(tf.expandDims(total, 0), tf.expandDims(total, 1)), 2);
    const bandwidth = tf.div<tf.Scalar>(tf.div(tf.sum(distances), n * n - n), kernelMul ** Math.floor(kernelNum / 2));
    const safeBandwidth = tf.where(tf.greater(bandwidth, 0), bandwidth, tf.onesLike(bandwidth));
    let kernel = tf.zerosLike(distances);
    for (let i = 0; i < kernelNum; i++) {
      kernel = tf.add(kernel, tf.exp(tf.neg(tf.div(distances, tf.mul(safeBandwidth, kernelMul ** i)))));
    }
    return { kernel, distances, bandwidth };
  });
}

export interface LmmdWeights {
  /** [ns, ns], [nt, nt], [ns, nt], row-major, already divided by the number of common classes. */
  readonly ss: Float32Array;
  readonly tt: Float32Array;
  readonly st: Float32Array;
  /** Classes present among the source labels and the target argmax labels, ascending. */
  readonly commonClasses: number[];
}

/**
 * LMMD's class weights (`cal_weight`): one-hot source labels and target probabilities, each column divided by its
 * column sum (zero sums replaced by 100), masked to the classes present on both sides, ss = s s^T, tt = t t^T,
 * st = s t^T, divided by the number of common classes. All zero when no class is common. Float64, rounded to float32.
 */
export function lmmdClassWeights(sourceLabels: ArrayLike<number>, targetProbabilities: ArrayLike<number>, numClasses: number): LmmdWeights {
  const ns = sourceLabels.length;
  const nt = Math.floor(targetProbabilities.length / numClasses);
  const source = new Float64Array(ns * numClasses);
  for (let i = 0; i < ns; i++) source[i * numClasses + (sourceLabels[i] as number)] = 1;
  const target = Float64Array.from(targetProbabilities);
  const targetArgmax = new Set<number>();
  for (let i = 0; i < nt; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if ((target[i * numClasses + c] as number) > (target[i * numClasses + best] as number)) best = c;
    targetArgmax.add(best);
  }
  const sourceClasses = new Set<number>(Array.from(sourceLabels));
  const commonClasses = [...sourceClasses].filter((c) => targetArgmax.has(c)).sort((a, b) => a - b);
  const common = new Set(commonClasses);
  for (const [matrix, rows] of [[source, ns], [target, nt]] as const) {
    for (let c = 0; c < numClasses; c++) {
      let columnSum = 0;
      for (let i = 0; i < rows; i++) columnSum += matrix[i * numClasses + c] as number;
      if (columnSum === 0) columnSum = 100;
      const keep = common.has(c);
      for (let i = 0; i < rows; i++) matrix[i * numClasses + c] = keep ? (matrix[i * numClasses + c] as number) / columnSum : 0;
    }
  }
  const length = commonClasses.length;
  const product = (a: Float64Array, rowsA: number, b: Float64Array, rowsB: number): Float32Array => {
    const out = new Float32Array(rowsA * rowsB);
    if (length === 0) return out;
    for (let i = 0; i < rowsA; i++) {
      for (let j = 0; j < rowsB; j++) {
        let sum = 0;
        for (let c = 0; c < numClasses; c++) sum += (a[i * numClasses + c] as number) * (b[j * numClasses + c] as number);
        out[i * rowsB + j] = sum / length;
      }
    }
    return out;
  };
  return { ss: product(source, ns, source, ns), tt: product(target, nt, target, nt), st: product(source, ns, target, nt), commonClasses };
}

/**
 * LMMD between `source` [ns, D] (labelled by `sourceLabels`) and `target` [nt, D] (pseudo-labelled by
 * `targetProbabilities` [nt, C], no gradient through them): sum(w_ss * K_ss + w_tt * K_tt - 2 w_st * K_st).
 * 0 when no class is common to both sides, or when all points coincide (torch's NaN kernel case).
 */
export function lmmdLoss(
  source: tf.Tensor2D,
  target: tf.Tensor2D,
  sourceLabels: ArrayLike<number>,
  targetProbabilities: ArrayLike<number>,
  numClasses: number,
  options: KernelOptions = {},
): tf.Scalar {
  const { loss, gradSource } = lmmdLossWithGradient(source, target, sourceLabels, targetProbabilities, numClasses, options);
  gradSource.dispose();
  return loss;
}

/**
 * `lmmdLoss` and its gradient with respect to `source` (the target side carries no gradient in FACMIC). With M the
 * [n, n] weight matrix (w_ss, -2 w_st top right, w_tt) and G = M * dK/dL2, d z_i = 2 sum_j (G + G^T)_ij (z_i - z_j).
 */
export function lmmdLossWithGradient(
  source: tf.Tensor2D,
  target: tf.Tensor2D,
  sourceLabels: ArrayLike<number>,
  targetProbabilities: ArrayLike<number>,
  numClasses: number,
  options: KernelOptions = {},
): { loss: tf.Scalar; gradSource: tf.Tensor2D; weights: LmmdWeights } {
  const ns = source.shape[0];
  const nt = target.shape[0];
  const n = ns + nt;
  const weights = lmmdClassWeights(sourceLabels, targetProbabilities, numClasses);
  if (weights.commonClasses.length === 0) return { loss: tf.scalar(0), gradSource: tf.zerosLike(source), weights };
  const kernelMul = options.kernelMul ?? LMMD_KERNEL_MUL;
  const kernelNum = options.kernelNum ?? LMMD_KERNEL_NUM;
  const combined = new Float32Array(n * n);
  for (let i = 0; i < ns; i++) {
    for (let j = 0; j < ns; j++) combined[i * n + j] = weights.ss[i * ns + j] as number;
    for (let j = 0; j < nt; j++) combined[i * n + ns + j] = -2 * (weights.st[i * nt + j] as number);
  }
  for (let i = 0; i < nt; i++) for (let j = 0; j < nt; j++) combined[(ns + i) * n + ns + j] = weights.tt[i * nt + j] as number;
  const result = tf.tidy(() => {
    const { kernel, distances, bandwidth } = gaussianKernel(source, target, options);
    const valid = tf.greater(bandwidth, 0);
    const safeBandwidth = tf.where(valid, bandwidth, tf.onesLike(bandwidth));
    const ss = tf.slice(kernel, [0, 0], [ns, ns]);
    const tt = tf.slice(kernel, [ns, ns], [nt, nt]);
    const st = tf.slice(kernel, [0, ns], [ns, nt]);
    const rawLoss = tf.add(
      tf.sum(tf.mul(tf.tensor2d(weights.ss, [ns, ns]), ss)),
      tf.sub(tf.sum(tf.mul(tf.tensor2d(weights.tt, [nt, nt]), tt)), tf.mul(2, tf.sum(tf.mul(tf.tensor2d(weights.st, [ns, nt]), st)))),
    );
    const loss = tf.where(valid, rawLoss, tf.zerosLike(rawLoss)) as tf.Scalar;
    // dK/dL2 = -sum_i exp(-L2 / b_i) / b_i
    let kernelSlope = tf.zerosLike(distances);
    for (let i = 0; i < kernelNum; i++) {
      const scale = tf.mul(safeBandwidth, kernelMul ** i);
      kernelSlope = tf.sub(kernelSlope, tf.div(tf.exp(tf.neg(tf.div(distances, scale))), scale));
    }
    const g = tf.mul(tf.tensor2d(combined, [n, n]), kernelSlope);
    const h = tf.add(g, tf.transpose(g));
    const total = tf.concat([source, target], 0);
    const gradTotal = tf.mul(2, tf.sub(tf.mul(tf.sum(h, 1, true), total), tf.matMul(h, total)));
    const gradSource = tf.where(valid, tf.slice(gradTotal, [0, 0], [ns, source.shape[1]]), tf.zerosLike(source)) as tf.Tensor2D;
    return { loss, gradSource };
  });
  return { ...result, weights };
}
