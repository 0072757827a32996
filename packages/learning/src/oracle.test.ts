import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../test/backend.ts';
import { AdamL2 } from './adam.ts';
import { FeatureAttention } from './attention.ts';
import type { FeatureSet, TextFeatures } from './features.ts';
import { localStep } from './local-step.ts';
import { lmmdClassWeights } from './losses.ts';
import { SeededRandom } from './prng.ts';
import { oneHotProbabilities, pseudoLabelsFromProbabilities, tallyPseudoLabels } from './pseudo-labels.ts';
import { trainLocal } from './trainer.ts';

beforeAll(async () => { await useBackend('cpu'); });

const DIM = 8;
const CLASSES = 3;

function dataset(count: number, seed: number): FeatureSet {
  const random = new SeededRandom(seed);
  const labels = Int32Array.from({ length: count }, (_, i) => i % CLASSES);
  const features = new Float32Array(count * DIM);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < DIM; j++) features[i * DIM + j] = random.normal() + (j === (labels[i] as number) ? 1.5 : 0);
  }
  return { dim: DIM, features, labels };
}

function text(): TextFeatures {
  const features = new Float32Array(CLASSES * DIM).fill(0.1);
  for (let c = 0; c < CLASSES; c++) features[c * DIM + c] = 1.1;
  return { dim: DIM, features };
}

async function step(referenceLabels: Int32Array | null) {
  const module = FeatureAttention.create('facmic', DIM, 3);
  const optimizer = new AdamL2();
  const source = dataset(9, 1);
  const target = dataset(6, 2);
  const textTensor = tf.tensor2d(text().features, [CLASSES, DIM]);
  const sourceTensor = tf.tensor2d(source.features, [9, DIM]);
  const targetTensor = tf.tensor2d(target.features, [6, DIM]);
  try {
    const result = await localStep(module, optimizer, textTensor, { source: sourceTensor, labels: source.labels, reference: targetTensor, referenceLabels }, { lmmd: true, diagnostics: true });
    return { result, sourceLabels: source.labels };
  } finally {
    for (const t of [textTensor, sourceTensor, targetTensor]) t.dispose();
    module.dispose();
    optimizer.dispose();
  }
}

describe('oracle LMMD', () => {
  it("uses LMMD's class weights with the pseudo labels replaced by one-hot true labels", async () => {
    // True labels that the module's pseudo labels cannot all match: rows 0..5 take classes 2, 2, 1, 0, 1, 0.
    const truth = Int32Array.from([2, 2, 1, 0, 1, 0]);
    const oracle = await step(truth);
    const plain = await step(null);
    const oracleWeights = oracle.result.diagnostics?.lmmdWeights;
    const plainWeights = plain.result.diagnostics?.lmmdWeights;
    const pseudoProbs = plain.result.diagnostics?.pseudoLabelProbs;
    if (!oracleWeights || !plainWeights || !pseudoProbs) throw new Error('diagnostics missing');
    const expected = lmmdClassWeights(oracle.sourceLabels, oneHotProbabilities(truth, CLASSES), CLASSES);
    expect(oracleWeights.commonClasses).toEqual(expected.commonClasses);
    expect(Array.from(oracleWeights.ss)).toEqual(Array.from(expected.ss));
    expect(Array.from(oracleWeights.tt)).toEqual(Array.from(expected.tt));
    expect(Array.from(oracleWeights.st)).toEqual(Array.from(expected.st));
    // Without the truth, the weights come from the pseudo-label probabilities, and they differ from the oracle's.
    const fromPseudo = lmmdClassWeights(plain.sourceLabels, pseudoProbs, CLASSES);
    expect(Array.from(plainWeights.tt)).toEqual(Array.from(fromPseudo.tt));
    expect(Array.from(plainWeights.tt)).not.toEqual(Array.from(expected.tt));
    // The same module start: the target forward and its pseudo labels are the same with and without the oracle.
    expect(Array.from(oracle.result.pseudoLabels ?? [])).toEqual(Array.from(pseudoLabelsFromProbabilities(pseudoProbs, CLASSES)));
    expect(oracle.result.losses.lmmd).not.toBeCloseTo(plain.result.losses.lmmd, 6);
  });

  it('tallies the pseudo labels LMMD saw in a round against the reference truth', async () => {
    const module = FeatureAttention.create('facmic', DIM, 4);
    const reference = dataset(20, 5);
    let rows = 0;
    let correct = 0;
    const result = await trainLocal(module, dataset(30, 6), {
      textFeatures: text(), lmmd: true, reference, referenceLabels: reference.labels, seed: 2, batchSize: 8, steps: 5, diagnostics: true,
      onStep: (progress) => {
        const probs = progress.diagnostics?.pseudoLabelProbs;
        if (!probs || !progress.referenceRows) throw new Error('diagnostics missing');
        const truth = Int32Array.from(progress.referenceRows, (row) => reference.labels[row] as number);
        const counted = tallyPseudoLabels(pseudoLabelsFromProbabilities(probs, CLASSES), truth);
        rows += counted.rows;
        correct += counted.correct;
      },
    });
    module.dispose();
    expect(result.pseudoLabels).toEqual({ rows: 40, correct });
    expect(rows).toBe(40);
    const unlabelled = FeatureAttention.create('facmic', DIM, 4);
    expect((await trainLocal(unlabelled, dataset(30, 6), { textFeatures: text(), lmmd: true, reference, seed: 2, batchSize: 8, steps: 2 })).pseudoLabels).toBeNull();
    unlabelled.dispose();
  });

  it('weights the LMMD term by λ in the total loss', async () => {
    const reference = dataset(20, 5);
    for (const lmmdWeight of [0, 0.5, 2]) {
      const module = FeatureAttention.create('facmic', DIM, 4);
      const result = await trainLocal(module, dataset(30, 6), { textFeatures: text(), lmmd: true, reference, seed: 2, batchSize: 8, steps: 3, lmmdWeight });
      module.dispose();
      for (const losses of result.losses) expect(losses.total).toBeCloseTo(losses.contrastive + lmmdWeight * losses.lmmd, 5);
      expect(result.losses.some((losses) => losses.lmmd > 0)).toBe(true);
    }
  });
});
