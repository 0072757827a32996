import * as tf from '@tensorflow/tfjs-core';
import { predict, splitFeatureSet } from '@facmic/learning';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTfBackend } from '@facmic/coordinator/tf-backend';
import { SimulationError, generateSyntheticData, runSimulation } from './index.ts';
import type { RoundResult, SimulationData, SimulationOptions } from './index.ts';

beforeAll(async () => { await useTfBackend('cpu'); });

const SMALL = { sites: 3, classes: 3, dim: 32, samplesPerSite: 80, seed: 5 };

function options(overrides: Partial<SimulationOptions> = {}): SimulationOptions {
  return { method: 'facmic', rounds: 2, globalSite: 2, seed: 5, localEpochs: 1, batchSize: 16, learningRate: 5e-5, ...overrides };
}

describe('generateSyntheticData', () => {
  it('is seeded, shaped [n, dim], and imbalanced across sites and classes', () => {
    const data = generateSyntheticData(SMALL);
    expect(generateSyntheticData(SMALL)).toEqual(data);
    expect(data.sites).toHaveLength(3);
    expect(data.textFeatures.features).toHaveLength(3 * 32);
    const sizes = data.sites.map((site) => site.data.labels.length);
    expect(new Set(sizes).size).toBe(3);
    for (const site of data.sites) expect(site.data.features).toHaveLength(site.data.labels.length * 32);
    const counts = [0, 0, 0];
    for (const label of data.sites[0]!.data.labels) counts[label]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeGreaterThan(Math.min(...counts));
  });

  it('makes zero-shot better than chance but far from perfect', async () => {
    const data = generateSyntheticData({ sites: 2, classes: 4, dim: 128, samplesPerSite: 600, seed: 2 });
    for (const site of data.sites) {
      const result = await predict(null, site.data, data.textFeatures);
      const accuracy = [...result.predictions].filter((p, i) => p === site.data.labels[i]).length / site.data.labels.length;
      expect(accuracy).toBeGreaterThan(0.35);
      expect(accuracy).toBeLessThan(0.85);
    }
  });
});

describe('runSimulation', () => {
  const data = generateSyntheticData(SMALL);

  it.each(['facmic', 'facmic-nolmmd', 'facmic-oracle', 'fedclip', 'local'] as const)('runs %s for R rounds plus the initial evaluation, leaking no tensors', async (method) => {
    const before = tf.memory().numTensors;
    const seen: RoundResult[] = [];
    const result = await runSimulation(data, options({ method }), { onRound: (round) => seen.push(round) });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.rounds.map((round) => round.round)).toEqual([0, 1, 2]);
    expect(seen).toEqual(result.rounds);
    expect(result.globalSite).toBe('site-3');
    expect(result.trainingSites.map((site) => site.name)).toEqual(['site-1', 'site-2']);
    for (const round of result.rounds) {
      expect(round.sites).toHaveLength(2);
      for (const value of [round.global.accuracy, round.global.balancedAccuracy, ...round.sites.map((site) => site.accuracy)]) {
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(1);
      }
    }
    const trained = result.rounds[1]!.sites;
    expect(trained.every((site) => site.steps > 0 && site.meanLoss !== null && Number.isFinite(site.meanLoss))).toBe(true);
    expect(result.globalEvaluation).toBe(method === 'local' ? "mean over training sites of each site's own module" : 'the aggregated global module');
  });

  it('zeroshot trains nothing and reports the same numbers every round', async () => {
    const result = await runSimulation(data, options({ method: 'zeroshot', rounds: 3 }));
    expect(result.rounds).toHaveLength(4);
    for (const round of result.rounds) expect(round.global).toEqual(result.rounds[0]!.global);
    expect(result.rounds[2]!.sites.every((site) => site.steps === 0 && site.meanLoss === null)).toBe(true);
  });

  it('improves on the held-out global site with FACMIC', async () => {
    const bigger = generateSyntheticData({ sites: 3, classes: 4, dim: 64, samplesPerSite: 300, seed: 3 });
    const result = await runSimulation(bigger, options({ rounds: 6, learningRate: 1e-3, batchSize: 32 }));
    const first = result.rounds[0]!.global.balancedAccuracy;
    const last = result.rounds[6]!.global.balancedAccuracy;
    expect(last).toBeGreaterThan(first + 0.05);
  });

  it('is deterministic for a seed', async () => {
    const a = await runSimulation(data, options({ rounds: 1 }));
    const b = await runSimulation(data, options({ rounds: 1 }));
    expect(b.rounds.map((round) => [round.global, round.sites.map((site) => site.meanLoss)])).toEqual(a.rounds.map((round) => [round.global, round.sites.map((site) => site.meanLoss)]));
  });

  it('runs exactly N local steps with localSteps alone, 199 by default, and keeps Adam across rounds', async () => {
    const steps = await runSimulation(data, options({ localEpochs: undefined, localSteps: 3, rounds: 2 }));
    expect(steps.rounds.slice(1).flatMap((round) => round.sites.map((site) => site.steps))).toEqual([3, 3, 3, 3]);
    const paper = await runSimulation(data, options({ localEpochs: undefined, rounds: 1, method: 'fedclip' }));
    expect(paper.rounds[1]!.sites.map((site) => site.steps)).toEqual([199, 199]);
  });

  it("uses the global site's whole data as reference stream and test set, or a disjoint split with globalSplit", async () => {
    const whole = await runSimulation(data, options({ rounds: 1 }));
    const globalRows = data.sites[2]!.data.labels.length;
    expect(whole.globalTestSize).toBe(globalRows);
    expect(whole.referenceSize).toBe(globalRows);
    const split = await runSimulation(data, options({ rounds: 1, globalSplit: true }));
    expect(split.referenceSize).toBe(Math.floor(globalRows * 0.8));
    expect(split.globalTestSize).toBe(globalRows - Math.floor(globalRows * 0.8) - Math.floor(globalRows * 0.1));
  });

  it('uses a split given by the data source as is', async () => {
    const base = generateSyntheticData(SMALL);
    const fixed = splitFeatureSet(base.sites[0]!.data, 99, { train: 0.5, validation: 0.25, test: 0.25 });
    const custom: SimulationData = { ...base, sites: [{ ...base.sites[0]!, split: fixed }, ...base.sites.slice(1)] };
    const result = await runSimulation(custom, options({ rounds: 1 }));
    expect(result.trainingSites[0]).toMatchObject({ train: fixed.train.labels.length, test: fixed.test.labels.length });
  });

  it('rejects impossible settings with a SimulationError', async () => {
    await expect(runSimulation(data, options({ globalSite: 3 }))).rejects.toThrow(SimulationError);
    await expect(runSimulation(data, options({ rounds: 0 }))).rejects.toThrow(/rounds/);
    await expect(runSimulation({ ...data, sites: data.sites.slice(0, 1) }, options({ globalSite: 0 }))).rejects.toThrow(/at least 2 sites/);
  });
});
