import { moduleTensorSpec } from '@facmic/learning';
import { encodedTensorsByteLength } from '@facmic/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTfBackend } from '@facmic/coordinator/tf-backend';
import { generateSyntheticData, runSimulation } from './index.ts';
import type { SimulationOptions } from './index.ts';

beforeAll(async () => { await useTfBackend('cpu'); });

const data = generateSyntheticData({ sites: 3, classes: 3, dim: 32, samplesPerSite: 80, seed: 5 });

function options(overrides: Partial<SimulationOptions> = {}): SimulationOptions {
  return { method: 'facmic', rounds: 2, globalSite: 2, seed: 5, localSteps: 4, batchSize: 16, learningRate: 1e-3, ...overrides };
}

describe('round diagnostics', () => {
  it('reports the pseudo-label accuracy over the reference rows LMMD drew, the mean losses and the bytes sent', async () => {
    const result = await runSimulation(data, options());
    const moduleBytes = encodedTensorsByteLength(moduleTensorSpec('facmic', 32));
    const [before, first] = result.rounds;
    expect(before?.diagnostics).toEqual({ pseudoLabelAccuracy: null, meanContrastiveLoss: null, meanLmmdLoss: null, bytesSentPerSite: 0 });
    if (!first) throw new Error('no round 1');
    for (const site of first.sites) {
      expect(site.pseudoLabels?.rows).toBe(4 * 16);
      expect(site.bytesSent).toBe(moduleBytes);
      expect(site.validation?.count).toBeGreaterThan(0);
    }
    const rows = first.sites.reduce((sum, site) => sum + (site.pseudoLabels?.rows ?? 0), 0);
    const correct = first.sites.reduce((sum, site) => sum + (site.pseudoLabels?.correct ?? 0), 0);
    expect(first.diagnostics.pseudoLabelAccuracy).toBe(correct / rows);
    expect(first.diagnostics.meanLmmdLoss).toBeGreaterThan(0);
    expect(first.diagnostics.meanContrastiveLoss).toBeCloseTo((first.sites[0]!.meanContrastiveLoss! + first.sites[1]!.meanContrastiveLoss!) / 2, 10);
    expect(first.diagnostics.bytesSentPerSite).toBe(moduleBytes);
    expect(result.lmmdWeight).toBe(1);
  });

  it('has no pseudo labels or LMMD loss without LMMD, and no bytes sent without federation', async () => {
    const nolmmd = await runSimulation(data, options({ method: 'facmic-nolmmd' }));
    expect(nolmmd.rounds[1]?.diagnostics.pseudoLabelAccuracy).toBeNull();
    expect(nolmmd.rounds[1]?.diagnostics.meanLmmdLoss).toBeNull();
    expect(nolmmd.rounds[1]?.diagnostics.bytesSentPerSite).toBe(encodedTensorsByteLength(moduleTensorSpec('facmic', 32)));
    const local = await runSimulation(data, options({ method: 'local', rounds: 1 }));
    expect(local.rounds[1]?.diagnostics.bytesSentPerSite).toBe(0);
    expect(local.rounds[1]?.diagnostics.pseudoLabelAccuracy).not.toBeNull();
  });

  it('trains the oracle differently from FACMIC, and weights LMMD by λ', async () => {
    const facmic = await runSimulation(data, options({ rounds: 1 }));
    const oracle = await runSimulation(data, options({ rounds: 1, method: 'facmic-oracle' }));
    expect(oracle.rounds[1]?.diagnostics.meanLmmdLoss).not.toBe(facmic.rounds[1]?.diagnostics.meanLmmdLoss);
    const heavy = await runSimulation(data, options({ rounds: 1, lmmdWeight: 4 }));
    expect(heavy.lmmdWeight).toBe(4);
    const site = heavy.rounds[1]!.sites[0]!;
    expect(site.meanLoss).toBeCloseTo(site.meanContrastiveLoss! + 4 * site.meanLmmdLoss!, 5);
    await expect(runSimulation(data, options({ lmmdWeight: -1 }))).rejects.toThrow(/λ/);
  });
});
