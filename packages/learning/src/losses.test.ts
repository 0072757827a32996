import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../test/backend.ts';
import * as ref from '../test/reference.ts';
import {
  contrastiveLoss,
  contrastiveLossWithGradient,
  lmmdClassWeights,
  lmmdLoss,
  lmmdLossWithGradient,
  normalizeRows,
  normalizeRowsBackward,
} from './losses.ts';
import { SeededRandom } from './prng.ts';

beforeAll(async () => { await useBackend('cpu'); });

function normals(random: SeededRandom, count: number): Float64Array {
  return Float64Array.from({ length: count }, () => Math.fround(random.normal()));
}


function expectGradientClose(analytic: ArrayLike<number>, numeric: ArrayLike<number>, tolerance = 1e-4): void {
  let scale = 1e-3;
  for (let i = 0; i < numeric.length; i++) scale = Math.max(scale, Math.abs(numeric[i] as number));
  for (let i = 0; i < numeric.length; i++) expect(Math.abs((analytic[i] as number) - (numeric[i] as number)) / scale, `element ${i}`).toBeLessThan(tolerance);
}

/** Random sizes per seed: the maths must not depend on D, B or C. */
const CASES = [1, 2, 3].map((seed) => {
  const random = new SeededRandom(100 + seed);
  return { seed, dim: 4 + random.nextInt(12), rows: 3 + random.nextInt(8), targetRows: 2 + random.nextInt(8), numClasses: 2 + random.nextInt(4) };
});

describe.each(CASES)('losses, D=$dim B=$rows Bt=$targetRows C=$numClasses', ({ seed, dim, rows, targetRows, numClasses }) => {
  const random = new SeededRandom(seed);
  const image = ref.normalizeRows(normals(random, rows * dim), rows);
  const text = ref.normalizeRows(normals(random, rows * dim), rows);
  const target = ref.normalizeRows(normals(random, targetRows * dim), targetRows);
  const labels = Array.from({ length: rows }, () => random.nextInt(numClasses));
  labels[0] = 0;
  const probs = ref.softmaxRows(normals(random, targetRows * numClasses).map((v) => 3 * v), targetRows);
  probs[0] = 1; // make class 0 the argmax of target row 0 (so at least one class is common)
  for (let c = 1; c < numClasses; c++) probs[c] = 0;

  it('contrastive loss and gradient match the reference', () => {
    const imageTensor = tf.tensor2d(Float32Array.from(image), [rows, dim]);
    const textTensor = tf.tensor2d(Float32Array.from(text), [rows, dim]);
    const { loss, gradImage } = contrastiveLossWithGradient(imageTensor, textTensor, 100);
    const expected = ref.contrastive(image, text, rows, 100);
    expect(Math.abs(loss.dataSync()[0]! - expected) / expected).toBeLessThan(1e-5);
    expect(contrastiveLoss(imageTensor, textTensor, 100).dataSync()[0]).toBeCloseTo(loss.dataSync()[0]!, 4);
    const free = Float64Array.from(image);
    expectGradientClose(gradImage.dataSync(), ref.numericGradient(free, () => ref.contrastive(free, text, rows, 100)));
    tf.dispose([imageTensor, textTensor, loss, gradImage]);
  });

  it('LMMD loss and gradient (bandwidth frozen) match the reference', () => {
    const source = tf.tensor2d(Float32Array.from(image), [rows, dim]);
    const targetTensor = tf.tensor2d(Float32Array.from(target), [targetRows, dim]);
    const { loss, gradSource } = lmmdLossWithGradient(source, targetTensor, labels, probs, numClasses);
    const expected = ref.lmmd(image, rows, target, targetRows, labels, probs, numClasses);
    expect(Math.abs(loss.dataSync()[0]! - expected.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected.loss)));
    expect(lmmdLoss(source, targetTensor, labels, probs, numClasses).dataSync()[0]).toBeCloseTo(expected.loss, 4);
    const free = Float64Array.from(image);
    const numeric = ref.numericGradient(free, () => ref.lmmd(free, rows, target, targetRows, labels, probs, numClasses, expected.bandwidth).loss);
    expectGradientClose(gradSource.dataSync(), numeric);
    tf.dispose([source, targetTensor, loss, gradSource]);
  });

  it('normalizeRowsBackward is the gradient of row normalisation', () => {
    const u = normals(random, rows * dim);
    const g = normals(random, rows * dim);
    const uTensor = tf.tensor2d(Float32Array.from(u), [rows, dim]);
    const analytic = normalizeRowsBackward(uTensor, tf.tensor2d(Float32Array.from(g), [rows, dim]));
    const free = Float64Array.from(u);
    const numeric = ref.numericGradient(free, () => ref.normalizeRows(free, rows).reduce((sum, v, i) => sum + v * (g[i] as number), 0));
    expectGradientClose(analytic.dataSync(), numeric);
    const normalised = normalizeRows(uTensor).dataSync();
    for (let i = 0; i < rows; i++) {
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += (normalised[i * dim + j] as number) ** 2;
      expect(norm).toBeCloseTo(1, 5);
    }
    tf.dispose([uTensor, analytic]);
  });
});

describe('lmmdClassWeights (DSAN cal_weight)', () => {
  it('normalises columns, masks to common classes and divides by their number', () => {
    // source labels: classes 0, 0, 1; target argmax: class 0, class 2 -> common classes {0}
    const probs = [0.7, 0.1, 0.2, 0.2, 0.1, 0.7];
    const weights = lmmdClassWeights([0, 0, 1], probs, 3);
    expect(weights.commonClasses).toEqual([0]);
    // s column 0 = [1/2, 1/2, 0]; t column 0 = [0.7, 0.2] / 0.9
    const s = [0.5, 0.5, 0];
    const t = [0.7 / 0.9, 0.2 / 0.9];
    const expectSame = (actual: Float32Array, expected: number[]): void => {
      expect(actual.length).toBe(expected.length);
      expected.forEach((value, i) => { expect(actual[i]).toBeCloseTo(value, 6); });
    };
    expectSame(weights.ss, s.flatMap((a) => s.map((b) => a * b)));
    expectSame(weights.tt, t.flatMap((a) => t.map((b) => a * b)));
    expectSame(weights.st, s.flatMap((a) => t.map((b) => a * b)));
  });

  it('replaces zero column sums by 100 and divides by the count of common classes', () => {
    // classes 0 and 1 common; class 2 absent from the source (column sum 0 -> 100, then masked anyway)
    const weights = lmmdClassWeights([0, 1], [0.9, 0.1, 0, 0.2, 0.8, 0], 3);
    expect(weights.commonClasses).toEqual([0, 1]);
    expect(weights.ss[0]).toBeCloseTo(1 / 2, 6); // (1 * 1) / 2 common classes
    expect(weights.ss[1]).toBeCloseTo(0, 6);
  });

  it('is all zero without a common class, and the loss is then 0 with zero gradient', async () => {
    const weights = lmmdClassWeights([0, 0], [0, 1, 0, 1], 2);
    expect(weights.commonClasses).toEqual([]);
    expect([...weights.ss, ...weights.tt, ...weights.st].every((value) => value === 0)).toBe(true);
    const source = tf.randomNormal<tf.Rank.R2>([2, 4]);
    const target = tf.randomNormal<tf.Rank.R2>([2, 4]);
    const { loss, gradSource } = lmmdLossWithGradient(source, target, [0, 0], [0, 1, 0, 1], 2);
    expect(loss.dataSync()[0]).toBe(0);
    expect(Math.max(...(await gradSource.data()).map(Math.abs))).toBe(0);
    tf.dispose([source, target, loss, gradSource]);
  });
});

describe('LMMD edge cases', () => {
  it('handles a batch of a single class', () => {
    const random = new SeededRandom(4);
    const image = ref.normalizeRows(normals(random, 5 * 6), 5);
    const target = ref.normalizeRows(normals(random, 4 * 6), 4);
    const labels = [2, 2, 2, 2, 2];
    const probs = Array.from({ length: 4 }, (_, i) => (i === 0 ? [0.1, 0.1, 0.8] : [0.6, 0.2, 0.2])).flat();
    const loss = lmmdLoss(tf.tensor2d(Float32Array.from(image), [5, 6]), tf.tensor2d(Float32Array.from(target), [4, 6]), labels, probs, 3);
    const expected = ref.lmmd(image, 5, target, 4, labels, probs, 3).loss;
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('returns 0 (torch returns 0 on its NaN kernel) when all points coincide', () => {
    const same = tf.ones<tf.Rank.R2>([3, 4]);
    const { loss, gradSource } = lmmdLossWithGradient(same, same, [0, 0, 0], [1, 0, 1, 0, 1, 0], 2);
    expect(loss.dataSync()[0]).toBe(0);
    expect([...gradSource.dataSync()].every((value) => value === 0)).toBe(true);
    tf.dispose([same, loss, gradSource]);
  });
});
