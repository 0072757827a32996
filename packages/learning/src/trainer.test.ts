import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../test/backend.ts';
import { FeatureAttention } from './attention.ts';
import { TrainingError } from './errors.ts';
import type { FeatureMatrix, FeatureSet, TextFeatures } from './features.ts';
import { SeededRandom } from './prng.ts';
import type { LocalTrainingOptions } from './trainer.ts';
import { DEFAULT_STEPS_PER_ROUND, RecordedBatches, ShuffledBatches, stepsPerEpoch, trainLocal } from './trainer.ts';

beforeAll(async () => { await useBackend('cpu'); });

const DIM = 8;
const CLASSES = 3;

function dataset(count: number, seed: number, classes = CLASSES): FeatureSet {
  const random = new SeededRandom(seed);
  const labels = Int32Array.from({ length: count }, (_, i) => i % classes);
  const features = new Float32Array(count * DIM);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < DIM; j++) features[i * DIM + j] = random.normal() + (j === (labels[i] as number) ? 3 : 0);
  }
  return { dim: DIM, features, labels };
}

function text(): TextFeatures {
  const features = new Float32Array(CLASSES * DIM);
  for (let c = 0; c < CLASSES; c++) features[c * DIM + c] = 1;
  for (let i = 0; i < features.length; i++) features[i] = (features[i] as number) + 0.1;
  return { dim: DIM, features };
}

function options(overrides: Partial<LocalTrainingOptions> = {}): LocalTrainingOptions {
  return { textFeatures: text(), lmmd: true, reference: dataset(40, 99), seed: 1, batchSize: 8, ...overrides };
}

async function errorCode(run: Promise<unknown>): Promise<string> {
  try {
    await run;
  } catch (error) {
    if (error instanceof TrainingError) return error.code;
    throw error;
  }
  return 'none';
}

describe('trainLocal', () => {
  it('hands the event loop back during a long run, so timers and sockets in the same thread keep running', async () => {
    const module = FeatureAttention.create('facmic', DIM, 1);
    let ticks = 0;
    const timer = setInterval(() => { ticks += 1; }, 1);
    const started = Date.now();
    let steps = 0;
    while (Date.now() - started < 400) steps += (await trainLocal(module, dataset(400, 1), options({ epochs: 2 }))).steps;
    clearInterval(timer);
    module.dispose();
    expect(steps).toBeGreaterThan(0);
    // Without yielding, no interval callback could run until the loop above ends.
    expect(ticks).toBeGreaterThan(2);
  });

  it('runs 199 steps by default (the paper), N steps with `steps`, floor(N / batch) per epoch with `epochs`', async () => {
    const module = FeatureAttention.create('facmic', DIM, 1);
    expect(DEFAULT_STEPS_PER_ROUND).toBe(199);
    expect((await trainLocal(module, dataset(30, 1), options())).steps).toBe(199);
    expect((await trainLocal(module, dataset(30, 1), options({ epochs: 1 }))).steps).toBe(3);
    expect((await trainLocal(module, dataset(30, 1), options({ epochs: 2 }))).steps).toBe(6);
    expect((await trainLocal(module, dataset(30, 1), options({ steps: 5 }))).steps).toBe(5);
    expect((await trainLocal(module, dataset(30, 1), options({ steps: 5, epochs: 1 }))).steps).toBe(3);
    module.dispose();
    expect([stepsPerEpoch(30, 8), stepsPerEpoch(7, 8), stepsPerEpoch(2, 32), stepsPerEpoch(1, 32)]).toEqual([3, 1, 1, 0]);
  });

  it('trains one smaller batch when there are fewer samples than a batch', async () => {
    const module = FeatureAttention.create('facmic', DIM, 1);
    const result = await trainLocal(module, dataset(5, 2), options({ batchSize: 32, epochs: 1 }));
    expect(result.steps).toBe(1);
    expect(result.numSamples).toBe(5);
    expect(Number.isFinite(result.losses[0]!.total)).toBe(true);
    module.dispose();
  });

  it('uses the whole reference set as each reference batch when it is smaller than a batch', async () => {
    const module = FeatureAttention.create('facmic', DIM, 1);
    const result = await trainLocal(module, dataset(32, 3), options({ reference: dataset(3, 4), epochs: 1 }));
    expect(result.steps).toBe(4);
    expect(result.losses.every((losses) => Number.isFinite(losses.lmmd))).toBe(true);
    module.dispose();
  });

  it('trains on a batch holding a single class', async () => {
    const module = FeatureAttention.create('facmic', DIM, 1);
    const single = dataset(16, 5, 1);
    const result = await trainLocal(module, single, options({ epochs: 1 }));
    expect(result.steps).toBe(2);
    expect(result.losses.every((losses) => Number.isFinite(losses.total))).toBe(true);
    module.dispose();
  });

  it('moves BatchNorm statistics twice per step with LMMD (source and target), once without', async () => {
    const module = FeatureAttention.create('facmic', DIM, 1);
    await trainLocal(module, dataset(24, 1), options({ steps: 3 }));
    expect(module.numBatchesTracked).toBe(6);
    await trainLocal(module, dataset(24, 1), options({ steps: 3, lmmd: false, reference: null }));
    expect(module.numBatchesTracked).toBe(9);
    module.dispose();
  });

  it('leaks no tensors', async () => {
    const module = FeatureAttention.create('facmic', DIM, 1);
    const fedclip = FeatureAttention.create('fedclip', DIM, 1);
    const before = tf.memory().numTensors;
    await trainLocal(module, dataset(40, 1), options({ epochs: 2 }));
    await trainLocal(fedclip, dataset(40, 1), options({ lmmd: false, steps: 5 }));
    expect(tf.memory().numTensors).toBe(before);
    module.dispose();
    fedclip.dispose();
  });

  it('is deterministic for a seed and different across seeds', async () => {
    const run = async (seed: number): Promise<{ state: Float32Array; losses: number[] }> => {
      const module = FeatureAttention.create('facmic', DIM, 7);
      const result = await trainLocal(module, dataset(40, 1), options({ seed, steps: 10 }));
      const state = (await module.exportState())['3.weight']!.data;
      module.dispose();
      return { state, losses: result.losses.map((losses) => losses.total) };
    };
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    expect(a).toEqual(b);
    expect(a.losses).not.toEqual(c.losses);
  });

  it('lowers the loss on a learnable problem', async () => {
    const module = FeatureAttention.create('facmic', DIM, 3);
    const result = await trainLocal(module, dataset(64, 1), options({ epochs: 15, adam: { learningRate: 3e-3 } }));
    const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
    const contrastive = result.losses.map((losses) => losses.contrastive);
    expect(mean(contrastive.slice(-8))).toBeLessThan(0.9 * mean(contrastive.slice(0, 8)));
    module.dispose();
  });

  it('continues a caller-owned optimiser across calls (its moments persist, as in the paper)', async () => {
    const { AdamL2 } = await import('./adam.ts');
    const optimizer = new AdamL2();
    const module = FeatureAttention.create('facmic', DIM, 3);
    await trainLocal(module, dataset(16, 1), options({ optimizer, steps: 2 }));
    await trainLocal(module, dataset(16, 1), options({ optimizer, steps: 2 }));
    expect(optimizer.stepCount).toBe(4);
    optimizer.dispose();
    module.dispose();
  });

  it('reports progress and stops on abort with a typed error, keeping completed steps', async () => {
    const module = FeatureAttention.create('facmic', DIM, 1);
    const controller = new AbortController();
    const seen: number[] = [];
    const code = await errorCode(trainLocal(module, dataset(64, 1), options({
      epochs: 1,
      signal: controller.signal,
      onStep: (progress) => {
        seen.push(progress.step);
        expect(progress.totalSteps).toBe(8);
        if (progress.step === 2) controller.abort();
      },
    })));
    expect(code).toBe('aborted');
    expect(seen).toEqual([1, 2]);
    expect(module.numBatchesTracked).toBe(4);
    module.dispose();
  });

  it('rejects unusable input with typed errors before changing anything', async () => {
    const module = FeatureAttention.create('facmic', DIM, 1);
    const before = await module.exportState();
    expect(await errorCode(trainLocal(module, dataset(1, 1), options()))).toBe('too-few-samples');
    expect(await errorCode(trainLocal(module, dataset(16, 1), options({ reference: null })))).toBe('missing-reference');
    expect(await errorCode(trainLocal(module, dataset(16, 1), options({ reference: dataset(1, 2) })))).toBe('reference-too-small');
    const badLabels = { ...dataset(16, 1), labels: Int32Array.from({ length: 16 }, () => CLASSES) };
    expect(await errorCode(trainLocal(module, badLabels, options()))).toBe('invalid-labels');
    const nan = dataset(16, 1);
    nan.features[3] = Number.NaN;
    expect(await errorCode(trainLocal(module, nan, options()))).toBe('invalid-features');
    const wide: FeatureMatrix = { dim: DIM + 1, features: new Float32Array(4 * (DIM + 1)) };
    expect(await errorCode(trainLocal(module, { ...wide, labels: new Int32Array(4) }, options()))).toBe('dimension-mismatch');
    expect(await errorCode(trainLocal(module, dataset(16, 1), options({ batchSize: 1 })))).toBe('invalid-options');
    expect(await errorCode(trainLocal(module, dataset(16, 1), options({ steps: 0 })))).toBe('invalid-options');
    expect(await module.exportState()).toEqual(before);
    module.dispose();
  });
});

describe('batch streams', () => {
  it('visits every row once per pass (drop_last) and reshuffles at each pass, endlessly', () => {
    const stream = new ShuffledBatches(10, 3, new SeededRandom(1));
    const firstPass = [stream.next(), stream.next(), stream.next()].flatMap((batch) => [...batch]);
    expect(new Set(firstPass).size).toBe(9);
    const secondPass = [stream.next(), stream.next(), stream.next()].flatMap((batch) => [...batch]);
    expect(new Set(secondPass).size).toBe(9);
    expect(secondPass).not.toEqual(firstPass);
    const small = new ShuffledBatches(3, 8, new SeededRandom(2));
    expect([...small.next()].sort()).toEqual([0, 1, 2]);
    expect(() => new ShuffledBatches(1, 8, new SeededRandom(2))).toThrow(TrainingError);
  });

  it('feeds injected rows to the steps, draws and drops one pair after a step-bounded round, and keeps a stream across rounds', async () => {
    const data = dataset(24, 1);
    const source = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]];
    const reference = [[0, 1, 2, 3], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]];
    const sourceBatches = new RecordedBatches(source);
    const referenceBatches = new RecordedBatches(reference);
    const seen: number[][] = [];
    const module = FeatureAttention.create('facmic', DIM, 1);
    const result = await trainLocal(module, data, options({ steps: 3, sourceBatches, referenceBatches, onStep: (p) => seen.push([...p.sourceRows, ...(p.referenceRows ?? [])]) }));
    expect(result.steps).toBe(3);
    expect(seen).toEqual([0, 1, 2].map((s) => [...source[s]!, ...reference[s]!]));
    expect(sourceBatches.remaining).toBe(0); // the fourth pair was drawn and thrown away
    expect(referenceBatches.remaining).toBe(0);
    await expect(trainLocal(module, data, options({ steps: 1, sourceBatches, referenceBatches }))).rejects.toThrow(/only 4 batches/);
    await expect(trainLocal(module, data, options({ steps: 1, sourceBatches: new RecordedBatches([[0, 99]]) }))).rejects.toThrow(/not a row/);

    // Same seed, same stream: two rounds of 2 over one kept stream are one round of 4 plus the thrown-away pair.
    const kept = new ShuffledBatches(24, 4, new SeededRandom(5));
    const again = new ShuffledBatches(24, 4, new SeededRandom(5));
    const keptRows: number[] = [];
    const expectedRows: number[] = [];
    for (let round = 0; round < 2; round++) await trainLocal(module, data, options({ steps: 2, lmmd: false, sourceBatches: kept, onStep: (p) => keptRows.push(...p.sourceRows) }));
    for (let i = 0; i < 5; i++) {
      const batch = again.next();
      if (i !== 2) expectedRows.push(...batch);
    }
    expect(keptRows).toEqual(expectedRows);
    module.dispose();
  });
});
