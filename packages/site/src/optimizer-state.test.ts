/** Adam's state across a reload: stored after a round, restored before the next one, a fresh Adam when lost. */
import type { AdamL2 } from '@facmic/learning';
import { initialModuleState } from '@facmic/learning/plain';
import { useBackend } from '@facmic/learning/testing';
import { createFederationRequestSchema, type FederationConfig } from '@facmic/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemoryOptimizerStore, restoreOptimizer, saveOptimizer } from './optimizer-state.ts';
import { createOptimizer, trainRound } from './train-round.ts';

beforeAll(async () => { await useBackend('cpu'); });

const DIM = 4;
const settings = createFederationRequestSchema.parse({ name: 'F', classNames: ['a', 'b'], training: { batchSize: 4, stepsPerRound: 2 } });
const federation = {
  id: 'fed', name: 'F', classNames: settings.classNames, promptTemplate: settings.promptTemplate, prompts: settings.classNames, method: 'facmic', rounds: 3,
  training: settings.training, quorum: 1, roundDeadlineSeconds: 60, minRoundSeconds: 0, encoder: { modelId: 'test', hash: 'h', featureDim: DIM },
  module: { kind: 'facmic', featureDim: DIM }, features: { referenceCount: 6, checksum: 'x' }, hasGlobalTest: false, createdAt: 0, privacy: settings.privacy,
} as const satisfies FederationConfig;

const rows = (n: number, offset: number) => Float32Array.from({ length: n * DIM }, (_, i) => Math.sin(i + offset));
const data = { train: { dim: DIM, features: rows(8, 1), labels: Int32Array.from({ length: 8 }, (_, i) => i % 2) }, test: null };
const shared = { text: { dim: DIM, features: rows(2, 2) }, reference: { dim: DIM, features: rows(6, 3) }, checksum: 'x' };

async function round(optimizer: AdamL2, r: number): Promise<Uint8Array> {
  const update = await trainRound({
    round: r, federation, data, features: shared, globalState: initialModuleState('facmic', DIM, 7), optimizer, seed: r, weightsDtype: 'float32',
    signal: new AbortController().signal, onPhase: () => undefined, onEvaluated: () => undefined, onStep: () => undefined,
  });
  return update.bytes;
}

describe("a site's Adam state", () => {
  it('restored after a reload, the next round is bit for bit the round of a site that never reloaded', async () => {
    const store = createMemoryOptimizerStore();
    const kept = createOptimizer(federation.training);
    await round(kept, 1);
    expect(await saveOptimizer(kept, store, 1)).toBeNull();
    const reloaded = createOptimizer(federation.training);
    expect(await restoreOptimizer(reloaded, store, federation, 2)).toMatchObject({ fromRound: 1 });
    expect(reloaded.stepCount).toBe(2);
    expect(await round(reloaded, 2)).toEqual(await round(kept, 2));
    kept.dispose();
    reloaded.dispose();
  });

  it('starts a fresh Adam when the state is lost, unreadable, from a later round or of another module', async () => {
    const fresh = createOptimizer(federation.training);
    expect(await restoreOptimizer(fresh, undefined, federation, 2)).toMatchObject({ fromRound: null });
    expect((await restoreOptimizer(fresh, createMemoryOptimizerStore(), federation, 2)).message).toMatch(/no stored Adam state: a fresh Adam/);
    const broken = { load: () => Promise.reject(new Error('disk gone')), save: () => Promise.resolve() };
    expect((await restoreOptimizer(fresh, broken, federation, 2)).message).toMatch(/could not be read \(disk gone\)/);
    const other = createMemoryOptimizerStore();
    other.saved = { round: 1, state: { step: 2, firstMoments: { '0.weight': { shape: [3, 3], data: new Float32Array(9) } }, secondMoments: { '0.weight': { shape: [3, 3], data: new Float32Array(9) } } } };
    expect((await restoreOptimizer(fresh, other, federation, 2)).message).toMatch(/does not fit/);
    other.saved = { ...other.saved, round: 5 };
    expect((await restoreOptimizer(fresh, other, federation, 2)).message).toMatch(/after round 2/);
    expect(fresh.stepCount).toBe(0);
    const full = { load: () => Promise.resolve(null), save: () => Promise.reject(new Error('quota exceeded')) };
    expect(await saveOptimizer(fresh, full, 2)).toMatch(/could not be stored \(quota exceeded\)/);
    fresh.dispose();
  });
});
