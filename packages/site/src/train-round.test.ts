/** One round of local work, without a coordinator: the update it returns is what the site submits. */
import { initialModuleState, moduleTensorSpec } from '@facmic/learning/plain';
import { useBackend } from '@facmic/learning/testing';
import { createFederationRequestSchema, decodeTensors, type FederationConfig, type SitePhase } from '@facmic/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SiteEventMap } from './events.ts';
import type { FederationFeatures, SiteData } from './site-data.ts';
import { createOptimizer, trainRound, type TrainRoundInput } from './train-round.ts';

beforeAll(async () => { await useBackend('cpu'); });

const DIM = 8;
const CLASSES = 3;

function features(rows: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: rows * DIM }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    return s / 2 ** 31;
  });
}

const settings = createFederationRequestSchema.parse({ name: 'F', classNames: ['a', 'b', 'c'], training: { batchSize: 4, stepsPerRound: 3 } });
const federation: FederationConfig = {
  id: 'fed',
  name: settings.name,
  classNames: settings.classNames,
  promptTemplate: settings.promptTemplate,
  prompts: settings.classNames,
  method: 'facmic',
  rounds: 3,
  training: settings.training,
  quorum: 1,
  roundDeadlineSeconds: 60,
  minRoundSeconds: 0,
  encoder: { modelId: 'test', hash: 'h', featureDim: DIM },
  module: { kind: 'facmic', featureDim: DIM },
  features: { referenceCount: 6, checksum: 'x' },
  hasGlobalTest: false,
  privacy: settings.privacy,
  createdAt: 0,
};
const data: SiteData = {
  train: { dim: DIM, features: features(12, 1), labels: Int32Array.from({ length: 12 }, (_, i) => i % CLASSES) },
  test: { dim: DIM, features: features(6, 2), labels: Int32Array.from({ length: 6 }, (_, i) => i % CLASSES) },
};
const shared: FederationFeatures = { text: { dim: DIM, features: features(CLASSES, 3) }, reference: { dim: DIM, features: features(6, 4) }, checksum: 'x' };

function input(over: Partial<TrainRoundInput> = {}) {
  const phases: { phase: SitePhase; progress: number | null }[] = [];
  const evaluated: SiteEventMap['evaluated'][] = [];
  const steps: SiteEventMap['step'][] = [];
  const value: TrainRoundInput = {
    round: 2,
    federation,
    data,
    features: shared,
    globalState: initialModuleState('facmic', DIM, 7),
    optimizer: createOptimizer(federation.training),
    seed: 11,
    weightsDtype: 'float32',
    signal: new AbortController().signal,
    onPhase: (phase, progress) => { phases.push({ phase, progress }); },
    onEvaluated: (event) => { evaluated.push(event); },
    onStep: (event) => { steps.push(event); },
    ...over,
  };
  return { value, phases, evaluated, steps };
}

describe('trainRound', () => {
  it('evaluates, trains from the global model without changing it, evaluates again and encodes the update', async () => {
    const { value, phases, evaluated, steps } = input();
    const before = Array.from(value.globalState['0.weight']!.data);
    const update = await trainRound(value);
    expect(Array.from(value.globalState['0.weight']!.data)).toEqual(before);
    const decoded = decodeTensors(update.bytes, { expected: moduleTensorSpec('facmic', DIM) });
    expect(decoded.checksum).toBe(update.checksum);
    expect(Array.from(decoded.tensors['0.weight']!.data)).not.toEqual(before);
    expect(decoded.tensors['1.num_batches_tracked']!.data[0]).toBeGreaterThan(value.globalState['1.num_batches_tracked']!.data[0]!);
    expect(update).toMatchObject({ round: 2, sampleCount: 12, metrics: { steps: 3 } });
    expect(update.metrics.trainLoss).toBeGreaterThan(0);
    expect(update.metrics.globalModel?.samples).toBe(6);
    expect(update.metrics.localModel?.samples).toBe(6);
    expect(evaluated.map((e) => [e.round, e.model])).toEqual([[2, 'global'], [2, 'local']]);
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3]);
    expect(phases[0]).toEqual({ phase: 'evaluating', progress: null });
    expect(phases.filter((p) => p.phase === 'training').at(-1)).toEqual({ phase: 'training', progress: 1 });
    value.optimizer.dispose();
  });

  it('keeps the counter in float32 when the weights go as float16, and skips evaluation without a test split', async () => {
    const { value, evaluated } = input({ weightsDtype: 'float16', data: { train: data.train, test: null } });
    const update = await trainRound(value);
    const decoded = decodeTensors(update.bytes);
    expect(decoded.dtypes['0.weight']).toBe('float16');
    expect(decoded.dtypes['1.num_batches_tracked']).toBe('float32');
    expect(update.metrics.globalModel).toBeNull();
    expect(evaluated).toEqual([]);
    value.optimizer.dispose();
  });

  it('sends 8 bits as the delta from the round\'s global model, the running statistics exact, the same bytes when trained again', async () => {
    const first = input({ weightsDtype: 'int8' });
    const update = await trainRound(first.value);
    const others = [input({ weightsDtype: 'float32' }).value, input({ weightsDtype: 'int8' }).value];
    const exact = await trainRound(others[0]!);
    const again = await trainRound(others[1]!);
    expect(again.checksum).toBe(update.checksum);
    const base = { round: 1, tensors: first.value.globalState };
    expect(() => decodeTensors(update.bytes)).toThrow(/global model of round 1/);
    const decoded = decodeTensors(update.bytes, { expected: moduleTensorSpec('facmic', DIM), base });
    const plain = decodeTensors(exact.bytes).tensors;
    expect(decoded.dtypes).toMatchObject({ '0.weight': 'int8', '1.running_var': 'float32', '1.num_batches_tracked': 'float32' });
    expect(Array.from(decoded.tensors['1.running_var']!.data)).toEqual(Array.from(plain['1.running_var']!.data));
    // Within one step of the 8-bit grid of the delta: max |delta| / 127.
    const want = plain['0.weight']!.data;
    const from = first.value.globalState['0.weight']!.data;
    const step = want.reduce((m, v, i) => Math.max(m, Math.abs(v - from[i]!)), 0) / 127;
    expect(step).toBeGreaterThan(0);
    decoded.tensors['0.weight']!.data.forEach((v, i) => { expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(step * 1.001); });
    for (const used of [first.value, ...others]) used.optimizer.dispose();
  });

  it('stops when its round is aborted', async () => {
    const abort = new AbortController();
    abort.abort(new Error('round over'));
    const { value } = input({ signal: abort.signal });
    await expect(trainRound(value)).rejects.toThrow();
    value.optimizer.dispose();
  });
});
